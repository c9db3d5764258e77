"""RapidOCR's text detector against digitscan's own line finding (issue 13's open question).

    python benchmarks/text_detector.py [--pages 20] [--conditions desk,clean,hard] [--blank 20]
        [--threads 1] [--data-dir ../shared/data]

Needs ``rapidocr-onnxruntime`` (Apache-2.0), which digitscan does not depend on: install it in a
separate virtual environment (``pip install rapidocr-onnxruntime``, then ``pip install -e .``
for digitscan) and run this script with that environment's python. The package requires
``opencv-python`` (not headless), which overwrites digitscan's ``opencv-python-headless`` in the
same ``cv2`` folder: uninstall ``opencv-python`` and reinstall ``opencv-python-headless`` after.

How a page is read, each measured end to end:

* ``digitscan``: ``Reader().read_array(image, layout="page")``, the page's own line finding;
* ``det-crop``: the PP-OCRv4 DB text detector shipped in ``rapidocr_onnxruntime`` (its default
  settings, detection only: no angle classifier, no recogniser) finds the boxes of writing;
  each box is cut out straightened, as RapidOCR cuts boxes for its recogniser (a perspective
  warp of the quadrilateral, never turned a quarter), and read with
  ``Reader().read_array(crop, layout="line")``; boxes in reading order (rows top to bottom by
  vertical overlap, left to right within a row);
* ``det-pad``: the same boxes cut with the margins digitscan gives its own line bands (a sixth
  of the box's height above and below, 0.3 of it either side, taken from the picture);
* ``det-pad-1``: ``det-pad`` with each box taken as one number (spaces read inside a box
  dropped), as the detector boxes each number apart when numbers are spaced as words.

The detector's three readings share one detection; each one's time counts it.

Pages: simulated scans (MNIST *test* digits) per condition, seeds 1000 onwards like
``read_accuracy.py``, scored with its ``score``: digits matched in order, numbers exact (the n-th
number read against the n-th true number), CER; the two photographed pages in
``real-scans/pages``; and blank sheets photographed on a desk (the ``desk`` condition's desk,
second sheet, curl, shadow and camera, with nothing written), where every digit read is a
phantom. The desk condition's digit boxes are those before the photo's distortion, so
detection is judged by what is read, not by box overlap. Times are wall seconds a page with
``--threads`` ONNX Runtime threads for every model. The first line printed says which
digitscan was measured (``PYTHONPATH=SNAPSHOT/src`` puts another copy first).
"""

from __future__ import annotations

import argparse
import csv
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import TypeVar

import cv2
import numpy as np
import rapidocr_onnxruntime
from PIL import Image
from rapidocr_onnxruntime import RapidOCR
from read_accuracy import SEED_BASE, score

import digitscan
from digitscan import Reader
from digitscan.training.mnist import load_mnist
from digitscan.training.simulate import CONDITIONS, simulate_scan

# The desk condition's own steps, to photograph a sheet with nothing written on it.
from digitscan.training.simulate import _features, _on_desk, _on_paper, _photograph  # isort: skip

REPO = Path(__file__).resolve().parents[1]
DETECTOR_METHODS = ("det-crop", "det-pad", "det-pad-1")
METHODS = ("digitscan", *DETECTOR_METHODS)
T = TypeVar("T")


@dataclass
class Tally:
    """One method's sums over pages: ``score``'s six figures, numbers read, digits read,
    pages with any digit, seconds, and (for the detector) boxes found."""

    scores: list[int] = field(default_factory=lambda: [0] * 6)
    numbers_read: int = 0
    digits_read: int = 0
    pages_with_digits: int = 0
    seconds: float = 0.0
    pages: int = 0
    boxes: int = 0

    def add(self, truth: str, read: str, seconds: float, boxes: int = 0) -> None:
        self.scores = [a + b for a, b in zip(self.scores, score(truth, read), strict=True)]
        self.numbers_read += len(read.split())
        found = sum(char.isdigit() for char in read)
        self.digits_read += found
        self.pages_with_digits += found > 0
        self.seconds += seconds
        self.pages += 1
        self.boxes += boxes

    def row(self, name: str, method: str) -> str:
        right, counted, exact, numbers, edits, characters = self.scores
        boxes = f"{self.boxes / max(self.pages, 1):6.2f}" if method != "digitscan" else f"{'':6s}"
        return (f"{name:11s} {method:10s} {right / max(counted, 1):8.2%} {exact / max(numbers, 1):8.2%} "
                f"{edits / max(characters, 1):8.2%} {self.numbers_read:5d}/{numbers:<5d} {boxes} "
                f"{self.seconds / max(self.pages, 1):7.3f}")

    def phantom_row(self, method: str) -> str:
        boxes = f"{self.boxes:6d}" if method != "digitscan" else f"{'':6s}"
        return (f"{method:10s} {self.digits_read:7d} {self.pages_with_digits:>8d} of {self.pages:<3d} "
                f"{boxes} {self.seconds / max(self.pages, 1):7.3f}")


HEADER = (f"{'pages':11s} {'method':10s} {'digits':>8s} {'numbers':>8s} {'CER':>8s} "
          f"{'read/true':>11s} {'boxes':>6s} {'s/page':>7s}")


class DetectorReader:
    """Pages read box by box where RapidOCR's text detector finds writing."""

    def __init__(self, reader: Reader, threads: int) -> None:
        self.reader = reader
        # 0: ONNX Runtime decides, as digitscan's threads=0; RapidOCR's word for it is -1.
        count = threads if threads > 0 else -1
        self.engine = RapidOCR(intra_op_num_threads=count, inter_op_num_threads=count)

    def boxes(self, image: np.ndarray) -> list[np.ndarray]:
        """The detector's quadrilaterals (4 x 2, clockwise from top left) on an RGB image."""
        found, _ = self.engine(np.ascontiguousarray(image[..., ::-1]), use_det=True, use_cls=False,
                               use_rec=False)
        return [np.asarray(box, np.float32) for box in found or []]

    def read(self, image: np.ndarray) -> tuple[dict[str, tuple[str, float]], int]:
        """Each detector method's text (rows by newlines, boxes by spaces) and seconds, and
        how many boxes were found."""
        started = time.perf_counter()
        boxes = self.boxes(image)
        rows = reading_order(boxes)
        detecting = time.perf_counter() - started
        results = {}
        for padded in (False, True):
            started = time.perf_counter()
            texts = [[self.reader.read_array(straightened(image, boxes[i], padded), layout="line").text
                      for i in row] for row in rows]
            seconds = detecting + time.perf_counter() - started
            results["det-pad" if padded else "det-crop"] = (_joined(texts, " "), seconds)
            if padded:
                results["det-pad-1"] = (_joined(texts, ""), seconds)
        return results, len(boxes)


def _joined(rows: list[list[str]], inside_box: str) -> str:
    """Rows by newlines, boxes by spaces, the numbers read inside one box by ``inside_box``."""
    lines = [" ".join(inside_box.join(text.split()) for text in row if text.strip()) for row in rows]
    return "\n".join(line for line in lines if line)


def straightened(image: np.ndarray, box: np.ndarray, padded: bool) -> np.ndarray:
    """The quadrilateral ``box`` cut out as an upright rectangle; ``padded``: with digitscan's
    line margins around it (a sixth of its height above and below, 0.3 of it either side)."""
    width = int(max(np.linalg.norm(box[0] - box[1]), np.linalg.norm(box[2] - box[3])))
    height = int(max(np.linalg.norm(box[0] - box[3]), np.linalg.norm(box[1] - box[2])))
    side, above = (max(2, round(0.3 * height)), max(1, height // 6)) if padded else (0, 0)
    target = np.array([[side, above], [side + width, above], [side + width, above + height],
                       [side, above + height]], np.float32)
    matrix = cv2.getPerspectiveTransform(box, target)
    return cv2.warpPerspective(image, matrix, (max(width + 2 * side, 1), max(height + 2 * above, 1)),
                               borderMode=cv2.BORDER_REPLICATE, flags=cv2.INTER_CUBIC)


def reading_order(boxes: list[np.ndarray]) -> list[list[int]]:
    """Box indices in rows, top to bottom: a box joins the row whose vertical span it overlaps
    by half the smaller height; each row left to right. Spans are taken with the page turned
    level by the boxes' median slant, so that a photo taken askew keeps its rows apart."""
    if boxes:
        slant = float(np.median([np.arctan2(box[1, 1] - box[0, 1], box[1, 0] - box[0, 0]) for box in boxes]))
        turn = np.array([[np.cos(slant), np.sin(slant)], [-np.sin(slant), np.cos(slant)]], np.float32)
        boxes = [box @ turn.T for box in boxes]
    spans = [(float(box[:, 1].min()), float(box[:, 1].max())) for box in boxes]
    rows: list[list[int]] = []
    for index in sorted(range(len(boxes)), key=lambda i: sum(spans[i])):
        top, bottom = spans[index]
        for row in rows:
            row_top = float(np.mean([spans[i][0] for i in row]))
            row_bottom = float(np.mean([spans[i][1] for i in row]))
            overlap = min(bottom, row_bottom) - max(top, row_top)
            if overlap >= 0.5 * min(bottom - top, row_bottom - row_top):
                row.append(index)
                break
        else:
            rows.append([index])
    rows.sort(key=lambda row: float(np.mean([sum(spans[i]) for i in row])))
    return [sorted(row, key=lambda i: float(boxes[i][:, 0].min())) for row in rows]


def blank_desk_photo(seed: int) -> np.ndarray:
    """A sheet with nothing written on it, photographed on a desk as the ``desk`` condition
    photographs its pages (sheet 25-60% of the frame, textured desk, often a second sheet or
    a book page and a shadow, then the camera's light fall-off, blur, noise and JPEG)."""
    rng = np.random.default_rng(seed)
    features = _features("desk", rng)
    # About the size of the simulator's written sheets: 1-3 lines of 28-56 pixel digits.
    height, width = int(rng.integers(120, 400)), int(rng.integers(300, 1000))
    sheet = _on_paper(np.zeros((height, width), np.float32), [], features, rng)
    return _photograph(_on_desk(sheet, rng), rng)


def timed(read: Callable[[np.ndarray], T], image: np.ndarray) -> tuple[T, float]:
    """What ``read`` gives for ``image``, and the wall seconds it took."""
    started = time.perf_counter()
    result = read(image)
    return result, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=20, help="simulated pages per condition")
    parser.add_argument("--conditions", default="desk,clean,hard", help="comma-separated simulated conditions")
    parser.add_argument("--blank", type=int, default=20, help="blank sheets photographed on a desk")
    parser.add_argument("--threads", type=int, default=1,
                        help="ONNX Runtime threads for every model (0: ONNX Runtime decides)")
    parser.add_argument("--data-dir", default=str(REPO.parent / "shared" / "data"))
    args = parser.parse_args()
    conditions = [name.strip() for name in args.conditions.split(",") if name.strip()]
    unknown = [name for name in conditions if name not in CONDITIONS]
    if unknown:
        parser.error(f"unknown condition(s) {', '.join(unknown)}: expected some of {', '.join(CONDITIONS)}")
    reader = Reader(threads=args.threads)
    detector = DetectorReader(reader, args.threads)
    models = Path(rapidocr_onnxruntime.__file__).parent / "models"
    print(f"rapidocr-onnxruntime {version('rapidocr-onnxruntime')}, detector "
          f"{', '.join(path.name for path in sorted(models.glob('*det*.onnx')))}; "
          f"digitscan {version('digitscan')} from {Path(digitscan.__file__).parent}, line recogniser "
          f"{reader.line_model_path.name}; "
          f"{args.threads} thread(s)")

    def digitscan_read(image: np.ndarray) -> str:
        return reader.read_array(image, layout="page").text

    def measure(tallies: dict[str, Tally], image: np.ndarray, truth: str) -> dict[str, str]:
        text, seconds = timed(digitscan_read, image)
        tallies["digitscan"].add(truth, text, seconds)
        readings = {"digitscan": text}
        results, boxes = detector.read(image)
        for method, (text, seconds) in results.items():
            tallies[method].add(truth, text, seconds, boxes)
            readings[method] = text
        return readings

    digits = load_mnist("test", args.data_dir, download=False)
    # Warm every model up: loading them is not a page's time.
    measure({method: Tally() for method in METHODS}, simulate_scan("clean", 0, digits).image, "")

    print(f"\nsimulated scans, {args.pages} pages per condition (seeds {SEED_BASE}-{SEED_BASE + args.pages - 1}); "
          "numbers: exact, in order; read/true: numbers read and true; boxes: detector boxes a page")
    print(HEADER)
    for condition in conditions:
        tallies = {method: Tally() for method in METHODS}
        for seed in range(SEED_BASE, SEED_BASE + args.pages):
            scan = simulate_scan(condition, seed, digits)
            measure(tallies, scan.image, scan.text)
        for method in METHODS:
            print(tallies[method].row(condition, method))

    pages = Path(args.data_dir) / "real-scans" / "pages"
    rows = list(csv.DictReader(open(pages / "labels.csv", encoding="utf-8")))
    print("\nphotographed pages (real-scans/pages)")
    print(HEADER)
    real = {method: Tally() for method in METHODS}
    shown = []
    for row in rows:
        image = np.asarray(Image.open(pages / "images" / row["file"]).convert("RGB"))
        readings = measure(real, image, row["text"])
        shown.append(f"  {row['file']} {'truth':10s} {row['text']!r}")
        shown.extend(f"  {row['file']} {method:10s} {' '.join(text.split())!r}" for method, text in readings.items())
    for method in METHODS:
        print(real[method].row("real pages", method))
    print("\n".join(shown))

    print(f"\nblank sheets photographed on a desk ({args.blank}, seeds {SEED_BASE}-{SEED_BASE + args.blank - 1}): "
          "digits read where nothing is written")
    print(f"{'method':10s} {'digits':>7s} {'pages with any':>15s} {'boxes':>6s} {'s/page':>7s}")
    blank = {method: Tally() for method in METHODS}
    for seed in range(SEED_BASE, SEED_BASE + args.blank):
        measure(blank, blank_desk_photo(seed), "")
    for method in METHODS:
        print(blank[method].phantom_row(method))


if __name__ == "__main__":
    main()
