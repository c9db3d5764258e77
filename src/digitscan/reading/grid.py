"""Reading a grid of cells (a sudoku, a marks table, a form's comb of boxes) from a picture.

Stages, each a function of arrays, in the order ``plan_grid`` runs them:

* ``find_grid``     the outer frame of the largest grid of ruled lines: four corners in the
                    picture's pixels, found on a copy shrunk to the size the lines need
* ``flatten_grid``  the grid warped to an upright rectangle, at the resolution its cells need
* ``cell_lines``    where the cell walls run across the flattened grid
* ``cell_contents`` each cell's ink, walls taken out: nothing (blank), one number, or
                    candidate notes (several small digits)

The reader classifies every digit crop of every cell in its one ONNX Runtime batch and
puts the answers back into rows of cells (``Reading.cells``). The text of a grid
(``grid_text``) is one line per row, its cells separated by spaces: ``.`` for a blank
cell, the digits read for a number, candidate notes in parentheses::

    3 . 8 . 4 6 1 9 2
    8 4 (23) 9 7 (23) 6 1 5

>>> corners = find_grid(grey)                          # doctest: +SKIP
>>> flat, back = flatten_grid(grey, corners)
>>> columns, rows = cell_lines(grid_ink(flat))
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from .normalise import normalise_like_mnist

__all__ = ["CellPlan", "GridPlan", "cell_contents", "cell_lines", "find_grid", "flatten_grid",
           "grid_ink", "grid_text", "plan_grid"]

Box = tuple[int, int, int, int]

# The grid's lines are found on a copy with this long side: thin printed lines stay a
# pixel or two wide, and a 12-megapixel photo is searched in a few milliseconds.
_FIND_SIDE = 1024
# The flattened grid is made at most this long a side: a sudoku's cells come out ~70 px,
# where the small digits of candidate notes are still ~18 px tall.
_FLAT_SIDE = 640
# A cell's inner margin (share of its side) left out before looking for ink: the walls.
_WALL_MARGIN = 0.06
# Ink weaker than this share of the grid's ink level is show-through, a fold or a shadow.
_FAINT = 0.35
# Digits shorter than this share of the cell are specks; writing shorter than _NOTE_HEIGHT
# that ends above _NOTE_BOTTOM of the cell, its middle above _NOTE_MIDDLE, is candidate
# notes.
_LEAST_HEIGHT, _NOTE_HEIGHT, _NOTE_BOTTOM, _NOTE_MIDDLE = 0.16, 0.56, 0.7, 0.42
# Wall ink along a line of pixels, as a share of the strongest line's (the frame): a thick
# line has at least _STRONG_WALL; where the walls are evenly spaced, thin lines with
# _FAINT_WALL (and three times the median line's) are walls too.
_STRONG_WALL, _FAINT_WALL = 0.35, 0.05
# Wall ink above this (of 255) is taken out of the cells.
_WALL_INK = 40
# On the shrunk copy, lines are marks thinner than _THIN pixels at least _THIN_CONTRAST
# darker than the paper around them; the largest _GRID_CANDIDATES pieces of them are tried
# (a wood-grained desk has many large ones).
_THIN, _THIN_CONTRAST, _GRID_CANDIDATES = 9, 0.12, 24
# Grids of at most this many cells a side are looked for.
_MOST_CELLS = 40


@dataclass
class CellPlan:
    """One cell: its box in the flattened grid, and its digits (crop indices into the
    plan's crops, left to right and top to bottom), empty for a blank cell."""

    box: Box
    digits: list[tuple[Box, int]] = field(default_factory=list)
    notes: bool = False


@dataclass
class GridPlan:
    """A grid ready for the classifier: rows of cells, the 28x28 crops of their digits, and
    the homography from the flattened grid back to the input picture."""

    rows: list[list[CellPlan]]
    crops: list[np.ndarray]
    back: np.ndarray


def find_grid(grey: np.ndarray) -> np.ndarray | None:
    """Corners (4, 2) float32 of the largest grid of ruled lines in ``grey`` (top left, top
    right, bottom right, bottom left, in its pixels), or None when there is none."""
    height, width = grey.shape
    scale = min(1.0, _FIND_SIDE / max(height, width))
    small = grey if scale == 1.0 else cv2.resize(grey, None, fx=scale, fy=scale,
                                                   interpolation=cv2.INTER_AREA)
    dark = _thin_dark(small)
    # A grid's walls are all joined to its frame: one connected piece of ink. (The dark rim
    # of the desk around a sheet is one piece too, but with nothing across its inside.)
    _, pieces, stats, _ = cv2.connectedComponentsWithStats(dark, connectivity=8)
    least = 0.01 * small.shape[0] * small.shape[1]
    spans = stats[:, cv2.CC_STAT_WIDTH] * stats[:, cv2.CC_STAT_HEIGHT]
    spans[0] = 0  # the background
    for label in np.argsort(-spans)[:_GRID_CANDIDATES]:
        if spans[label] < least:
            break
        x, y, w, h = (int(v) for v in stats[label, :4])
        own = pieces[y:y + h, x:x + w] == label
        points = cv2.findNonZero(own.view(np.uint8)) + np.array([x, y], np.int32)
        corners = _quadrilateral(cv2.convexHull(points))
        if corners is not None and _looks_like_grid(pieces == label, corners):
            return corners / scale
    return None


def flatten_grid(grey: np.ndarray, corners: np.ndarray,
                 side: int = _FLAT_SIDE) -> tuple[np.ndarray, np.ndarray]:
    """The grid inside ``corners`` warped upright, its long side at most ``side`` pixels,
    and the 3x3 homography from the flattened grid back to ``grey``'s pixels.

    A grid much larger than that is shrunk (area-averaged) before warping, as a warp that
    skips pixels would lose thin strokes."""
    top_left, top_right, bottom_right, bottom_left = corners.astype(np.float64)
    width = max(np.linalg.norm(top_right - top_left), np.linalg.norm(bottom_right - bottom_left))
    height = max(np.linalg.norm(bottom_left - top_left), np.linalg.norm(bottom_right - top_right))
    fit = min(1.0, side / max(width, height))
    out_w, out_h = max(8, int(round(width * fit))), max(8, int(round(height * fit)))
    source, offset, shrink = grey, np.zeros(2), 1.0
    if fit < 0.6:
        # Shrink only the grid's box, by area, to about 1.3x the output's resolution.
        x0, y0 = np.floor(corners.min(axis=0)).astype(int)
        x1, y1 = np.ceil(corners.max(axis=0)).astype(int)
        x0, y0 = max(int(x0) - 2, 0), max(int(y0) - 2, 0)
        x1, y1 = min(int(x1) + 3, grey.shape[1]), min(int(y1) + 3, grey.shape[0])
        shrink = 1.3 * fit
        source = cv2.resize(grey[y0:y1, x0:x1], None, fx=shrink, fy=shrink,
                            interpolation=cv2.INTER_AREA)
        offset = np.array([x0, y0], np.float64)
    local = ((corners - offset) * shrink).astype(np.float32)
    target = np.array([[0, 0], [out_w - 1, 0], [out_w - 1, out_h - 1], [0, out_h - 1]],
                      np.float32)
    forward = cv2.getPerspectiveTransform(local, target)
    flat = cv2.warpPerspective(source, forward, (out_w, out_h), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REPLICATE)
    # Back: flattened -> source crop -> input picture.
    to_input = np.array([[1 / shrink, 0, offset[0]], [0, 1 / shrink, offset[1]], [0, 0, 1]])
    return flat, to_input @ np.linalg.inv(forward)


def grid_ink(flat: np.ndarray) -> np.ndarray:
    """Ink per pixel of a flattened grid, uint8 (0 paper, 255 the darkest writing): how much
    darker each pixel is than the paper around it, the paper being the grey closing of the
    picture over anything as thin as a stroke or a wall. A shadow's edge, soft over many
    pixels, stays paper (a wide paper filter would take its dark side for ink)."""
    size = max(9, int(max(flat.shape) / 40)) | 1
    paper = cv2.morphologyEx(flat, cv2.MORPH_CLOSE,
                             cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size)))
    paper = cv2.GaussianBlur(paper, (size, size), 0).astype(np.float32)
    darker = np.maximum(paper - flat.astype(np.float32), 0.0) / np.maximum(paper, 16.0)
    top = max(float(np.percentile(darker, 99.7)), 0.2)
    return np.minimum(darker * (255.0 / top), 255.0).astype(np.uint8)


def cell_lines(ink: np.ndarray) -> tuple[list[int], list[int]]:
    """The columns and rows (pixel positions, outer frame included) where the walls of the
    cells run in the flattened grid's ink map ``ink``."""
    vertical, horizontal = _wall_runs(ink)
    return (_line_positions(vertical.mean(axis=0, dtype=np.float32)),
            _line_positions(horizontal.mean(axis=1, dtype=np.float32)))


def cell_contents(ink: np.ndarray, walls: np.ndarray, box: Box,
                  level: float) -> tuple[list[Box], bool]:
    """The digits in one cell ``box`` of the flattened grid: their boxes (left to right; for
    notes, in reading order) and whether they are candidate notes. No boxes: a blank cell.

    ``walls``: the map of the grid's lines (taken out first); ``level``: the ink of the
    grid's writing, against which faint marks (show-through, shadows) are judged."""
    x, y, w, h = box
    mx, my = max(1, int(round(_WALL_MARGIN * w))), max(1, int(round(_WALL_MARGIN * h)))
    inner = ink[y + my: y + h - my, x + mx: x + w - mx]
    inner_walls = walls[y + my: y + h - my, x + mx: x + w - mx]
    if inner.size == 0:
        return [], False
    mask = (inner > 0.5 * _FAINT * level) & ~inner_walls
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.view(np.uint8), connectivity=8)
    cell_h = float(h)
    inner_h, inner_w = inner.shape
    kept: list[Box] = []
    for label in range(1, count):
        cx, cy, cw, ch, area = (int(v) for v in stats[label])
        if ch < _LEAST_HEIGHT * cell_h or area < 0.002 * w * h:
            continue
        # A piece of wall the margin let in: thin, along the cell's edge.
        touches = cx == 0 or cy == 0 or cx + cw == inner_w or cy + ch == inner_h
        if touches and min(cw, ch) <= 0.1 * min(w, h) and max(cw, ch) >= 0.4 * min(w, h):
            continue
        if float(inner[labels == label].max()) < _FAINT * level:
            continue
        kept.append((cx + x + mx, cy + y + my, cw, ch))
    if not kept:
        return [], False
    tallest = max(b[3] for b in kept)
    top, bottom = min(b[1] for b in kept) - y, max(b[1] + b[3] for b in kept) - y
    if (tallest < _NOTE_HEIGHT * cell_h and bottom < _NOTE_BOTTOM * cell_h
            and top + bottom < 2 * _NOTE_MIDDLE * cell_h):
        # Candidate notes: small digits high in the cell (an answer fills the middle; on
        # real sudokus the notes' ink never reached 0.7 of the cell down, the answers' 0.74).
        pieces = [part for b in kept for part in _split_wide(mask, b, (x + mx, y + my))]
        order = sorted(pieces, key=lambda b: (round((b[1] + b[3] / 2 - y) / (0.3 * cell_h)), b[0]))
        return order, True
    # One number: pieces that overlap left-right, or nearly touch and together are no
    # wider than a digit (an open 4, a broken 8), belong to one digit.
    tall = sorted((b for b in kept if b[3] >= 0.5 * tallest), key=lambda b: b[0])
    small = [b for b in kept if b[3] < 0.5 * tallest]
    digits: list[Box] = []
    for piece in tall:
        if digits:
            joined = _union([digits[-1], piece])
            gap = piece[0] - (digits[-1][0] + digits[-1][2])
            if gap < -0.3 * piece[2] or (gap <= 0.08 * w and joined[2] <= 0.9 * joined[3]):
                digits[-1] = joined
                continue
        digits.append(piece)
    for piece in small:  # a broken-off bit joins the digit it lies over
        centre = piece[0] + piece[2] / 2
        for index, digit in enumerate(digits):
            if digit[0] - 0.1 * w <= centre <= digit[0] + digit[2] + 0.1 * w:
                digits[index] = _union([digit, piece])
                break
    return digits, False


def plan_grid(grey: np.ndarray) -> GridPlan | None:
    """Find the grid in ``grey`` and cut out its digits, or None when there is no grid."""
    corners = find_grid(grey)
    if corners is None:
        return None
    flat, back = flatten_grid(grey, corners)
    ink = grid_ink(flat)
    walls_v, walls_h = _wall_maps(ink)
    columns, rows = cell_lines(ink)
    if len(columns) < 2 or len(rows) < 2:
        return None
    # Only wall runs near the cell lines are walls: a digit's long stroke (a 1, a 9) is
    # as long as a wall piece, but it stands inside its cell.
    near_columns = _near(columns, ink.shape[1], 0.15 * ink.shape[1] / max(len(columns) - 1, 1))
    near_rows = _near(rows, ink.shape[0], 0.15 * ink.shape[0] / max(len(rows) - 1, 1))
    walls = (walls_v & near_columns[None, :]) | (walls_h & near_rows[:, None])
    walls = cv2.dilate(walls.view(np.uint8), np.ones((3, 3), np.uint8)).view(bool)
    writing = ink[~walls]
    level = float(np.percentile(writing, 99.5)) if writing.size else 255.0
    level = max(level, 96.0)
    crops: list[np.ndarray] = []
    grid_rows: list[list[CellPlan]] = []
    for top, bottom in zip(rows, rows[1:], strict=False):
        row = []
        for left, right in zip(columns, columns[1:], strict=False):
            box = (left, top, right - left, bottom - top)
            cell = CellPlan(box)
            boxes, cell.notes = cell_contents(ink, walls, box, level)
            for digit_box in boxes:
                x, y, w, h = digit_box
                crop = np.where(walls[y:y + h, x:x + w], 0, ink[y:y + h, x:x + w])
                crops.append(normalise_like_mnist(crop))
                cell.digits.append((digit_box, len(crops) - 1))
            row.append(cell)
        grid_rows.append(row)
    return GridPlan(grid_rows, crops, back)


def grid_text(rows: list[list[tuple[str, bool]]]) -> str:
    """Rows of (cell text, notes) as text: a line per row, cells separated by a space, a
    blank cell ``.``, candidate notes in parentheses."""
    return "\n".join(" ".join(f"({text})" if notes and text else text or "." for text, notes in row)
                     for row in rows)


# --- private helpers -------------------------------------------------------------------


def _quadrilateral(hull: np.ndarray) -> np.ndarray | None:
    """Four corners of a convex outline, ordered, or None when it is no quadrilateral."""
    area = cv2.contourArea(hull)
    for tolerance in (0.01, 0.02, 0.03, 0.045):
        corners = cv2.approxPolyDP(hull, tolerance * cv2.arcLength(hull, True), True)
        if len(corners) <= 4:
            break
    if len(corners) != 4:
        # A bent page rounds a corner off: the extreme points along the diagonals.
        points = hull.reshape(-1, 2).astype(np.float32)
        corners = _order(points)
    else:
        corners = _order(corners.reshape(4, 2).astype(np.float32))
    if cv2.contourArea(corners) < 0.85 * area:
        return None
    return corners


def _order(points: np.ndarray) -> np.ndarray:
    sums = points.sum(axis=1)
    diffs = points[:, 1] - points[:, 0]
    return np.array([points[np.argmin(sums)], points[np.argmin(diffs)],
                     points[np.argmax(sums)], points[np.argmax(diffs)]], np.float32)


def _thin_dark(small: np.ndarray) -> np.ndarray:
    """Thin dark marks (lines, strokes) of a shrunk picture, uint8 0/255: pixels clearly
    darker than the closing of the picture over anything a few pixels wide. A shadow's edge
    or the rim of a desk is a step, not a line, and stays out: with a mean threshold the
    edge of a hand's shadow across a grid joined the grid to the rest of the picture."""
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (_THIN, _THIN))
    closed = cv2.morphologyEx(small, cv2.MORPH_CLOSE, kernel)
    darker = cv2.subtract(closed, small)
    # Relative to the paper around: a line in a shadow is as dark, in proportion.
    dark = (darker.astype(np.float32) > _THIN_CONTRAST * np.maximum(closed, 16)) & (darker > 8)
    return dark.view(np.uint8) * 255


def _looks_like_grid(dark: np.ndarray, corners: np.ndarray) -> bool:
    """A grid, not a photo or a block of colour: its outline is ink nearly all the way
    round, and lines cross it inside."""
    # At the grid's own size: shrunk, a one-pixel wall could fall between samples.
    side = int(np.clip(max(np.linalg.norm(corners - np.roll(corners, 1, axis=0), axis=1)), 50, 1024))
    band = max(6, int(0.03 * side))
    # The outline is looked for a band either side of the corners' straight edges: on a
    # bent page the frame bows out between its corners.
    target = np.array([[0, 0], [side - 1, 0], [side - 1, side - 1], [0, side - 1]],
                      np.float32) + band
    forward = cv2.getPerspectiveTransform(corners, target)
    flat = cv2.warpPerspective(dark.view(np.uint8), forward, (side + 2 * band, side + 2 * band),
                               flags=cv2.INTER_NEAREST)
    rim = 2 * band
    edges = [flat[:rim].max(axis=0), flat[-rim:].max(axis=0),
             flat[:, :rim].max(axis=1), flat[:, -rim:].max(axis=1)]
    if min(float((e[band:-band] > 0).mean()) for e in edges) < 0.8:
        return False
    inside = flat[rim:-rim, rim:-rim] > 0
    if inside.mean() > 0.5:
        return False  # solid colour, not lines
    across_rows = (inside.mean(axis=1) > 0.6).sum()
    across_cols = (inside.mean(axis=0) > 0.6).sum()
    return bool(across_rows + across_cols >= 1)


def _wall_runs(ink: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vertical and horizontal runs of ink a good part of a cell long (a grey opening: the
    weakest ink along each run, so thin faint lines keep some), short enough to follow a
    line bent with the page."""
    length_v = max(15, ink.shape[0] // 12)
    length_h = max(15, ink.shape[1] // 12)
    vertical = cv2.morphologyEx(ink, cv2.MORPH_OPEN,
                                cv2.getStructuringElement(cv2.MORPH_RECT, (1, length_v)))
    horizontal = cv2.morphologyEx(ink, cv2.MORPH_OPEN,
                                  cv2.getStructuringElement(cv2.MORPH_RECT, (length_h, 1)))
    return vertical, horizontal


def _wall_maps(ink: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The pixels of the vertical and horizontal walls (as ``_wall_runs``, thresholded)."""
    vertical, horizontal = _wall_runs(ink)
    return vertical > _WALL_INK, horizontal > _WALL_INK


def _line_positions(profile: np.ndarray) -> list[int]:
    """Where the walls run, from ``profile`` (the mean wall ink along each line of pixels):
    the strong peaks, one per wall; and when the walls are evenly spaced (most grids), the
    most of them that all show at least faintly, which finds the thin lines a shadow or a
    bent page weakened."""
    profile = np.convolve(profile, np.ones(3) / 3, mode="same")
    top = float(profile.max()) if profile.size else 0.0
    if top <= 0:
        return []
    profile = profile / top
    # Between the walls lie paper and writing; a thin wall stands clearly above them.
    faint = max(_FAINT_WALL, 3.0 * float(np.median(profile)))
    size = len(profile)
    gap = max(3, size // 60)
    candidates = np.flatnonzero(profile >= _STRONG_WALL)
    peaks: list[int] = []
    for index in candidates[np.argsort(-profile[candidates], kind="stable")]:
        if all(abs(int(index) - p) > gap for p in peaks):
            peaks.append(int(index))
    peaks.sort()
    if len(peaks) < 2:
        return peaks
    first, span = peaks[0], peaks[-1] - peaks[0]
    even: list[int] | None = None
    for count in range(1, _MOST_CELLS + 1):
        step = span / count
        if step < 8:
            break
        reach = max(2, int(round(0.15 * step)))
        positions = []
        for k in range(count + 1):
            low = max(0, int(round(first + k * step)) - reach)
            window = profile[low: int(round(first + k * step)) + reach + 1]
            local = low + int(np.argmax(window))
            if profile[local] < faint:
                break
            positions.append(local)
        else:
            even = positions  # the largest count that fits wins: its lines include the others'
    if even is None or any(min(abs(p - q) for q in even) > gap for p in peaks):
        return peaks  # an uneven table: its strong lines as they are
    return even


def _split_wide(mask: np.ndarray, box: Box, origin: tuple[int, int]) -> list[Box]:
    """A piece of notes written joined up (``box`` in the grid, ``mask`` the cell's inner
    ink from ``origin``) cut into digits as wide as they are tall at most, at the columns
    with the least ink near the even cuts."""
    x, y, w, h = box
    count = int(round(w / (0.7 * h)))
    if count < 2:
        return [box]
    left, top = x - origin[0], y - origin[1]
    columns = mask[top: top + h, left: left + w].sum(axis=0)
    cuts = [0]
    for k in range(1, count):
        centre, reach = int(k * w / count), max(1, int(0.15 * w / count))
        window = columns[centre - reach: centre + reach + 1]
        cuts.append(centre - reach + int(np.argmin(window)))
    cuts.append(w)
    return [(x + a, y, b - a, h) for a, b in zip(cuts, cuts[1:], strict=False) if b - a >= 2]


def _near(lines: list[int], size: int, reach: float) -> np.ndarray:
    """Which of ``size`` positions lie within ``reach`` of one of ``lines``."""
    near = np.zeros(size, bool)
    for line in lines:
        near[max(0, int(line - reach)): int(line + reach) + 1] = True
    return near


def _union(boxes: list[Box]) -> Box:
    x0 = min(b[0] for b in boxes)
    y0 = min(b[1] for b in boxes)
    x1 = max(b[0] + b[2] for b in boxes)
    y1 = max(b[1] + b[3] for b in boxes)
    return (x0, y0, x1 - x0, y1 - y0)
