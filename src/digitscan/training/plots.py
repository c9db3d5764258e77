"""The pictures of a run: learning curves, confusion matrix, misclassified digits,
calibration. Each is written whole (temp file + rename) as PNG."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..files import atomic_path

if TYPE_CHECKING:
    from .evaluation import Evaluation

__all__ = [
    "plot_loss",
    "plot_accuracy",
    "plot_confusion",
    "plot_misclassified",
    "plot_calibration",
    "plot_samples",
    "write_evaluation_pictures",
    "write_run_pictures",
]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(figure, path: str | os.PathLike[str]) -> None:
    suffix = Path(path).suffix.lstrip(".") or "png"
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format=suffix, dpi=120, bbox_inches="tight")
    _pyplot().close(figure)


def _curve(history: list[dict[str, float]], key: str, label: str, path) -> None:
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(6, 4))
    epochs = [row["epoch"] for row in history]
    axis.plot(epochs, [row[key] for row in history], "o-", label=f"training {label}")
    axis.plot(epochs, [row[f"val_{key}"] for row in history], "s-", label=f"validation {label}")
    axis.set_xlabel("epoch")
    # Epochs are whole numbers: one tick per epoch (or fewer, still whole) and half an
    # epoch of room either side, so a one-epoch run shows its two points at epoch 1.
    from matplotlib.ticker import MaxNLocator

    if 0 < len(epochs) <= 15:
        axis.set_xticks(epochs)
    else:
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    axis.set_xlim(min(epochs, default=1) - 0.5, max(epochs, default=1) + 0.5)
    axis.set_ylabel(label)
    axis.set_title(f"Training and validation {label} per epoch")
    axis.grid(alpha=0.3)
    axis.legend()
    _save(figure, path)


def plot_loss(history: list[dict[str, float]], path) -> None:
    _curve(history, "loss", "loss", path)


def plot_accuracy(history: list[dict[str, float]], path) -> None:
    _curve(history, "accuracy", "accuracy", path)


def plot_confusion(matrix: np.ndarray, path, title: str = "Confusion matrix") -> None:
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(6.5, 5.5))
    # Log colour scale: the diagonal holds ~1000 per digit, the errors a handful.
    shown = np.log10(matrix + 1)
    image = axis.imshow(shown, cmap="Blues")
    for (row, col), count in np.ndenumerate(matrix):
        if count:
            colour = "white" if shown[row, col] > shown.max() * 0.6 else "black"
            axis.text(col, row, str(count), ha="center", va="center", fontsize=7, color=colour)
    axis.set_xticks(range(10))
    axis.set_yticks(range(10))
    axis.set_xlabel("predicted digit")
    axis.set_ylabel("true digit")
    axis.set_title(title)
    figure.colorbar(image, ax=axis, label="log10(count + 1)")
    _save(figure, path)


def plot_misclassified(images: np.ndarray, evaluation: Evaluation, path, limit: int = 40) -> None:
    plt = _pyplot()
    wrong = evaluation.misclassified[:limit]
    columns = 10
    rows = max(1, int(np.ceil(len(wrong) / columns)))
    figure, axes = plt.subplots(rows, columns, figsize=(columns * 1.1, rows * 1.35), squeeze=False)
    for axis in axes.flat:
        axis.axis("off")
    for axis, index in zip(axes.flat, wrong, strict=False):
        axis.imshow(images[index], cmap="gray")
        axis.set_title(
            f"true {evaluation.labels[index]} → {evaluation.predictions[index]}\n{evaluation.confidence[index]:.0%}",
            fontsize=7,
        )
    figure.suptitle(f"Misclassified digits ({len(evaluation.misclassified)} in all, most confident first)")
    _save(figure, path)


def plot_calibration(evaluation: Evaluation, path) -> None:
    from .metrics import reliability_bins

    plt = _pyplot()
    bins = [b for b in reliability_bins(evaluation.confidence, evaluation.correct) if b["count"]]
    figure, axis = plt.subplots(figsize=(5, 5))
    axis.plot([0, 1], [0, 1], "--", color="grey", label="perfectly calibrated")
    axis.plot([b["confidence"] for b in bins], [b["accuracy"] for b in bins], "o-", label="model")
    axis.set_xlabel("confidence")
    axis.set_ylabel("accuracy")
    axis.set_title(f"Calibration (ECE {evaluation.ece:.4f})")
    axis.legend()
    axis.grid(alpha=0.3)
    _save(figure, path)


def plot_samples(images: np.ndarray, labels: np.ndarray, path, per_class: int = 10) -> None:
    """A grid with ``per_class`` examples of each digit, one row per digit."""
    plt = _pyplot()
    figure, axes = plt.subplots(10, per_class, figsize=(per_class * 0.7, 7.2), squeeze=False)
    for digit in range(10):
        indices = np.flatnonzero(labels == digit)[:per_class]
        for column in range(per_class):
            axis = axes[digit, column]
            axis.axis("off")
            if column < len(indices):
                axis.imshow(images[indices[column]], cmap="gray")
    figure.suptitle("Sample digits, one row per class")
    _save(figure, path)


def write_evaluation_pictures(folder: Path, evaluation: Evaluation) -> None:
    """confusion_matrix.png, misclassified.png and calibration.png in ``folder``."""
    plot_confusion(evaluation.confusion, folder / "confusion_matrix.png")
    plot_misclassified(evaluation.images, evaluation, folder / "misclassified.png")
    plot_calibration(evaluation, folder / "calibration.png")


def write_run_pictures(run_dir: Path, history, evaluation: Evaluation) -> None:
    plot_loss(history, run_dir / "loss.png")
    plot_accuracy(history, run_dir / "accuracy.png")
    write_evaluation_pictures(run_dir, evaluation)
