"""The facts a lab report is written from: the run directory, the dataset it was trained on
(checksums verified again, now), and the sample pictures read with the run's model.

>>> run = load_run("runs/seed")                       # doctest: +SKIP
>>> run.metrics["accuracy"], len(run.history)
(0.9841, 5)
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DigitscanError
from ..reading.results import Reading

__all__ = [
    "ChecksumCheck",
    "DatasetFacts",
    "RunRecord",
    "SampleReading",
    "check_samples",
    "describe_dataset",
    "load_run",
    "read_samples",
]

# What a directory must hold to be reported on; the pictures are drawn by `digitscan train`.
_RUN_FILES = ("config.json", "history.csv", "metrics.json", "model.onnx")
RUN_PICTURES = ("loss.png", "accuracy.png", "confusion_matrix.png", "misclassified.png", "calibration.png")


@dataclass(frozen=True)
class RunRecord:
    """A finished training run as ``digitscan train`` left it."""

    run_dir: Path
    config: dict[str, Any]  # config.json
    history: list[dict[str, float]]  # history.csv, one row per epoch
    metrics: dict[str, Any]  # metrics.json

    @property
    def train(self) -> dict[str, Any]:
        return self.config["train"]

    def picture(self, name: str) -> bytes:
        return (self.run_dir / name).read_bytes()


@dataclass(frozen=True)
class ChecksumCheck:
    file: str
    found: str  # MD5 of the uncompressed bytes, computed now
    published: str  # MD5 the dataset's authors published

    @property
    def ok(self) -> bool:
        return self.found == self.published


@dataclass(frozen=True)
class DatasetFacts:
    """The training data: ``train`` is what the dataset offers, ``used`` how much the run
    took (``--limit``); ``test`` is what the run validated and evaluated on."""

    name: str
    source: str  # where the files were read from
    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    used: int
    checksums: list[ChecksumCheck]


@dataclass(frozen=True)
class SampleReading:
    """One page of a sample picture, what the run's model read on it, and, for the bundled
    examples, the text that was written on it."""

    picture: np.ndarray | None  # the page as loaded (None when it could not be)
    reading: Reading
    expected: str | None = None


def load_run(run_dir: str | os.PathLike[str]) -> RunRecord:
    """Read a run directory, or say in one line why it is not one."""
    folder = Path(run_dir)
    if not folder.is_dir():
        raise DigitscanError(f"{folder}: no such run directory (make one with `digitscan train --out {folder}`)")
    missing = [name for name in _RUN_FILES if not (folder / name).is_file()]
    if missing:
        raise DigitscanError(
            f"{folder}: not a finished training run ({', '.join(missing)} missing); "
            "give the folder `digitscan train --out` wrote"
        )
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
        with open(folder / "history.csv", newline="", encoding="utf-8") as handle:
            history = [
                {key: (int(value) if key == "epoch" else float(value)) for key, value in row.items()}
                for row in csv.DictReader(handle)
            ]
    except (ValueError, KeyError, TypeError) as exc:
        raise DigitscanError(f"{folder}: run files are damaged ({exc})") from None
    if "train" not in config or "confusion_matrix" not in metrics or not history:
        raise DigitscanError(f"{folder}: not a finished training run (config, metrics or history incomplete)")
    missing_pictures = [name for name in RUN_PICTURES if not (folder / name).is_file()]
    if missing_pictures:
        raise DigitscanError(f"{folder}: the run's pictures are missing ({', '.join(missing_pictures)})")
    return RunRecord(folder, config, history, metrics)


def describe_dataset(run: RunRecord, data_dir: str | os.PathLike[str] | None = None) -> DatasetFacts:
    """Load the run's dataset again and verify it; ``data_dir`` overrides the run's own."""
    train = run.train
    limit = int(train.get("limit") or 0)
    if train.get("data", "mnist") != "mnist":
        from ..training.datasets import load_labelled_folder

        folder = str(train["data"])
        images, labels = load_labelled_folder(folder)
        # The same split training._load_data made: a tenth, drawn with the run's seed.
        order = np.random.default_rng(train.get("seed", 0)).permutation(len(labels))
        n_val = max(1, len(labels) // 10)
        held_out, kept = order[:n_val], order[n_val:]
        return DatasetFacts(
            folder, folder, images[kept], labels[kept], images[held_out], labels[held_out], len(kept), []
        )
    from ..training.mnist import MNIST_FILES, file_checksums, load_mnist, resolve_data_dir

    chosen = data_dir if data_dir is not None else train.get("data_dir")
    folder = resolve_data_dir(chosen)
    train_split = load_mnist("train", chosen)
    test_split = load_mnist("test", chosen)
    checks = [
        ChecksumCheck(path.name, digest, MNIST_FILES[name]) for name, (path, digest) in file_checksums(folder).items()
    ]
    used = min(limit, len(train_split)) if limit else len(train_split)
    return DatasetFacts(
        "MNIST", str(folder), train_split.images, train_split.labels, test_split.images, test_split.labels, used, checks
    )


def check_samples(samples: list[str | os.PathLike[str]]) -> list[str]:
    """The sample paths as strings; a path that does not exist is the user's mistake."""
    names = [os.fspath(sample) for sample in samples]
    for name in names:
        if not Path(name).exists():
            raise DigitscanError(f"--samples {name}: no such file or folder")
    return names


def read_samples(
    run_dir: Path, samples: list[str | os.PathLike[str]] | None
) -> tuple[list[SampleReading], bool]:
    """Read each sample picture with the run's own model. With no samples, the examples
    bundled with digitscan are read; the flag says which it was."""
    from ..reading.imageio import load_pages
    from ..reading.reader import Reader, bundled_examples

    bundled = not samples
    names = [str(path) for path in bundled_examples()] if bundled else check_samples(list(samples or []))
    expected = _bundled_texts() if bundled else {}
    pages = list(load_pages(names))
    readings = Reader(run_dir).read_pages(pages)
    return [
        SampleReading(page.image, reading, expected.get(Path(reading.file).name))
        for page, reading in zip(pages, readings, strict=True)
    ], bundled


def _bundled_texts() -> dict[str, str]:
    """File name -> the text written on it, from the examples' labels.csv ("|" ends a line)."""
    from ..reading.reader import bundled_examples

    examples = bundled_examples()
    if not examples:
        return {}
    labels = examples[0].parent / "labels.csv"
    if not labels.is_file():
        return {}
    with open(labels, newline="", encoding="utf-8") as handle:
        return {row["file"]: row["text"].replace("|", "\n") for row in csv.DictReader(handle) if row.get("text")}
