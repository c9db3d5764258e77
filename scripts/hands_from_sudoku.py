"""Cut the single digits out of the sudoku photos' cells into a labelled folder, for
``digitscan train --model lines --hands FOLDER`` (other hands and other cameras than MNIST's).

    python scripts/hands_from_sudoku.py ../shared/data/sudoku-photos/train sudoku-hands

Only the *train* split should go in: ``benchmarks/sudoku_photos.py`` measures on ``val/``.
Each photo is flattened with its labelled corners (not the reader's own grid finding), each
cell labelled 1-9 is cut to the ink in its middle, and written as dark ink on white paper:
``OUT/images/NAME_ROW_COLUMN.png`` and ``OUT/labels.csv`` (file,label). Printed clues and
handwritten answers both go in: the labels do not say which, and both occur on real paper.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from digitscan.reading.grid import flatten_grid, grid_ink  # noqa: E402

_SIDE = 630  # flattened grid: cells of about 70 pixels
_MARGIN = 0.12  # of a cell, left out at each edge (the grid's walls)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("split", type=Path, help="a split of the sudoku photos (images/, labels/, corners.csv)")
    parser.add_argument("out", type=Path, help="folder to write (must not exist)")
    args = parser.parse_args()
    if args.out.exists():
        sys.exit(f"{args.out} exists: choose a new folder")
    (args.out / "images").mkdir(parents=True)
    rows_written = []
    with (args.split / "corners.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            grey = cv2.imread(str(args.split / "images" / row["file"]), cv2.IMREAD_GRAYSCALE)
            corners = np.array([[float(row[f"x_{c}"]), float(row[f"y_{c}"])] for c in ("tl", "tr", "br", "bl")])
            labels = np.loadtxt(args.split / "labels" / (Path(row["file"]).stem + ".txt"), dtype=int)
            flat, _ = flatten_grid(grey, corners, side=_SIDE)
            ink = grid_ink(flat)
            cell_h, cell_w = ink.shape[0] / 9, ink.shape[1] / 9
            for r in range(9):
                for c in range(9):
                    label = int(labels[r, c])
                    if not 1 <= label <= 9:
                        continue
                    crop = _digit(ink, r, c, cell_h, cell_w)
                    if crop is None:
                        continue
                    name = f"{Path(row['file']).stem}_{r}{c}.png"
                    cv2.imwrite(str(args.out / "images" / name), 255 - crop)
                    rows_written.append((name, label))
    with (args.out / "labels.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "label"])
        writer.writerows(rows_written)
    print(f"{len(rows_written)} digits written to {args.out}")


def _digit(ink: np.ndarray, r: int, c: int, cell_h: float, cell_w: float) -> np.ndarray | None:
    """The ink of the digit in cell (r, c), padded a little; None when nothing digit-sized."""
    y0, y1 = int((r + _MARGIN) * cell_h), int((r + 1 - _MARGIN) * cell_h)
    x0, x1 = int((c + _MARGIN) * cell_w), int((c + 1 - _MARGIN) * cell_w)
    inner = ink[y0:y1, x0:x1]
    mask = (inner > 90).astype(np.uint8)
    count, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    inner_h, inner_w = inner.shape
    boxes = []
    for x, y, w, h in (stats[i, :4] for i in range(1, count)):
        touches = x == 0 or y == 0 or x + w == inner_w or y + h == inner_h
        if h < 0.25 * cell_h or (touches and min(w, h) <= 0.12 * min(cell_w, cell_h)):
            continue  # a speck, or a piece of the grid's wall let in by the margin
        boxes.append((x, y, w, h))
    if not boxes:
        return None
    left = min(b[0] for b in boxes)
    top = min(b[1] for b in boxes)
    right = max(b[0] + b[2] for b in boxes)
    bottom = max(b[1] + b[3] for b in boxes)
    crop = inner[top:bottom, left:right]
    return np.pad(crop, 4)


if __name__ == "__main__":
    main()
