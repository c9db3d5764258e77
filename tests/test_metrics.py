"""The evaluation arithmetic, checked against hand-worked examples."""

from __future__ import annotations

import numpy as np
import pytest

from digitscan.training.metrics import (
    classification_report,
    confusion_matrix,
    expected_calibration_error,
    format_classification_report,
)


def test_confusion_and_report_by_hand() -> None:
    labels = np.array([0, 0, 0, 1, 1, 2])
    predicted = np.array([0, 0, 1, 1, 2, 2])
    matrix = confusion_matrix(labels, predicted, n_classes=3)
    assert matrix.tolist() == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    report = classification_report(matrix)
    assert report["0"] == {
        "precision": 1.0,
        "recall": pytest.approx(2 / 3),
        "f1-score": pytest.approx(0.8),
        "support": 3,
    }
    assert report["1"]["precision"] == pytest.approx(0.5) and report["1"]["recall"] == pytest.approx(0.5)
    assert report["accuracy"]["value"] == pytest.approx(4 / 6)
    assert report["macro avg"]["recall"] == pytest.approx((2 / 3 + 0.5 + 1) / 3)
    assert report["weighted avg"]["recall"] == pytest.approx(4 / 6)
    text = format_classification_report(report)
    assert "precision" in text and "weighted avg" in text and "0.6667" in text


def test_expected_calibration_error() -> None:
    confidence = np.array([0.9, 0.9, 0.9, 0.9, 0.6, 0.6])
    correct = np.array([True, True, True, False, True, False])
    # Bin around 0.9: accuracy 0.75 vs confidence 0.9 (4 of 6); bin around 0.6: 0.5 vs 0.6 (2 of 6).
    assert expected_calibration_error(confidence, correct) == pytest.approx(4 / 6 * 0.15 + 2 / 6 * 0.1)
