"""Labelled image folders: your own digits for training and evaluation.

Two layouts are understood:

- ``FOLDER/0/*.png ... FOLDER/9/*.png`` — the folder name is the label;
- ``FOLDER/images/*`` with ``FOLDER/labels.csv`` holding ``file,label`` rows (the layout of
  ``shared/data/real-scans``).

Each image is one digit; it is normalised exactly as the reader normalises a digit it finds
on a page, so training, evaluation and reading all see the same kind of 28x28 input.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DigitscanError
from ..reading.imageio import IMAGE_SUFFIXES

__all__ = ["list_labelled_images", "load_labelled_folder", "network_inputs", "plan_labelled_folder"]


def list_labelled_images(folder: str | os.PathLike[str]) -> list[tuple[Path, int]]:
    """(path, label) for every image in ``folder``, in a stable order."""
    root = Path(folder)
    if not root.is_dir():
        raise DigitscanError(f"{root}: not a folder of labelled images")
    labels_csv = root / "labels.csv"
    if labels_csv.is_file():
        return _from_csv(root, labels_csv)
    items: list[tuple[Path, int]] = []
    for digit in range(10):
        sub = root / str(digit)
        if sub.is_dir():
            items += [(p, digit) for p in sorted(sub.rglob("*")) if p.suffix.lower() in IMAGE_SUFFIXES]
    if not items:
        raise DigitscanError(
            f"{root}: no labelled images found; expected {root}/0/*.png ... {root}/9/*.png "
            f"or {root}/images/ with {root}/labels.csv (file,label)"
        )
    return items


def load_labelled_folder(folder: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
    """uint8 digits (N, 28, 28), white ink on black, normalised like MNIST, and labels (N,)."""
    plans, labels = plan_labelled_folder(folder)
    return network_inputs(plans), labels


def network_inputs(plans: list[Any]) -> np.ndarray:
    """uint8 (N, 28, 28): what the network sees of each single-digit plan (its first crop)."""
    return np.stack([np.clip(plan.crops[0] * 255 + 0.5, 0, 255).astype(np.uint8) for plan in plans])


def plan_labelled_folder(folder: str | os.PathLike[str]) -> tuple[list[Any], np.ndarray]:
    """Each image of ``folder`` planned as the reader plans one digit (``reader.plan_page``
    with layout "digit"), and the labels (N,). A picture holding no digit is an error."""
    items = list_labelled_images(folder)
    from ..reading.imageio import load_pages
    from ..reading.reader import plan_page

    plans = []
    for path, _label in items:
        page = next(iter(load_pages([str(path)])))
        plan = plan_page(page, "digit")
        if plan.error is not None:
            raise DigitscanError(f"{path}: {plan.error}")
        plans.append(plan)
    return plans, np.array([label for _, label in items], np.int64)


def _from_csv(root: Path, labels_csv: Path) -> list[tuple[Path, int]]:
    image_dir = root / "images" if (root / "images").is_dir() else root
    items: list[tuple[Path, int]] = []
    with open(labels_csv, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or not {"file", "label"} <= set(reader.fieldnames):
            raise DigitscanError(f"{labels_csv}: expected a header 'file,label'")
        for line_number, row in enumerate(reader, start=2):
            label = (row.get("label") or "").strip()
            if not label.isdigit() or not 0 <= int(label) <= 9:
                raise DigitscanError(f"{labels_csv} line {line_number}: label {label!r} is not a digit 0-9")
            path = image_dir / row["file"]
            if not path.is_file():
                raise DigitscanError(f"{labels_csv} line {line_number}: {path} does not exist")
            items.append((path, int(label)))
    if not items:
        raise DigitscanError(f"{labels_csv}: no rows")
    return items
