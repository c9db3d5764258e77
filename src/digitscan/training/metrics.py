"""Scores for a set of predictions, in numpy: accuracy, the classification report as
scikit-learn prints it, the confusion matrix and calibration (expected calibration error)."""

from __future__ import annotations

import numpy as np

__all__ = [
    "confusion_matrix",
    "classification_report",
    "format_classification_report",
    "expected_calibration_error",
    "reliability_bins",
]


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, n_classes: int = 10) -> np.ndarray:
    """Counts, rows = true digit, columns = predicted digit."""
    matrix = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(matrix, (labels.astype(int), predictions.astype(int)), 1)
    return matrix


def classification_report(matrix: np.ndarray) -> dict[str, dict[str, float]]:
    """Precision, recall, F1 and support per class, plus macro and weighted averages."""
    true_positive = np.diag(matrix).astype(float)
    predicted = matrix.sum(axis=0).astype(float)
    support = matrix.sum(axis=1).astype(float)
    precision = np.divide(true_positive, predicted, out=np.zeros_like(true_positive), where=predicted > 0)
    recall = np.divide(true_positive, support, out=np.zeros_like(true_positive), where=support > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(denom), where=denom > 0)
    report: dict[str, dict[str, float]] = {}
    for digit in range(len(matrix)):
        report[str(digit)] = {
            "precision": float(precision[digit]),
            "recall": float(recall[digit]),
            "f1-score": float(f1[digit]),
            "support": int(support[digit]),
        }
    total = support.sum()
    report["accuracy"] = {"value": float(true_positive.sum() / total) if total else 0.0, "support": int(total)}
    present = support > 0
    report["macro avg"] = {
        "precision": float(precision[present].mean()) if present.any() else 0.0,
        "recall": float(recall[present].mean()) if present.any() else 0.0,
        "f1-score": float(f1[present].mean()) if present.any() else 0.0,
        "support": int(total),
    }
    weights = support / total if total else support
    report["weighted avg"] = {
        "precision": float((precision * weights).sum()),
        "recall": float((recall * weights).sum()),
        "f1-score": float((f1 * weights).sum()),
        "support": int(total),
    }
    return report


def format_classification_report(report: dict[str, dict[str, float]], digits: int = 4) -> str:
    """The report as text, laid out like scikit-learn's ``classification_report``."""
    width = 12
    header = f"{'':>{width}}{'precision':>10}{'recall':>10}{'f1-score':>10}{'support':>10}"
    lines = [header, ""]
    for name, row in report.items():
        if name in ("accuracy", "macro avg", "weighted avg"):
            continue
        lines.append(
            f"{name:>{width}}{row['precision']:>10.{digits}f}{row['recall']:>10.{digits}f}"
            f"{row['f1-score']:>10.{digits}f}{row['support']:>10}"
        )
    lines.append("")
    accuracy = report["accuracy"]
    lines.append(f"{'accuracy':>{width}}{'':>10}{'':>10}{accuracy['value']:>10.{digits}f}{accuracy['support']:>10}")
    for name in ("macro avg", "weighted avg"):
        row = report[name]
        lines.append(
            f"{name:>{width}}{row['precision']:>10.{digits}f}{row['recall']:>10.{digits}f}"
            f"{row['f1-score']:>10.{digits}f}{row['support']:>10}"
        )
    return "\n".join(lines)


def reliability_bins(confidence: np.ndarray, correct: np.ndarray, n_bins: int = 15) -> list[dict[str, float]]:
    """Per confidence bin: its range, how many fell in it, mean confidence and accuracy."""
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    bins = []
    for low, high in zip(edges[:-1], edges[1:], strict=True):
        inside = (confidence > low) & (confidence <= high)
        count = int(inside.sum())
        bins.append(
            {
                "low": float(low),
                "high": float(high),
                "count": count,
                "confidence": float(confidence[inside].mean()) if count else 0.0,
                "accuracy": float(correct[inside].mean()) if count else 0.0,
            }
        )
    return bins


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, n_bins: int = 15) -> float:
    """Mean |accuracy - confidence| over equal-width confidence bins, weighted by bin size."""
    total = len(confidence)
    if total == 0:
        return 0.0
    return float(
        sum(
            b["count"] / total * abs(b["accuracy"] - b["confidence"])
            for b in reliability_bins(confidence, correct, n_bins)
        )
    )
