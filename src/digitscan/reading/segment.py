"""Finding the digits on an ink mask and putting them in reading order.

Stages, each a pure function of arrays and boxes (x, y, w, h):

* ``find_candidates``   connected components; broken pieces of one digit merged; specks,
                        dots, dashes and long strokes dropped
* ``group_lines``       candidates into lines, top to bottom, each left to right
* ``number_breaks``     where a clear gap in a line separates two numbers

Lines are then read whole by the line recogniser (``reading.lines``): nothing here cuts a
line into digits.

>>> candidates = find_candidates(mask)               # doctest: +SKIP
>>> lines = group_lines([c.box for c in candidates])
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np

__all__ = [
    "Candidate",
    "Segmentation",
    "find_candidates",
    "group_lines",
    "number_breaks",
    "text_height_of",
]

Box = tuple[int, int, int, int]
_SQUARE_3X3 = np.ones((3, 3), np.uint8)


@dataclass(frozen=True)
class Candidate:
    """Something that may be a digit: its box and the component labels that make it up."""

    box: Box
    parts: tuple[int, ...]


@dataclass(frozen=True)
class Segmentation:
    """The candidates on a page, the label image they refer to, the text height, and each
    label's (x, y, width, height, area) as OpenCV counts them (row 0: the background)."""

    candidates: list[Candidate]
    labels: np.ndarray
    text_height: float
    stats: np.ndarray | None = None


def text_height_of(heights: np.ndarray, areas: np.ndarray) -> float:
    """The typical digit height: the median height of the tallest components that carry
    real ink (specks, and the pieces of broken digits, would pull a plain median down)."""
    if len(heights) == 0:
        return 0.0
    inked = heights[areas >= 0.15 * np.percentile(areas, 90)]
    if len(inked) == 0:
        inked = heights
    # A few components far taller than the rest (patches of a checked desk, a dark corner,
    # the pieces of a sudoku's grid left in) are left out: two or three among twenty digits
    # were the tallest tenth and set the height; ten pieces of a grid among 56 digits and
    # words (15%) set it at 323 pixels for digits of 40-50. Only a few, a fifth at most, and
    # only above a body of components tall enough to be writing: where more tower, or the
    # rest are specks and dots under 10 pixels, the towering ones are the digits.
    body = float(np.percentile(inked, 75))
    towering = inked > 2.5 * body
    if body >= 10 and 0 < towering.sum() <= max(1, 0.2 * len(inked)):
        inked = inked[~towering]
    tall = inked[inked >= 0.6 * np.percentile(inked, 90)]
    return float(np.median(tall))


def find_candidates(mask: np.ndarray, text_height: float | None = None) -> Segmentation:
    """Digit candidates on a boolean ink mask, in no particular order."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(
        mask.astype(np.uint8), connectivity=8
    )
    boxes = stats[1:, :4].astype(np.int64)
    areas = stats[1:, cv2.CC_STAT_AREA].astype(np.int64)
    # Single pixels are noise at any size: leave them out before estimating anything.
    keep = areas >= 3
    ids = np.flatnonzero(keep) + 1
    boxes, areas = boxes[keep], areas[keep]
    if len(ids) == 0:
        return Segmentation([], labels, 0.0, stats)
    height = text_height or text_height_of(boxes[:, 3], areas)
    # Specks far smaller than a digit's pieces only slow the merging down.
    big_enough = (areas >= 0.01 * height * height) | (boxes[:, 3] >= 0.25 * height)
    ids, boxes, areas = ids[big_enough], boxes[big_enough], areas[big_enough]
    groups = _merge_broken(boxes, height)
    candidates: list[Candidate] = []
    for group in groups:
        box = _union([tuple(boxes[i]) for i in group])
        area = int(areas[group].sum())
        if _looks_like_digit(box, area, height, mask.shape):
            candidates.append(Candidate(box, tuple(int(ids[i]) for i in group)))
    return Segmentation(candidates, labels, height, stats)


def group_lines(boxes: list[Box]) -> list[list[int]]:
    """Indices of ``boxes`` grouped into lines, top line first, each line left to right.

    Walking left to right, a box joins the line whose latest box it overlaps most in
    height, so gently sloping lines in a photo stay whole. Only lines whose latest box is
    level with the box are looked at (a woven cloth read as writing made 400 lines of
    16,000 boxes, and looking at every line for every box took seconds).
    """
    order = sorted(range(len(boxes)), key=lambda i: boxes[i][0])
    lines: list[list[int]] = []
    # Lines filed under the bands of rows their latest box covers (a grid one cell wide); a
    # line filed under a band its latest box has left is checked against that box, and
    # passed over.
    rows = _Grid(float(np.median([b[3] for b in boxes])) if boxes else 1.0)
    for index in order:
        x, y, w, h = boxes[index]
        best, best_overlap = -1, 0.0
        for number in rows.near((0, y, 1, h)):
            _, ly, _, lh = boxes[lines[number][-1]]
            overlap = min(y + h, ly + lh) - max(y, ly)
            share = overlap / max(min(h, lh), 1)
            if share > best_overlap:
                best, best_overlap = number, share
        if best >= 0 and best_overlap >= 0.4:
            lines[best].append(index)
        else:
            lines.append([index])
            best = len(lines) - 1
        rows.add(best, (0, y, 1, h))
    lines.sort(key=lambda line: float(np.mean([boxes[i][1] + boxes[i][3] / 2 for i in line])))
    return lines


def number_breaks(boxes: list[Box], text_height: float, typical_gap: float) -> list[bool]:
    """For each box of a line (left to right) after the first: does a new number start?

    A clear gap is wider than most of a digit's height and well over the usual gap between
    digits of one number (people space digits differently, so it is measured per page).
    """
    breaks: list[bool] = []
    threshold = max(0.9 * text_height, 2.5 * typical_gap + 0.3 * text_height)
    for left, right in zip(boxes, boxes[1:], strict=False):
        gap = right[0] - (left[0] + left[2])
        breaks.append(gap > threshold)
    return breaks


# --- private helpers -------------------------------------------------------------------


def _union(boxes: list[tuple[int, ...]]) -> Box:
    x0 = min(b[0] for b in boxes)
    y0 = min(b[1] for b in boxes)
    x1 = max(b[0] + b[2] for b in boxes)
    y1 = max(b[1] + b[3] for b in boxes)
    return (int(x0), int(y0), int(x1 - x0), int(y1 - y0))


def _merge_broken(boxes: np.ndarray, text_height: float) -> list[list[int]]:
    """Groups of components that are pieces of one digit: stacked over each other (they
    share most of their columns) and together no taller than a digit.

    Each piece joins the first group (in the order groups were made) it fits. Only groups
    near a piece are looked at (``_Grid``): a patterned cloth or a desk's weave gives tens
    of thousands of components, and looking at every group for every piece took minutes
    (a blank sheet on a checked cloth: 16,523 components, over a minute)."""
    order = sorted(range(len(boxes)), key=lambda i: -int(boxes[i][2]) * int(boxes[i][3]))
    groups: list[list[int]] = []
    group_boxes: list[Box] = []
    tallest, reach = 1.35 * text_height, 0.3 * text_height
    # Only a group no taller than a merged box may be can take a piece, so only those are
    # on the grid.
    grid = _Grid(text_height)
    for index in order:
        x, y, w, h = (int(v) for v in boxes[index])
        joined = False
        if h <= tallest:
            # A group it may join shares its columns and lies within ``reach`` above or below.
            for number in grid.near((x, int(y - reach) - 1, w, int(h + 2 * reach) + 3)):
                gx, gy, gw, gh = group_boxes[number]
                overlap = min(x + w, gx + gw) - max(x, gx)
                if overlap < 0.5 * min(w, gw):
                    continue
                merged = _union([(x, y, w, h), (gx, gy, gw, gh)])
                vertical_gap = max(y, gy) - min(y + h, gy + gh)
                if merged[3] <= tallest and vertical_gap <= reach:
                    groups[number].append(index)
                    group_boxes[number] = merged
                    grid.add(number, merged)
                    joined = True
                    break
        if not joined:
            groups.append([index])
            group_boxes.append((x, y, w, h))
            if h <= tallest:
                grid.add(len(groups) - 1, (x, y, w, h))
    return _attach_fragments(groups, group_boxes, text_height)


def _attach_fragments(groups: list[list[int]], group_boxes: list[Box],
                      text_height: float) -> list[list[int]]:
    """Join each fragment (a piece much shorter than a digit) to the nearest group when
    together they still make a box no larger than one digit: the two halves of a 4 or a
    0 broken at the side. Only groups near a fragment are looked at (see ``_merge_broken``)."""
    order = sorted(range(len(groups)), key=lambda g: group_boxes[g][3])
    alive = [True] * len(groups)
    tallest, widest, reach = 1.3 * text_height, 1.2 * text_height, 0.25 * text_height
    # Only groups no larger than the merged box may be can take a fragment.
    grid = _Grid(text_height)
    for number, (_, _, w, h) in enumerate(group_boxes):
        if h <= tallest and w <= widest:
            grid.add(number, group_boxes[number])
    for number in order:
        box = group_boxes[number]
        if box[3] >= 0.7 * text_height:
            continue
        best, best_distance = -1, float("inf")
        x, y, w, h = box
        for other in grid.near((int(x - reach) - 1, int(y - reach) - 1, int(w + 2 * reach) + 3,
                                int(h + 2 * reach) + 3)):
            if other == number or not alive[other]:
                continue
            other_box = group_boxes[other]
            merged = _union([box, other_box])
            if merged[3] > tallest or merged[2] > widest:
                continue
            distance = _box_gap(box, other_box)
            if distance < best_distance and distance <= reach:
                best, best_distance = other, distance
        if best >= 0:
            groups[best].extend(groups[number])
            group_boxes[best] = _union([group_boxes[best], box])
            grid.add(best, group_boxes[best])
            alive[number] = False
    return [group for group, keep in zip(groups, alive, strict=True) if keep]


class _Grid:
    """Boxes filed under the square cells (a text height on a side) they cover, so that the
    boxes near a place are found without looking at all of them."""

    def __init__(self, text_height: float) -> None:
        self.side = max(1.0, float(text_height))
        self.cells: dict[tuple[int, int], list[int]] = {}

    def _cells(self, box: Box) -> Iterator[tuple[int, int]]:
        x, y, w, h = box
        side = self.side
        for row in range(math.floor(y / side), math.floor((y + max(h, 1)) / side) + 1):
            for column in range(math.floor(x / side), math.floor((x + max(w, 1)) / side) + 1):
                yield row, column

    def add(self, number: int, box: Box) -> None:
        """File ``number`` under every cell ``box`` covers (again, where its box grew)."""
        for cell in self._cells(box):
            filed = self.cells.setdefault(cell, [])
            if not filed or filed[-1] != number:
                filed.append(number)

    def near(self, box: Box) -> list[int]:
        """The numbers filed under any cell ``box`` covers, each once, smallest first."""
        found: set[int] = set()
        for cell in self._cells(box):
            found.update(self.cells.get(cell, ()))
        return sorted(found)


def _box_gap(a: Box, b: Box) -> float:
    dx = max(a[0] - (b[0] + b[2]), b[0] - (a[0] + a[2]), 0)
    dy = max(a[1] - (b[1] + b[3]), b[1] - (a[1] + a[3]), 0)
    return float(np.hypot(dx, dy))


def _looks_like_digit(box: Box, area: int, text_height: float, shape: tuple[int, ...]) -> bool:
    x, y, w, h = box
    if h < 0.4 * text_height:
        return False  # a speck, a dot, a dash or an underline: digits are tall
    if w <= 1 and h < 12:
        return False  # a sliver of a sheet's edge or a crease: writing this small is wider
    if h > 3.0 * text_height or w > 8.0 * text_height:
        return False  # a long stroke, a frame, the edge of the desk
    if w > 2.0 * h and h < 0.7 * text_height:
        return False  # a horizontal stroke (a minus sign, a crossed-out word)
    touches_edge = x == 0 or y == 0 or x + w == shape[1] or y + h == shape[0]
    if touches_edge and (h > 1.8 * text_height or area < 0.02 * h * h):
        return False  # shadows and desk edges along the border of a photo
    return area >= max(4, 0.02 * text_height * text_height)
