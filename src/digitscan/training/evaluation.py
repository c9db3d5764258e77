"""Evaluation: how a model does on MNIST's test set or on a folder of labelled images.

Runs on ONNX Runtime (no PyTorch): the same model file that reads scans is the one scored.

    >>> result = evaluate()                              # the shipped model on MNIST test  # doctest: +SKIP
    >>> round(result.accuracy, 4)                                                           # doctest: +SKIP
    0.996
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DigitscanError
from ..reading.classifier import Classifier
from .metrics import (
    classification_report,
    confusion_matrix,
    expected_calibration_error,
    format_classification_report,
    reliability_bins,
)

__all__ = ["Evaluation", "evaluate", "evaluate_arrays"]


@dataclass
class Evaluation:
    """Scores of one model on one labelled set of 28x28 digits."""

    model: str
    data: str
    labels: np.ndarray
    probabilities: np.ndarray
    seconds: float
    images: np.ndarray = field(repr=False)  # the 28x28 digits scored, for the pictures
    report: dict[str, dict[str, float]] = field(init=False)
    confusion: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.confusion = confusion_matrix(self.labels, self.predictions)
        self.report = classification_report(self.confusion)

    @property
    def predictions(self) -> np.ndarray:
        return self.probabilities.argmax(axis=1)

    @property
    def confidence(self) -> np.ndarray:
        return self.probabilities.max(axis=1)

    @property
    def correct(self) -> np.ndarray:
        return self.predictions == self.labels

    @property
    def accuracy(self) -> float:
        return float(self.correct.mean()) if len(self.labels) else 0.0

    @property
    def ece(self) -> float:
        return expected_calibration_error(self.confidence, self.correct)

    @property
    def misclassified(self) -> np.ndarray:
        """Indices of the wrongly read digits, most confidently wrong first."""
        wrong = np.flatnonzero(~self.correct)
        return wrong[np.argsort(-self.confidence[wrong], kind="stable")]

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "data": self.data,
            "count": int(len(self.labels)),
            "accuracy": self.accuracy,
            "errors": int((~self.correct).sum()),
            "expected_calibration_error": self.ece,
            "mean_confidence": float(self.confidence.mean()) if len(self.labels) else 0.0,
            "classification_report": self.report,
            "confusion_matrix": self.confusion.tolist(),
            "reliability": reliability_bins(self.confidence, self.correct),
            "misclassified": [
                {
                    "index": int(i),
                    "label": int(self.labels[i]),
                    "predicted": int(self.predictions[i]),
                    "confidence": float(self.confidence[i]),
                }
                for i in self.misclassified[:100]
            ],
            "seconds": round(self.seconds, 3),
        }

    def to_text(self) -> str:
        matrix = "\n".join(
            f"{digit:>5} |" + "".join(f"{count:>6}" for count in row) for digit, row in enumerate(self.confusion)
        )
        header = "      |" + "".join(f"{digit:>6}" for digit in range(10))
        return (
            f"model: {self.model}\n"
            f"data:  {self.data} ({len(self.labels)} digits)\n\n"
            f"accuracy: {self.accuracy:.4f}  ({int((~self.correct).sum())} wrong)\n"
            f"expected calibration error: {self.ece:.4f}\n\n"
            f"classification report\n{format_classification_report(self.report)}\n\n"
            f"confusion matrix (rows: true digit, columns: predicted)\n{header}\n{matrix}\n"
        )


def evaluate_arrays(
    model: str | os.PathLike[str] | Classifier | None, images: np.ndarray, labels: np.ndarray, data_name: str = "arrays"
) -> Evaluation:
    """Score ``model`` on uint8 or [0, 1] float digits (N, 28, 28), white ink on black."""
    classifier = model if isinstance(model, Classifier) else Classifier(model)
    pixels = images.astype(np.float32)
    if images.dtype == np.uint8:
        pixels /= 255.0
    start = time.perf_counter()
    probabilities = classifier.predict_proba(pixels)
    seconds = time.perf_counter() - start
    return Evaluation(
        str(classifier.path), data_name, np.asarray(labels).astype(np.int64), probabilities, seconds, images
    )


def evaluate(
    model: str | os.PathLike[str] | None = None,
    data: str = "mnist-test",
    data_dir: str | os.PathLike[str] | None = None,
) -> Evaluation:
    """Score ``model`` (None: the shipped one; an .onnx file; a run directory) on ``data``:
    ``"mnist-test"`` or a folder of labelled images (``FOLDER/0/*.png``... or
    ``images/`` + ``labels.csv``), each image read as one digit."""
    classifier = Classifier(model)
    if data in ("mnist-test", "mnist"):
        from .mnist import load_mnist

        split = load_mnist("test", data_dir)
        return evaluate_arrays(classifier, split.images, split.labels, "mnist-test")
    folder = Path(data)
    if not folder.exists():
        raise DigitscanError(f"{folder}: no such folder (expected mnist-test or a folder of labelled images)")
    # Each image is classified exactly as `digitscan read --layout digit` would read it,
    # views of a stretched digit included.
    from ..reading.reader import classify_plans
    from .datasets import network_inputs, plan_labelled_folder

    plans, labels = plan_labelled_folder(folder)
    start = time.perf_counter()
    probabilities = classify_plans(classifier, plans)
    seconds = time.perf_counter() - start
    first = np.cumsum([0] + [len(plan.crops) for plan in plans[:-1]])
    return Evaluation(str(classifier.path), str(folder), labels, probabilities[first], seconds,
                      network_inputs(plans))
