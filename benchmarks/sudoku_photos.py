"""How well `digitscan read --layout grid` reads real phone photos of sudokus (issue 13).

    python benchmarks/sudoku_photos.py [--split val] [--data-dir ../shared/data] [--limit N]

Reads every photo of ``sudoku-photos/SPLIT`` (each read whole through ``Reader.read``:
decoding the JPEG, finding the grid, reading the cells) and prints:

- grids found: photos whose grid came back with 9 x 9 cells;
- cells right: a cell is right when it holds exactly its digit (one digit, not notes), or
  nothing when blank; a cell of candidate notes (label 10) is right when it is read as
  notes (``Cell.notes``, any digits: the labels do not say which). A photo whose grid was
  not found has all 81 cells wrong;
- filled cells right: the same over cells labelled 1-9 only;
- notes cells right: cells labelled 10 read as notes;
- phantom digits per 1,000 blank cells: blank cells that came back with any digit;
- seconds per photo: the median wall time of ``Reader.read(path)``, after a warm-up.

``--as-page`` reads the same photos with the page reader instead (``--layout page``: the
sheet found on the desk, its lines read by the line recogniser), the only real photos of
paper on desks here for that path. Scored on the digits alone: the filled cells' digits
row by row (the grid turned as the photo may be) against every digit read, in order;
digits right (the longest common matches, as ``read_accuracy.py`` counts) and extra digits
(read but not matched: notes, printed words, the facing page, phantoms).

Targets (issue 13, on val/, 12-MP photos): >= 98% of cells right, every grid found, at most
1 phantom digit per 1,000 blank cells, <= 0.6 s a photo on 2 cores.
"""

from __future__ import annotations

import argparse
import difflib
import statistics
import time
from pathlib import Path

import numpy as np

from digitscan.reading.reader import Reader

REPO = Path(__file__).resolve().parents[1]


def cell_right(truth: int, text: str, notes: bool) -> bool:
    """The benchmark's rule: the exact digit, nothing for a blank, notes for a notes cell."""
    if truth == 0:
        return text == ""
    if truth == 10:
        return notes and text != ""
    return not notes and text == str(truth)


def page_digits(labels: np.ndarray, text: str) -> tuple[int, int, int]:
    """(digits right, digits in the grid, digits read) for a photo read as a page: the
    best of the grid's eight turns and flips, as the photo may be taken sideways."""
    read = "".join(ch for ch in text if ch.isdigit())
    best = (0, int(((labels >= 1) & (labels <= 9)).sum()))
    for turns in range(4):
        for grid in (np.rot90(labels, turns), np.rot90(labels, turns).T):
            truth = "".join(str(v) for v in grid.ravel() if 1 <= v <= 9)
            matcher = difflib.SequenceMatcher(None, truth, read, autojunk=False)
            right = sum(block.size for block in matcher.get_matching_blocks())
            best = max(best, (right, len(truth)))
    return best[0], best[1], len(read)


def main_as_page(folder: Path, photos: list[Path]) -> None:
    reader = Reader()
    reader.read(photos[0], layout="page")  # warm-up
    right = total = read = 0
    for photo in photos:
        labels = np.loadtxt(folder / "labels" / f"{photo.stem}.txt", dtype=int)
        counts = page_digits(labels, reader.read(photo, layout="page")[0].text)
        right, total, read = right + counts[0], total + counts[1], read + counts[2]
    print(f"{folder.parent.name}/{folder.name} read as pages: {len(photos)} photos")
    print(f"digits right:             {100 * right / max(total, 1):.2f}%  ({right}/{total})")
    print(f"extra digits:             {read - right}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--split", default="val", choices=["train", "val"])
    parser.add_argument("--limit", type=int, default=0, help="read only the first N photos")
    parser.add_argument("--verbose", action="store_true", help="print every photo's wrong cells")
    parser.add_argument("--as-page", action="store_true", help="read with --layout page, score the digits")
    args = parser.parse_args()

    folder = args.data_dir / "sudoku-photos" / args.split
    photos = sorted((folder / "images").glob("*.jpg"))
    if args.limit:
        photos = photos[: args.limit]
    if not photos:
        raise SystemExit(f"no photos in {folder / 'images'}")
    if args.as_page:
        main_as_page(folder, photos)
        return
    reader = Reader()
    reader.read(photos[0], layout="grid")  # warm-up: the model's first run is slower

    found = right = filled = filled_right = notes = notes_right = blanks = phantoms = 0
    seconds: list[float] = []
    for photo in photos:
        labels = np.loadtxt(folder / "labels" / f"{photo.stem}.txt", dtype=int)
        start = time.perf_counter()
        reading = reader.read(photo, layout="grid")[0]
        seconds.append(time.perf_counter() - start)
        cells = reading.cells or []
        whole = len(cells) == 9 and all(len(row) == 9 for row in cells)
        found += whole
        wrong = []
        for (row, column), truth in np.ndenumerate(labels):
            cell = cells[row][column] if whole else None
            text, is_notes = (cell.text, cell.notes) if cell else ("?", False)
            ok = cell is not None and cell_right(int(truth), text, is_notes)
            right += ok
            if truth == 0:
                blanks += 1
                phantoms += cell is not None and text != ""
            elif truth == 10:
                notes += 1
                notes_right += ok
            else:
                filled += 1
                filled_right += ok
            if not ok:
                wrong.append(f"({row},{column}) {truth}->{text or '.'}{'n' if is_notes else ''}")
        if args.verbose and wrong:
            shown = "grid not found" if not whole else " ".join(wrong)
            print(f"{photo.name}: {shown}")

    cells_total = 81 * len(photos)
    print(f"sudoku-photos/{args.split}: {len(photos)} photos")
    print(f"grids found:              {found}/{len(photos)}")
    print(f"cells right:              {100 * right / cells_total:.2f}%  ({right}/{cells_total})")
    print(f"filled cells right:       {100 * filled_right / max(filled, 1):.2f}%  ({filled_right}/{filled})")
    print(f"notes cells right:        {100 * notes_right / max(notes, 1):.2f}%  ({notes_right}/{notes})")
    print(f"phantom digits per 1,000 blank cells: {1000 * phantoms / max(blanks, 1):.2f}  "
          f"({phantoms} in {blanks})")
    print(f"seconds per photo:        {statistics.median(seconds):.3f} median, "
          f"{max(seconds):.3f} slowest")


if __name__ == "__main__":
    main()
