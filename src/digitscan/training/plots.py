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
    "curve_figure",
    "epoch_ticks",
    "plot_loss",
    "plot_accuracy",
    "plot_confusion",
    "plot_misclassified",
    "plot_calibration",
    "calibration_figure",
    "misclassified_figure",
    "plot_samples",
    "SPARSE_BIN",
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


def curve_figure(history: list[dict[str, float]], key: str, label: str):
    """The matplotlib Figure of ``key`` (and ``val_<key>``) per epoch, not yet saved; its
    one Axes shows whole epochs only, so tests can read the ticks back."""
    from matplotlib.ticker import MaxNLocator

    plt = _pyplot()
    # Small enough that two sit side by side on a printed page with legible text.
    figure, axis = plt.subplots(figsize=(5, 3.4))
    epochs = [row["epoch"] for row in history]
    axis.plot(epochs, [row[key] for row in history], "o-", label=f"training {label}")
    axis.plot(epochs, [row[f"val_{key}"] for row in history], "s-", label=f"validation {label}")
    axis.set_xlabel("epoch")
    # Epochs are whole numbers: one tick per epoch (or fewer, still whole) and half an
    # epoch of room either side, so a one-epoch run shows its two points at epoch 1.
    if 0 < len(epochs) <= 15:
        axis.set_xticks(epochs)
    else:
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    axis.set_xlim(min(epochs, default=1) - 0.5, max(epochs, default=1) + 0.5)
    axis.set_ylabel(label)
    axis.set_title(f"{label.capitalize()} per epoch")
    axis.grid(alpha=0.3)
    axis.legend()
    return figure


def epoch_ticks(figure) -> list[float]:
    """The x tick values a curve_figure shows inside its visible range."""
    axis = figure.axes[0]
    low, high = axis.get_xlim()
    return [float(tick) for tick in axis.get_xticks() if low <= tick <= high]


def _curve(history: list[dict[str, float]], key: str, label: str, path) -> None:
    _save(curve_figure(history, key, label), path)


def plot_loss(history: list[dict[str, float]], path) -> None:
    _curve(history, "loss", "loss", path)


def plot_accuracy(history: list[dict[str, float]], path) -> None:
    _curve(history, "accuracy", "accuracy", path)


def plot_confusion(matrix: np.ndarray, path, title: str = "Confusion matrix") -> None:
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(5.6, 4.6))
    # Log colour scale: the diagonal holds ~1000 per digit, the errors a handful.
    shown = np.log10(matrix + 1)
    image = axis.imshow(shown, cmap="Blues")
    for (row, col), count in np.ndenumerate(matrix):
        if count:
            colour = "white" if shown[row, col] > shown.max() * 0.6 else "black"
            axis.text(col, row, str(count), ha="center", va="center", fontsize=8, color=colour)
    axis.set_xticks(range(10))
    axis.set_yticks(range(10))
    axis.set_xlabel("predicted digit")
    axis.set_ylabel("true digit")
    axis.set_title(title)
    figure.colorbar(image, ax=axis, label="log10(count + 1)")
    _save(figure, path)


# Label size of the misclassified digits: the picture is printed about 18 cm wide, where
# 11 pt comes out near 9 pt, as legible as the caption under it.
_DIGIT_LABEL_PT = 11


def plot_misclassified(images: np.ndarray, evaluation: Evaluation, path, limit: int = 20) -> None:
    _save(misclassified_figure(images, evaluation, limit), path)


def misclassified_figure(images: np.ndarray, evaluation: Evaluation, limit: int = 20):
    """The ``limit`` most confident mistakes as a matplotlib Figure, not yet saved."""
    plt = _pyplot()
    wrong = evaluation.misclassified[:limit]
    columns = 10
    rows = max(1, int(np.ceil(len(wrong) / columns)))
    figure, axes = plt.subplots(rows, columns, figsize=(columns * 0.85, rows * 1.2 + 0.4), squeeze=False)
    for axis in axes.flat:
        axis.axis("off")
    for axis, index in zip(axes.flat, wrong, strict=False):
        axis.imshow(images[index], cmap="gray")
        # Two short lines ("4 → 9", "87%") rather than one long one: the caption says
        # which is the true digit, and the text can then be large.
        axis.set_title(
            f"{evaluation.labels[index]} → {evaluation.predictions[index]}\n{evaluation.confidence[index]:.0%}",
            fontsize=_DIGIT_LABEL_PT, linespacing=1.1,
        )
    shown = f"the {len(wrong)} most confident" if len(wrong) < len(evaluation.misclassified) else "all"
    figure.suptitle(
        f"Misclassified digits: {shown} of {len(evaluation.misclassified)}, true digit → answer, confidence",
        fontsize=12,
    )
    figure.tight_layout()
    return figure


# A bin with fewer pictures than this says little about accuracy (one mistake among ten is
# 10%): it is drawn hollow and left off the line.
SPARSE_BIN = 20


def plot_calibration(evaluation: Evaluation, path) -> None:
    _save(calibration_figure(evaluation), path)


def calibration_figure(evaluation: Evaluation):
    """Accuracy against confidence per confidence bin (above) and how many pictures fell in
    each bin (below), as a matplotlib Figure, not yet saved."""
    from .metrics import reliability_bins

    plt = _pyplot()
    bins = [b for b in reliability_bins(evaluation.confidence, evaluation.correct) if b["count"]]
    full = [b for b in bins if b["count"] >= SPARSE_BIN]
    sparse = [b for b in bins if b["count"] < SPARSE_BIN]
    figure, (axis, counts) = plt.subplots(
        2, 1, figsize=(5, 5.4), sharex=True, gridspec_kw={"height_ratios": [3, 1.3]}
    )
    axis.plot([0, 1], [0, 1], "--", color="grey", label="perfectly calibrated")
    axis.plot([b["confidence"] for b in full], [b["accuracy"] for b in full], "o-", color="C0",
              label=f"model (bins of {SPARSE_BIN}+ pictures)")
    if sparse:
        axis.plot([b["confidence"] for b in sparse], [b["accuracy"] for b in sparse], "o", color="C0",
                  markerfacecolor="none", label=f"fewer than {SPARSE_BIN} pictures (unreliable)")
    axis.set_ylabel("accuracy")
    axis.set_ylim(-0.02, 1.02)
    axis.set_title(f"Calibration (ECE {evaluation.ece:.4f})")
    axis.legend(loc="upper left", fontsize=9)
    axis.grid(alpha=0.3)
    # The counts, on a log scale: a good model puts nearly all pictures in the top bin.
    edges = reliability_bins(evaluation.confidence, evaluation.correct)
    width = edges[0]["high"] - edges[0]["low"]
    for b in bins:
        faint = b["count"] < SPARSE_BIN
        counts.bar(b["low"], b["count"], width=width * 0.9, align="edge", color="C0",
                   alpha=0.35 if faint else 0.8)
        counts.text(b["low"] + width / 2, b["count"], f"{b['count']:,}", ha="center", va="bottom", fontsize=8)
    counts.set_yscale("log")
    counts.set_ylim(0.8, max((b["count"] for b in bins), default=1) * 8)
    counts.set_xlim(0, 1)
    counts.set_xlabel("confidence")
    counts.set_ylabel("pictures")
    counts.grid(alpha=0.3, axis="y")
    figure.tight_layout()
    return figure


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
