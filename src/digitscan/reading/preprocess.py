"""From a picture of paper to an ink map: the first stages of reading.

Each stage is a pure function of arrays, in the order the reader calls them:

1. ``to_grey``            colour or grey uint8 -> grey uint8
2. ``find_sheet`` / ``flatten_sheet``  a sheet photographed on a desk -> the sheet, upright
3. ``ink_is_dark``        which way round the ink is (dark on light, or light on dark)
4. ``ink_strength``       grey -> how much ink each pixel holds, 0 (paper) .. 255 (solid ink),
                          with uneven lighting and paper tint divided out
5. ``ink_mask``           adaptive threshold of the ink map (the grey map is kept for crops)
   ``pattern_dots``       a dotted or checked desk's elements in the mask, to be taken out
6. ``remove_rules``       ruling lines and printed form boxes taken out of the mask

>>> grey = to_grey(image)                             # doctest: +SKIP
>>> ink = ink_strength(grey, dark_ink=ink_is_dark(grey))
>>> mask = ink_mask(ink)
"""

from __future__ import annotations

import bisect
import math
from typing import NamedTuple

import cv2
import numpy as np

from .normalise import stroke_width

__all__ = [
    "dark_border",
    "find_sheet",
    "grey_percentiles",
    "flatten_sheet",
    "SheetCut",
    "cut_out_sheet",
    "isolate_sheet",
    "ink_is_dark",
    "ink_mask",
    "ink_strength",
    "pattern_dots",
    "remove_rules",
    "rule_skew",
    "shows_a_sheet",
    "straighten",
    "to_grey",
    "without_edge_lines",
]

# Paper grain and faint smudges stay below this much ink (of 255, where the darkest ink on
# the page is 255): on blank paper with camera noise the strongest grain is about 30-40.
MIN_INK = 50
# Pixels enough to find the paper's grain and the top of the ink range on a large page.
_INK_SAMPLE = 62_500
# Below this many values np.percentile partitions them all quickly enough.
_BRACKETED_PERCENTILE_SIZE = 8_000
# Pictures up to this size may be one digit cut tight (128 x 128).
_SMALL_CROP_PIXELS = 16_384
# A sheet on a desk is looked for on a copy with this long side, and read from a little
# inside its outline (this share of its size).
_SHEET_SIDE, _SHEET_INSET = 480, 0.98
# A light part of a photo at least this share of the largest one's size may be the same sheet.
_SHEET_PART = 0.25
# The least median grey step across a sheet's outline (3 pixels of the shrunk copy).
_SHEET_EDGE = 3.0
# A side of a sheet's quadrilateral is sharp when the median grey step along it (the largest
# within 3 pixels) reaches this; a shadow's edge across paper stays far below.
_SHARP_SIDE = 16.0
# Paper's fine detail (``_smooth_paper``) stays under this, in grey levels.
_PAPER_DETAIL = 2.5
# A desk's printed dots or checks (``pattern_dots``): a blob filling at least this share of
# its box, with at least this many blobs of its size within this many of its sizes, may be
# one of a pattern.
_PATTERN_FILL, _PATTERN_NEIGHBOURS, _PATTERN_REACH = 0.58, 6, 4.0
# Ink pixels enough to measure a page's skew, and the largest skew looked for (degrees).
_SKEW_SAMPLE, _MAX_SKEW = 12_000, 10.0


def to_grey(image: np.ndarray) -> np.ndarray:
    """Grey uint8 (H, W) from grey or RGB uint8; blue and black pens both come out dark."""
    if image.ndim == 2:
        return image
    return cv2.cvtColor(np.ascontiguousarray(image[..., :3]), cv2.COLOR_RGB2GRAY)


def ink_is_dark(grey: np.ndarray) -> bool:
    """True when the ink is darker than the paper (the usual scan), False for white on black.

    Paper is most of the picture, so the median pixel is paper: it lies nearer the light end
    of the range when the paper is light.
    """
    low, median, high = grey_percentiles(grey, (2, 50, 98))
    if grey.size <= _SMALL_CROP_PIXELS:
        # A crop cut tight around a bold digit can be half ink, and then the median says
        # nothing. But ink is one stroke or two, while the paper around a digit that fills
        # its crop falls apart into corners and loops: the side in fewer pieces is ink.
        # (On thousands of real scans this never chose wrong where the median did.)
        dark = grey < (low + high) / 2
        share = cv2.countNonZero(dark.view(np.uint8)) / grey.size
        if 0.3 < share < 0.7:
            return _pieces(dark, 8) <= _pieces(~dark, 4)
    return bool(median - low >= high - median)


def _pieces(mask: np.ndarray, connectivity: int) -> int:
    """Connected regions of ``mask`` larger than a speck."""
    _, _, stats, _ = cv2.connectedComponentsWithStats(mask.view(np.uint8), connectivity=connectivity)
    return int((stats[1:, cv2.CC_STAT_AREA] >= 2).sum())


def grey_percentiles(grey: np.ndarray, percents: tuple[float, ...]) -> list[float]:
    """Percentiles of a uint8 picture from its histogram (much faster than sorting)."""
    if 4096 <= grey.size < 1 << 24 and grey.ndim == 2:
        # OpenCV's histogram is 3-4 times numpy's bincount on a line or a page (65 -> 20 us
        # on a line picture); it counts in float32, exact below 2**24 pixels a level.
        counts = cv2.calcHist([grey], [0], None, [256], [0, 256]).ravel().astype(np.int64).cumsum()
    else:
        counts = np.bincount(grey.ravel(), minlength=256).cumsum()
    total = int(counts[-1])
    # bisect on a 256-long list answers as np.searchsorted does, in half the time for the
    # two calls made per single-digit crop (measured: 21 -> 11 us each).
    cumulative = counts.tolist()
    return [float(bisect.bisect_left(cumulative, p * (total / 100.0))) for p in percents]


def percentile(values: np.ndarray, percent: float) -> float:
    """``np.percentile(values, percent)`` (linear interpolation) of a large float array,
    without partitioning all of it: a strided sample's percentile brackets the answer, and
    only the values between the brackets are partitioned. The same answer (to rounding);
    measured on line pictures of 20-70 thousand pixels, 270-430 -> about 100 us."""
    flat = values.ravel()
    size = flat.size
    if size < _BRACKETED_PERCENTILE_SIZE:
        return float(np.percentile(flat, percent))
    rank = percent / 100.0 * (size - 1)
    low_rank = int(math.floor(rank))
    high_rank = min(low_rank + 1, size - 1)
    sample = flat[::16]
    # Four standard deviations of a sample quantile's rank either side, so that the
    # bracket misses only by a freak; then the whole array is partitioned as before.
    share = percent / 100.0
    spread = 4.0 * math.sqrt(sample.size * share * (1.0 - share)) + 4.0
    ranks = (max(0, int(share * sample.size - spread)), min(sample.size - 1, int(share * sample.size + spread)))
    bracket = np.partition(sample, ranks)
    low, high = bracket[ranks[0]], bracket[ranks[1]]
    below = int(np.count_nonzero(flat < low))
    between = flat[(flat >= low) & (flat <= high)]
    if not below <= low_rank or below + between.size <= high_rank:
        return float(np.percentile(flat, percent))
    wanted = (low_rank - below, high_rank - below)
    near = np.partition(between, wanted)
    first, second = float(near[wanted[0]]), float(near[wanted[1]])
    return first + (second - first) * (rank - low_rank)


def mask_sums(mask: np.ndarray, axis: int) -> np.ndarray:
    """How many pixels of a boolean mask are set in each column (axis 0) or row (axis 1).
    OpenCV sums in a few microseconds what numpy's sum or mean of booleans takes 30 for, a
    tenth of the planning of a line."""
    if not mask.size:
        return np.zeros(mask.shape[1 - axis], np.int32)
    return cv2.reduce(np.ascontiguousarray(mask).view(np.uint8), axis, cv2.REDUCE_SUM, dtype=cv2.CV_32S).ravel()


def dark_border(grey: np.ndarray, dark_ink: bool = True) -> tuple[int, int, int, int]:
    """The part of a crop of writing inside any dark border along its edges, as (x0, y0,
    x1, y1): a scanner's black margin, the desk or the shadow beside a cut-out register
    cell. A column (row) belongs to the border when most of it is far darker than the
    paper: writing leaves most of every column paper. A crop that is dark nearly
    everywhere (light ink on a dark ground) keeps all of it."""
    height, width = grey.shape[:2]
    if height < 8 or width < 8:
        return 0, 0, width, height
    values = grey if dark_ink else 255 - grey
    paper = grey_percentiles(values, (90,))[0]
    dark = values < 0.55 * paper
    box = [0, 0, width, height]
    for axis, size in ((0, width), (1, height)):
        share = mask_sums(dark, axis) / grey.shape[axis]  # per column (axis 0) or per row (axis 1)
        border = share > 0.6
        start = int(np.argmin(border)) if border[0] else 0
        stop = size - int(np.argmin(border[::-1])) if border[-1] else size
        if border.all() or stop - start < 0.3 * size:
            continue  # dark everywhere, or little left: not a border around writing
        # A few more pixels for the border's soft edge (blur, JPEG).
        margin = max(1, int(0.01 * size))
        start = start + margin if start else 0
        stop = stop - margin if stop < size else size
        box[axis], box[axis + 2] = start, stop
    return box[0], box[1], box[2], box[3]


def ink_strength(grey: np.ndarray, dark_ink: bool = True, page: bool = False) -> np.ndarray:
    """Ink per pixel, uint8: 0 on paper, 255 for the darkest ink, lighting divided out.
    ``page``: a page or a photo of one, where a shadow may fall across the paper (not a crop
    of one line or one digit; see ``_paper_level``).

    Large pictures have their paper level estimated locally (a max filter wider than any pen
    stroke, on a shrunken copy for speed), because a phone photo is brighter on one side;
    ink is then the fraction by which a pixel is darker than the paper around it. Small
    crops (a single digit) have no room for that and use one paper level.
    """
    light = grey.astype(np.float32)
    if not dark_ink:
        light = 255.0 - light
    height, width = light.shape
    if min(height, width) <= 64:
        level = grey_percentiles(grey, (90,) if dark_ink else (10,))[0]
        # One paper level: a scalar does the same float32 sums as a filled array, without
        # building two of them per crop.
        paper_level = np.float32(max(level if dark_ink else 255.0 - level, 1.0))
        ink = (paper_level - light) / max(paper_level, np.float32(16.0))
    else:
        paper = _paper_plane(light) if min(height, width) < 100 else _paper_level(light, page)
        ink = (paper - light) / np.maximum(paper, 16.0)
    if min(height, width) >= 100:
        # Most pixels are paper: their median is the grain of the paper and the bias of the
        # max filter, not ink.
        step = max(1, int(np.sqrt(ink.size / _INK_SAMPLE)))
        ink -= percentile(ink[::step, ::step], 50)
    # In place rather than np.clip (same values): measured 63 -> 40 us per 28x28 crop.
    np.maximum(ink, 0.0, out=ink)
    # The darkest ink becomes 255 so that pencil and marker give the same map.
    # A sample of the pixels is plenty to find the top of the range on a large page.
    step = max(1, int(np.sqrt(ink.size / _INK_SAMPLE)))
    top = percentile(ink[::step, ::step], 99.7) if ink.size > 4000 else float(ink.max())
    if top <= 1e-6:
        # A flat page (a digital one, a scan pasted on white) has no grain at all, and its
        # few digits can cover less than the top 0.3% of it: then the strongest ink counts.
        top = float(ink.max())
        if top <= 1e-6:
            return np.zeros(grey.shape, np.uint8)
    scale = 255.0 / max(top, 0.35)  # a blank page keeps its faint noise faint
    ink *= scale  # never negative now, so only the top needs clipping
    return np.minimum(ink, 255.0, out=ink).astype(np.uint8)


def ink_mask(ink: np.ndarray) -> np.ndarray:
    """Boolean mask of inked pixels: Otsu's threshold on the ink map, never below the noise."""
    if ink.max() < MIN_INK:
        return np.zeros(ink.shape, bool)
    otsu, _ = cv2.threshold(ink, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    # Otsu splits stroke cores from their grey edges; a bit lower keeps thin strokes joined.
    threshold = max(MIN_INK, 0.6 * float(otsu))
    return ink > threshold


def remove_rules(mask: np.ndarray, text_height: float,
                 ink: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Take ruling lines and form-box edges out of ``mask``; return (digits, rules).

    A rule is a thin run of ink much longer than a digit is tall (horizontal) or clearly
    taller than a digit (vertical). Where a digit's stroke crosses a rule, the pixels of the
    rule with digit ink right above and below are given back, so the stroke stays whole.
    ``ink`` (the map ``mask`` was thresholded from), when given, finds faint or dashed
    rules too.
    """
    text_height = max(float(text_height), 6.0)
    height, width = mask.shape
    x, y, w, h = cv2.boundingRect(mask.astype(np.uint8))
    # Each opening reaches at most half its length from the ink, each closing twice its
    # half-length, so outside the ink's box grown by that much nothing can change; the work
    # is done on that window only (measured: a 1-megapixel page with its writing in a
    # quarter of it, 14.5 -> 6 ms per call). The result is the same, pixel for pixel.
    long_h, _, bridge = _rule_lengths(text_height)
    margin = max(long_h // 2, 2 * bridge) + 2
    x0, y0 = max(x - margin, 0), max(y - margin, 0)
    x1, y1 = min(x + w + margin, width), min(y + h + margin, height)
    if w == 0 or (x1 - x0) * (y1 - y0) > 0.8 * height * width:
        return _remove_rules_in(mask, text_height, ink)
    window_digits, window_rules = _remove_rules_in(
        mask[y0:y1, x0:x1], text_height, None if ink is None else ink[y0:y1, x0:x1])
    rules = np.zeros(mask.shape, bool)
    rules[y0:y1, x0:x1] = window_rules
    if not window_rules.any():
        return mask, rules
    digits = np.zeros(mask.shape, bool)
    digits[y0:y1, x0:x1] = window_digits
    return digits, rules


def without_edge_lines(ink: np.ndarray, mask: np.ndarray, text_height: float) -> np.ndarray:
    """``mask`` without long straight strokes at any angle: the edge of a sheet lying on
    another, a fold, a book's gutter, the rules of a second sheet in view. Thresholded as
    ink they break into short dashes, and where they meet they make little "1"s, "4"s and
    "7"s, one per line down the page. A straight run far longer than a digit is tall (found
    at the faint ink level, where it holds together) is no writing. Level rules are
    ``remove_rules``' business; these may lean."""
    text_height = max(float(text_height), 6.0)
    length = max(4.0 * text_height, 40.0)
    faint = (ink > _faint_ink_level(ink)).view(np.uint8)
    segments = cv2.HoughLinesP(faint, 1, np.pi / 360, threshold=int(0.5 * length),
                               minLineLength=int(length), maxLineGap=max(8, int(0.5 * text_height)))
    if segments is None:
        return mask
    segments = segments.reshape(-1, 4).astype(np.float64)
    # Steep ones only: along a line of writing the tops and feet of the digits line up
    # into long level runs that are not strokes to take away (rules are level too, and
    # remove_rules knows them from writing).
    segments = segments[np.abs(segments[:, 3] - segments[:, 1]) >= 0.6 * np.abs(segments[:, 2] - segments[:, 0])]
    segments = segments[~_in_a_pattern(segments, text_height, faint)]
    if not len(segments):
        return mask
    lines = np.zeros(mask.shape, np.uint8)
    for x0, y0, x1, y1 in np.round(segments).astype(int):
        cv2.line(lines, (x0, y0), (x1, y1), 1, 5)
    # Only the mask loses them, which decides where lines of writing are: the line
    # recogniser reads the ink itself, so a digit the line crosses is still read whole.
    kept = mask & ~lines.view(bool)
    # A sheet's edge has paper either side; runs found in a desk's weave have its ink
    # around them, and cut it into pieces the texture's tests then missed.
    lone = [_ink_beside(faint, segment, text_height) < _LONE_LINE for segment in segments]
    if not any(lone):
        return kept
    return kept & ~_dashes_along(kept, segments[lone])


def _ink_beside(faint: np.ndarray, segment: np.ndarray, text_height: float) -> float:
    """``_ink_across`` the straight run (x0, y0, x1, y1)."""
    start, direction = segment[:2], segment[2:] - segment[:2]
    return _ink_across(faint, start, direction, direction / max(math.hypot(*direction), 1e-9),
                       text_height)


# The most pixels per pixel of length a sheet edge's dash holds.
_DASH_THICKNESS = 2.5
# A straight run with less than this share of the faint ink map inked across it (half a
# text height either side) is a lone line: 0.01-0.14 along blank sheets' edges.
_LONE_LINE = 0.2


def _dashes_along(mask: np.ndarray, segments: np.ndarray) -> np.ndarray:
    """The thin pieces of ``mask`` lying wholly on the straight lines through ``segments``
    (within 3 pixels), beyond the runs Hough found as well as along them: where a sheet's
    edge fades, its faint level breaks into dashes too short to join, and each was read as
    a "1" (blank sheets on desks: 4-6 a page). Writing crossed by the line reaches off it,
    a digit on its way is thicker than a dash, and both stay."""
    height, width = mask.shape
    reach = float(height + width)
    along = np.zeros(mask.shape, np.uint8)
    for x0, y0, x1, y1 in segments:
        step = np.array([x1 - x0, y1 - y0]) / max(math.hypot(x1 - x0, y1 - y0), 1e-9)
        start = np.round(np.array([x0, y0]) - reach * step).astype(int)
        end = np.round(np.array([x1, y1]) + reach * step).astype(int)
        cv2.line(along, (int(start[0]), int(start[1])), (int(end[0]), int(end[1])), 1, 7)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.view(np.uint8), connectivity=8)
    if count <= 1:
        return np.zeros(mask.shape, bool)
    # Per piece, its pixels on the lines against all its pixels.
    on_lines = np.bincount(labels[along.view(bool)], minlength=count)
    areas = stats[:, cv2.CC_STAT_AREA]
    # A dash is a line's width thick (area over length: 1-1.5 pixels on those sheets); a
    # digit down whose column Hough found a run is a pen's stroke thick or more (4).
    thin = areas <= _DASH_THICKNESS * np.maximum(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT])
    dashes = (on_lines >= 0.9 * areas) & thin
    dashes[0] = False
    return dashes[labels]


def _in_a_pattern(segments: np.ndarray, text_height: float, faint: np.ndarray,
                  least: int = 6) -> np.ndarray:
    """Which of the straight runs (x0, y0, x1, y1) belong to a printed pattern: at least
    ``least`` distinct runs at the same angle (within 2 degrees) lie within two text heights
    of one another, with paper between them in ``faint`` (the ink map at its faint level),
    as a cheque's hatching does (4-10 pixels apart). A sheet's edge or a fold stands alone;
    a dark border, solid ink, holds runs side by side with no paper between. Taken away at
    five pixels' width, a hatching's runs took the whole mask with them: a cheque's amount,
    plain to see, read as nothing."""
    if len(segments) < least:
        return np.zeros(len(segments), bool)
    starts, ends = segments[:, :2], segments[:, 2:]
    direction = ends - starts
    angle = np.arctan2(direction[:, 1], direction[:, 0]) % np.pi
    unit = direction / np.maximum(np.hypot(direction[:, 0], direction[:, 1]), 1e-9)[:, None]
    middles = (starts + ends) / 2
    lengths = np.hypot(direction[:, 0], direction[:, 1])
    patterned = np.zeros(len(segments), bool)
    # One run at a time against all (memory grows with the runs, not their square).
    for index in range(len(segments)):
        turn = np.abs(angle - angle[index])
        parallel = np.minimum(turn, np.pi - turn) <= math.radians(2.0)
        # Distance of each run's middle from the line through this one, across it.
        relative = middles - starts[index]
        across = relative[:, 0] * unit[index, 1] - relative[:, 1] * unit[index, 0]
        # Runs half as long or longer: a sheet's edge through a shadow's faint streaks
        # lies beside many short runs, a pattern's runs are alike.
        near = parallel & (np.abs(across) <= 2.0 * text_height) & (lengths >= 0.5 * lengths[index])
        # Runs 2 pixels or less apart are one line that Hough found twice.
        distinct = np.unique(np.round(across[near] / 3.0))
        patterned[index] = len(distinct) >= least and _ink_across(
            faint, starts[index], direction[index], unit[index], text_height) < 0.45
    return patterned


def _ink_across(faint: np.ndarray, start: np.ndarray, direction: np.ndarray, unit: np.ndarray,
                text_height: float) -> float:
    """The share of ``faint`` inked across a straight run, half a text height either side,
    sampled at nine places along it."""
    reach = max(2, int(text_height / 2))
    along = start + np.linspace(0.1, 0.9, 9)[:, None] * direction
    normal = np.array([-unit[1], unit[0]])
    points = along[:, None, :] + np.arange(-reach, reach + 1)[None, :, None] * normal
    return float(_pixels_at(faint, points).mean())


def _pixels_at(image: np.ndarray, points: np.ndarray) -> np.ndarray:
    """``image``'s values at the (..., 2) points (x, y), rounded, the picture's edge
    standing in for points beyond it."""
    xs = np.clip(np.round(points[..., 0]).astype(int), 0, image.shape[1] - 1)
    ys = np.clip(np.round(points[..., 1]).astype(int), 0, image.shape[0] - 1)
    return image[ys, xs]


def pattern_dots(mask: np.ndarray) -> np.ndarray | None:
    """The pixels of ``mask`` that are the dots or checks of a printed pattern (a desk, a
    cloth, a book cover seen beside the sheet), or None where there are none.

    A pattern's elements are solid, compact blobs of one size on a lattice: around each,
    lookalikes (size within 30%) lie in pairs exactly opposite each other (to a quarter of
    its size), in two directions at least. Writing is not like that: a digit is rarely
    solid (a 0 or an 8 has holes, a 7 leaves most of its box empty, a 1 is long and thin),
    and where small writing blurs into blobs, the blobs stand at no regular spacing.
    Four-connected, so that the squares of a checkerboard, which touch at their corners,
    stay apart. The lattice's rim (opposite pairs on one side only) and the pieces of
    elements that the pattern's own stripes or the mask's edge cut are taken with it: a
    blob with three elements among its lookalikes, and any blob no larger than an element
    that lies wholly inside the area the elements cover. 3 ms on a 1-MP page, most of it
    finding the blobs."""
    count, labels, stats, centres = cv2.connectedComponentsWithStats(mask.view(np.uint8), connectivity=4)
    width = stats[:, cv2.CC_STAT_WIDTH].astype(np.float64)
    height = stats[:, cv2.CC_STAT_HEIGHT].astype(np.float64)
    area = stats[:, cv2.CC_STAT_AREA].astype(np.float64)
    size = np.maximum(width, height)
    # Solid: filling its box as a disc drawn in pixels does (a disc of radius 3 fills 29 of
    # its 49 pixels; 0.70-0.80 on the dotted desks; at 5 pixels or less any blob counts);
    # compact: not nearly twice as long as wide. Digits blurred into blobs in small writing
    # pass too (0.55-0.59): the lattice keeps them out.
    solid = ((area >= 6) & ((area >= _PATTERN_FILL * width * height) | (size <= 5))
             & (np.minimum(width, height) >= 0.6 * size))
    solid[0] = False
    blobs = np.flatnonzero(solid)
    if len(blobs) <= _PATTERN_NEIGHBOURS:
        return None
    # Left to right, 256 blobs at a time against those within reach across: the work grows
    # with the blobs, not their square (a fine pattern over a large photo has thousands).
    blobs = blobs[np.argsort(centres[blobs, 0], kind="stable")]
    where = centres[blobs].astype(np.float32)
    sizes, areas = size[blobs].astype(np.float32), area[blobs].astype(np.float32)
    lookalikes: list[np.ndarray] = []  # of each blob (indices into ``blobs``), itself among them
    for start in range(0, len(blobs), 256):
        rows = slice(start, start + 256)
        reach_most = _PATTERN_REACH * float(sizes[rows].max())
        lo, hi = np.searchsorted(where[:, 0], [where[start, 0] - reach_most,
                                               where[rows][-1, 0] + reach_most])
        across = where[None, lo:hi, 0] - where[rows, None, 0]
        down = where[None, lo:hi, 1] - where[rows, None, 1]
        reach = sizes[rows, None]
        alike = ((across * across + down * down <= (_PATTERN_REACH * reach) ** 2)
                 & (np.abs(sizes[None, lo:hi] - reach) <= 0.3 * reach + 1)
                 & (np.abs(areas[None, lo:hi] - areas[rows, None]) <= 0.6 * areas[rows, None] + 2))
        lookalikes.extend(lo + np.flatnonzero(row) for row in alike)
    crowded = np.array([len(near) - 1 >= _PATTERN_NEIGHBOURS for near in lookalikes])
    if not crowded.any():
        return None
    # The lattice test costs tens of microseconds a blob: on a fine pattern with tens of
    # thousands of dots, a sample of 2,000 is tested and the rest join as lookalikes of
    # elements (below).
    candidates = np.flatnonzero(crowded)
    tested = candidates[::max(1, math.ceil(len(candidates) / 2000))]
    element = np.zeros(len(blobs), bool)
    element[[i for i in tested if _on_a_lattice(where[lookalikes[i]] - where[i], sizes[i])]] = True
    if not element.any():
        return None
    # The lattice's rim (opposite pairs on one side only) and the blobs left untested: a
    # crowded blob whose lookalikes hold three elements (one, where it was not tested).
    needed = np.full(len(blobs), 3)
    needed[np.setdiff1d(candidates, tested)] = 1
    flat = np.concatenate(lookalikes)  # every blob's list holds itself: none is empty
    starts = np.cumsum([0] + [len(near) for near in lookalikes[:-1]])
    for _ in range(8):
        elements_near = np.add.reduceat(element[flat].astype(np.int32), starts)
        joined = crowded & ~element & (elements_near >= needed)
        if not joined.any():
            break
        element |= joined
    element_of = np.zeros(count, bool)
    element_of[blobs[element]] = True
    if element.sum() >= 2 * _PATTERN_NEIGHBOURS:
        typical = float(np.median(sizes[element]))
        side = int(2 * typical) | 1
        covered = cv2.morphologyEx(element_of[labels].view(np.uint8), cv2.MORPH_CLOSE,
                                   cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (side, side)))
        outside = np.bincount(labels[covered == 0], minlength=count)
        pieces = (outside == 0) & (size <= 1.3 * typical)
        pieces[0] = False
        element_of |= pieces
    return element_of[labels]


def _on_a_lattice(offsets: np.ndarray, size: float) -> bool:
    """Whether lookalikes at ``offsets`` (k, 2) from a blob (itself among them, at 0) stand
    as on a lattice: within 2.5 sizes, two or more pairs exactly opposite each other (to a
    quarter of its size) in directions at least 30 degrees apart."""
    length = np.hypot(offsets[:, 0], offsets[:, 1])
    near = offsets[(length > 0) & (length <= 2.5 * size)]
    if len(near) < 4:
        return False
    opposite = np.hypot(*(near[:, None, :] + near[None, :, :]).transpose(2, 0, 1)) <= 0.25 * size
    first, _ = np.nonzero(np.triu(opposite, 1))
    if len(first) < 2:
        return False
    directions = near[first] / np.hypot(near[first, 0], near[first, 1])[:, None]
    # |sin| of the angle between any two paired directions: 0.5 is 30 degrees.
    sines = np.abs(directions[:, None, 0] * directions[None, :, 1] - directions[:, None, 1] * directions[None, :, 0])
    return bool((sines >= 0.5).any())


def _faint_ink_level(ink: np.ndarray) -> int:
    """Below this, ink along a run is paper: half the mask's threshold, as the opening
    keeps only the weakest pixel of each run."""
    otsu, _ = cv2.threshold(ink, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return int(max(MIN_INK, 0.6 * float(otsu)) // 2)


def _rule_lengths(text_height: float) -> tuple[int, int, int]:
    """Shortest horizontal and vertical rule, and the gap a crossing stroke may bridge."""
    long_h = max(int(round(2.5 * text_height)), 15)
    long_v = max(int(round(1.6 * text_height)), 15)
    bridge = max(3, int(round(text_height * 0.12)))
    return long_h, long_v, bridge


def _remove_rules_in(mask: np.ndarray, text_height: float,
                     ink: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    binary = mask.astype(np.uint8)
    long_h, long_v, bridge = _rule_lengths(text_height)
    # With the ink map at hand, rules are found by a grey opening (the weakest ink along
    # each run) rather than on the mask: a thin rule photographed askew, even once turned
    # level, thresholds into dashes, but its ink never falls to nothing along its length.
    source, level = (binary, 0) if ink is None else (ink, _faint_ink_level(ink))
    horizontal = (cv2.morphologyEx(
        source, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (long_h, 1))
    ) > level).view(np.uint8)
    vertical = (cv2.morphologyEx(
        source, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, long_v))
    ) > level).view(np.uint8)
    # A rule is thin: a thick long blob is more likely a large bold digit stroke.
    across = _thin_only(horizontal, text_height, axis=0)
    rules = across | _thin_only(vertical, text_height, 1) | _box_walls(source, level, across,
                                                                        text_height)
    if not rules.any():
        return mask, rules
    return _give_back_crossings(mask, rules, text_height)


def _give_back_crossings(mask: np.ndarray, rules: np.ndarray, text_height: float
                         ) -> tuple[np.ndarray, np.ndarray]:
    """``mask`` without ``rules``, except where a stroke of writing crosses one (ink right
    above and below it, or either side): those pixels stay, so the stroke stays whole.
    Returns (digits, rules that went)."""
    _, _, bridge = _rule_lengths(text_height)
    digits = mask & ~rules
    digits_binary = digits.view(np.uint8)
    closed_v = cv2.morphologyEx(
        digits_binary, cv2.MORPH_CLOSE,
        cv2.getStructuringElement(cv2.MORPH_RECT, (1, bridge * 2 + 1)),
    ).astype(bool)
    closed_h = cv2.morphologyEx(
        digits_binary, cv2.MORPH_CLOSE,
        cv2.getStructuringElement(cv2.MORPH_RECT, (bridge * 2 + 1, 1)),
    ).astype(bool)
    crossing = rules & mask & (closed_v | closed_h)
    return digits | crossing, rules & ~crossing


def rule_skew(ink: np.ndarray) -> float:
    """The slope angle in degrees (positive: falling to the right) of the page's rules
    (ruled paper, the edges of a form's boxes) or its lines of writing, from the ink map
    ``ink``; 0.0 when it has none or lies level.

    The classic projection test: summed along the right angle, the ink of a long straight
    line piles up in one or two rows, so the sum of squares of the row sums peaks there.
    The mask is thresholded lower than the digits' own, because a thin rule photographed
    askew is faint where it straddles two rows of pixels.
    """
    # Slopes do not change with scale: a large page is looked at a quarter size, for speed.
    step = 2 if min(ink.shape) >= 300 else 1
    small = ink[::step, ::step]
    height, width = small.shape
    if width < 60 or height < 20:
        return 0.0
    rows, cols = np.nonzero(small > _faint_ink_level(small))
    if rows.size < width:  # less ink than one line across the page
        return 0.0
    if rows.size > _SKEW_SAMPLE:
        every = -(-rows.size // _SKEW_SAMPLE)  # an even sample over the page
        rows, cols = rows[::every], cols[::every]
    rows_f, cols_f = rows.astype(np.float64), cols.astype(np.float64) - width / 2

    def sharpness(angle: float) -> float:
        shifted = np.rint(rows_f - cols_f * math.tan(math.radians(angle))).astype(np.int64)
        counts = np.bincount(shifted - shifted.min())
        return float(np.dot(counts, counts))

    coarse = max(np.arange(-_MAX_SKEW, _MAX_SKEW + 0.5, 1.0), key=sharpness)
    best = max(np.arange(coarse - 0.9, coarse + 0.95, 0.1), key=sharpness)
    # Only a clear peak counts: on a page of scattered digits every angle scores alike.
    if sharpness(best) < 1.15 * sharpness(0.0):
        return 0.0
    return float(round(best, 2))


def straighten(image: np.ndarray, angle: float) -> tuple[np.ndarray, np.ndarray]:
    """``image`` turned by ``angle`` degrees (from ``rule_skew``) so its rules lie level, on
    a canvas grown to keep every corner, and the 3x3 homography back to the given picture."""
    height, width = image.shape[:2]
    turn = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
    cos, sin = abs(turn[0, 0]), abs(turn[0, 1])
    new_width = int(math.ceil(width * cos + height * sin))
    new_height = int(math.ceil(width * sin + height * cos))
    turn[0, 2] += (new_width - width) / 2
    turn[1, 2] += (new_height - height) / 2
    level = cv2.warpAffine(image, turn, (new_width, new_height), flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    forward = np.vstack([turn, [0.0, 0.0, 1.0]])
    return level, np.linalg.inv(forward)


def find_sheet(grey: np.ndarray) -> np.ndarray | None:
    """Corners (4, 2) float32 of a sheet of paper photographed on a desk, or None.

    The sheet is the largest light, smooth region whose outline is sharp: it is grown from
    its lightest part out to the nearest strong edge (a watershed), so a shadow falling
    across it (a soft edge) stays inside, while wood grain, weave or a pattern outside
    stays out. None when no clear sheet stands out, or when the sheet already fills the
    picture (a flatbed scan): then there is nothing to undo.
    """
    return _find_sheet(grey)[0]


def _find_sheet(grey: np.ndarray) -> tuple[np.ndarray | None, tuple[np.ndarray, np.ndarray, float] | None,
                                           np.ndarray | None]:
    """``find_sheet``'s corners, and the region (``_sheet_region``) they came from or, with
    no corners, the one ``isolate_sheet`` is to cut out: light and smooth paper where some
    was found, else the light part found first; and the speckled parts of the photo
    (``_speckled``) where it was looked for them (always when there are no corners)."""
    if min(grey.shape) < 200:
        return None, None, None
    # One shrunk copy for every way the sheet is looked for (shrinking 4 MP takes 5 ms).
    copy = _sheet_copy(grey)
    region = _sheet_region(grey, copy=copy)
    corners = _sheet_corners(region)
    if corners is None:
        # On a checked, striped or dotted desk the light squares run into the sheet's outline
        # and no four corners come out: grown from smooth paper alone, they may. (Shaded
        # paper is less often smooth, and the first way keeps it better where it gives
        # corners. 200 simulated desk photos: 93.45 -> 94.11% of numbers exact.)
        even = _sheet_region(grey, even_only=True, copy=copy)
        corners = _sheet_corners(even)
        if corners is None and even is not None:
            # No corners either way: what is cut out is the paper that is light *and*
            # smooth, not the light squares of a patterned desk with it, which were read as
            # rows of 0s and 1s. Desk photos of 200 seeds in each of three ranges, numbers
            # exact: 3000-3199 88.7 -> 90.2%, 7000-7199 92.6 -> 93.4%, 1000-1199 (the range
            # the reader was developed on) 94.8 -> 94.3%; digits read that were never
            # written 493 -> 453.
            region = even
    speckled = None
    if corners is None:
        # A speckled desk (granite, terrazzo, a dotted print) as light as the paper, or
        # lighter: the light region ran out over it. Its specks make it desk.
        speckled = _speckled(grey, copy[0])
        bare = None if speckled is None else _sheet_region(grey, speckled=speckled, copy=copy)
        if bare is not None:
            bare_corners = _sheet_corners(bare)
            if bare_corners is not None or region is None or _holds_speckle(region[1], speckled):
                corners, region = bare_corners, bare
    return corners, region, speckled


def _holds_speckle(inside: np.ndarray, speckled: np.ndarray) -> bool:
    """Whether a sheet's region (0/255) ran out over a speckled desk: one speckled stretch
    of its inside (away from its edge, where the speckle's window reaches in from the desk)
    makes _SPECKLE_HELD of it or more. A region over a real speckled worktop held 15-66%
    (6 photos of sudoku-photos/train), one whose edges only were touched, or whose light
    showed a few speckled patches, 5-6%."""
    inner = cv2.erode(inside, np.ones((11, 11), np.uint8)) > 0
    count, _, stats, _ = cv2.connectedComponentsWithStats((inner & speckled).view(np.uint8), connectivity=8)
    return count > 1 and stats[1:, cv2.CC_STAT_AREA].max() >= _SPECKLE_HELD * max(int(inner.sum()), 1)


def _sheet_corners(region: tuple[np.ndarray, np.ndarray, float] | None) -> np.ndarray | None:
    """The four corners of the sheet found by ``_sheet_region`` in the photo's pixels, or
    None where its outline is not a clean quadrilateral inside the picture."""
    if region is None:
        return None
    small, inside, scale = region
    contours, _ = cv2.findContours(inside, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    outline = max(contours, key=cv2.contourArea)
    hull = cv2.convexHull(outline)
    area = cv2.contourArea(hull)
    for tolerance in (0.02, 0.03, 0.045, 0.06):  # a blurred or curled edge needs more slack
        corners = cv2.approxPolyDP(hull, tolerance * cv2.arcLength(hull, True), True)
        if len(corners) <= 4:
            break
    if len(corners) != 4 or not cv2.isContourConvex(corners):
        return None
    quadrilateral = cv2.contourArea(corners)
    if quadrilateral < 0.85 * area:
        return None  # not a quadrilateral: a sheet and a book page run together, say
    if cv2.contourArea(outline) < 0.85 * area and quadrilateral < 0.95 * area:
        # A bite out of the outline. Where the outline's hull is itself a clean
        # quadrilateral, the bite is a shadow the region left out, and the sheet is still
        # flattened whole (otherwise the shadow was painted over as desk, with the writing
        # in it); where it is not, two sheets run together.
        return None
    smooth = _paper_light(small)  # for both the notch and the bite below
    if cv2.contourArea(outline) < 0.98 * area and _bite_is_desk(smooth, inside, hull, area):
        # Two sheets overlapping make an L whose hull is a quadrilateral too: the notch
        # between them is desk, and flattened with them its texture was read as digits.
        return None
    points = corners.reshape(4, 2).astype(np.float64)
    if _outside(points, small.shape):
        return None  # a corner out of the picture: nothing sure to flatten to
    points = _mended_bite(smooth, points)
    if _crossed_by_writing(small, smooth, points):
        return None
    return _order_corners(points.astype(np.float32) / scale)


# A side of a sheet's quadrilateral with this many strokes across it is no edge of the sheet:
# writing runs on past it. A stroke across reaches this many pixels (of the shrunk copy)
# to either side of it, and runs at most _CROSSING_ALONG pixels along it.
_CROSSINGS, _CROSSING_REACH, _CROSSING_ALONG = 2, 4, 25


def _crossed_by_writing(small: np.ndarray, smooth: np.ndarray, points: np.ndarray) -> bool:
    """Whether writing runs across a side of the quadrilateral ``points`` (4, 2) found in
    the shrunk copy ``small`` (its paper's light: ``smooth``): a side drawn along the edge of
    a lit strip of the page, its shadowed rest left out, rather than along the sheet's
    outline. A real photo (sudoku-photos/val/01_20_iphone_14_0) flattened such a strip and
    read 13 of its 81 digits; the photo read whole reads nearly all. The outlines of the
    other 7 sheets of the 160 real photos flattened from their corners had no stroke across
    any side; a sheet's own edge has paper on one side only."""
    marks = _thin_dark_marks(small, smooth).view(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(marks, connectivity=8)
    if count < 2:
        return False
    for i in range(4):
        start, end = points[i], points[(i + 1) % 4]
        length = float(np.hypot(*(end - start)))
        if length < 1:
            continue
        along = (end - start) / length
        across = np.array([-along[1], along[0]])
        side = np.zeros(marks.shape, np.uint8)
        cv2.line(side, tuple(int(v) for v in start.round()), tuple(int(v) for v in end.round()), 1, 1)
        crossings = 0
        for label in np.unique(labels[(side > 0) & (marks > 0)]):  # marks: never label 0
            x, y, w, h = stats[label, :4]
            ys, xs = np.nonzero(labels[y:y + h, x:x + w] == label)
            offsets = np.stack([xs + x, ys + y], axis=1) - start
            reach, run = offsets @ across, offsets @ along
            if (reach.min() <= -_CROSSING_REACH and reach.max() >= _CROSSING_REACH
                    and np.ptp(run) <= _CROSSING_ALONG):
                crossings += 1
        if crossings >= _CROSSINGS:
            return True
    return False


def _bite_is_desk(smooth: np.ndarray, inside: np.ndarray, hull: np.ndarray, area: float) -> bool:
    """Whether the largest piece the sheet's region leaves out of its convex hull (of
    ``area``), if 2% of it or more, is desk: as light as the desk around it rather than
    the paper, and parted from the paper by the sheets' own sharp edges (median grey step
    along it 64-88 where two sheets lie in an L, against 5-15 along a shadow's bite, a
    phone's dark sharp shadow too)."""
    covered = np.zeros(inside.shape, np.uint8)
    cv2.fillConvexPoly(covered, hull, 1)
    left_out = ((covered > 0) & (inside == 0)).view(np.uint8)
    count, pieces, stats, _ = cv2.connectedComponentsWithStats(left_out, connectivity=4)
    if count < 2 or stats[1:, cv2.CC_STAT_AREA].max() < 0.02 * area:
        return False
    bite = (pieces == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))).view(np.uint8)
    around = (cv2.dilate(covered, np.ones((15, 15), np.uint8)) > 0) & (covered == 0)
    border = (cv2.dilate(bite, np.ones((3, 3), np.uint8)) > 0) & (inside > 0)
    if not around.any() or not border.any():
        return False
    bite_light, desk, paper = (float(np.median(smooth[part])) for part in (bite > 0, around, inside > 0))
    if abs(bite_light - desk) >= abs(bite_light - paper):
        return False
    # The largest step within 2 pixels: the border found a pixel off the edge still counts.
    step = cv2.dilate(cv2.morphologyEx(smooth, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)),
                      np.ones((5, 5), np.uint8))
    return float(np.median(step[border])) >= 2 * _SHARP_SIDE


def _outside(points: np.ndarray, shape: tuple[int, ...]) -> bool:
    """Whether any corner lies out of the picture or within 1% of its edge."""
    margin = 0.01 * max(shape)
    return bool(((points < margin) | (points > np.array(shape[::-1]) - 1 - margin)).any())


def _mended_bite(smooth: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Corners (4, 2), in contour order, with a shadow's bite mended: where one side of the
    quadrilateral is soft (it runs across paper, along a shadow's edge, not along the
    sheet's sharp outline), one of its corners is no corner of the sheet. It is moved to
    where the side before it, carried on, meets a line through the other end parallel to
    the opposite side (a sheet photographed from above is near a parallelogram), if the
    side so made is sharp. Cut along the shadow, the writing in it was lost. ``smooth``:
    the shrunk photo's ``_paper_light``."""
    # The largest step within 3 pixels either side: a side found a pixel or two off the
    # outline still counts as on it.
    step = cv2.dilate(cv2.morphologyEx(smooth, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)),
                      np.ones((7, 7), np.uint8))
    sharpness = [_side_step(step, points[i], points[(i + 1) % 4]) for i in range(4)]
    soft = [i for i in range(4) if sharpness[i] < _SHARP_SIDE]
    if len(soft) != 1:
        return points
    i = soft[0]
    j, k, m = (i + 1) % 4, (i + 2) % 4, (i + 3) % 4  # the soft side runs i -> j
    across = points[m] - points[k]  # the opposite side's direction
    best, best_area = points, cv2.contourArea(points.astype(np.float32))
    for moved, kept, along_from in ((i, j, m), (j, i, k)):
        corner = _meeting(points[along_from], points[moved], points[kept], across)
        if corner is None:
            continue
        mended = points.copy()
        mended[moved] = corner
        area = cv2.contourArea(mended.astype(np.float32))
        if (area > best_area and not _outside(mended, smooth.shape)
                and cv2.isContourConvex(mended.astype(np.float32))
                and _side_step(step, corner, points[kept]) >= _SHARP_SIDE):
            best, best_area = mended, area
    return best


def _side_step(step: np.ndarray, start: np.ndarray, end: np.ndarray) -> float:
    """The median of ``step`` at 40 points along a side, from a tenth to nine tenths."""
    along = start[None] + np.linspace(0.1, 0.9, 40)[:, None] * (end - start)[None]
    return float(np.median(_pixels_at(step, along)))


def _meeting(start: np.ndarray, through: np.ndarray, anchor: np.ndarray,
             direction: np.ndarray) -> np.ndarray | None:
    """Where the line from ``start`` through ``through`` meets the line through ``anchor``
    along ``direction``; None where they are (near) parallel."""
    along = through - start
    matrix = np.array([[along[0], -direction[0]], [along[1], -direction[1]]])
    if abs(np.linalg.det(matrix)) < 1e-6 * (np.hypot(*along) * np.hypot(*direction) + 1e-9):
        return None
    t, _ = np.linalg.solve(matrix, anchor - start)
    return start + t * along


def shows_a_sheet(grey: np.ndarray) -> bool:
    """Whether a picture shows a sheet (or a slip) of paper lighter than a desk around it:
    a photo, not a crop of paper alone."""
    return _sheet_region(grey) is not None


def isolate_sheet(grey: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Only the sheet of a photo of paper on a desk, and the 3x3 homography back to
    ``grey`` (None when ``grey`` is given back as it is: no sheet stands out, or it fills
    the picture).

    A sheet with four clear corners is flattened (``flatten_sheet``); one that is not a
    clean quadrilateral (curled, a corner out of the frame, a second sheet touching it) is
    cut out to its box, the desk around it painted the paper's own shade, so that neither
    the desk's texture is read as writing nor its colour decides the ink's polarity."""
    cut = cut_out_sheet(grey)
    return cut.picture, cut.back


class SheetCut(NamedTuple):
    """What ``cut_out_sheet`` found: the sheet's picture, the homography back to the photo
    (None: the photo as it is), whether the cut is in doubt (``_cut_holds_less_writing``),
    and whether the sheet was flattened from its four corners (else cut out to its box,
    which may hug its writing)."""

    picture: np.ndarray
    back: np.ndarray | None
    in_doubt: bool = False
    flattened: bool = False


def cut_out_sheet(grey: np.ndarray) -> SheetCut:
    """``isolate_sheet``'s answer, saying also when the sheet cut out may have missed the
    writing: it covers a third of the photo or less and holds fewer strokes than the rest
    of the photo (a lit wall or a patch of sun beside a page in shade, taken for the
    sheet). The caller may then read the photo whole as well."""
    corners, region, speckled = _find_sheet(grey)
    if corners is not None:
        # A little inside the outline: its edge, and the desk a corner found a pixel or two
        # out lets in, would be read as strokes along the border.
        centre = corners.mean(axis=0)
        return SheetCut(*flatten_sheet(grey, centre + (corners - centre) * _SHEET_INSET), flattened=True)
    if region is None:
        return SheetCut(grey, None)
    small, inside, scale = region
    inside = _holes_filled(inside)
    # The sheet's own edge is left out with the desk.
    edge = np.ones((7, 7), np.uint8)
    smooth = _paper_light(small)
    # Thin dark marks (strokes, print) against the paper's light closed over them, once for
    # the three questions below.
    marks = _thin_dark_marks(small, smooth)
    in_doubt = False
    if _leaves_the_writing_out(marks, cv2.erode(inside, edge)):
        # The light region is a window or a wall behind the sheet, not the sheet: the rest
        # of the photo is cut out instead, the bare light painted over.
        inside = cv2.erode(255 - inside, edge)
    else:
        inside = cv2.erode(inside, edge)
        in_doubt = _cut_holds_less_writing(marks, inside)
        if in_doubt and speckled is not None:
            # A speckled desk's flecks are marks, some long enough for strokes: they are no
            # writing to go looking for.
            in_doubt = _cut_holds_less_writing(marks & ~speckled, inside)
    x, y, w, h = cv2.boundingRect(inside)
    if w == 0 or h == 0:
        return SheetCut(grey, None)
    box = (slice(y, y + h), slice(x, x + w))
    x0, y0 = int(x / scale), int(y / scale)
    x1 = min(grey.shape[1], int(math.ceil((x + w) / scale)))
    y1 = min(grey.shape[0], int(math.ceil((y + h) / scale)))
    crop = grey[y0:y1, x0:x1]
    back = np.array([[1.0, 0.0, x0], [0.0, 1.0, y0], [0.0, 0.0, 1.0]])
    if _left_out_is_shadowed_paper(smooth, marks, inside, box):
        # What the light region left out of its box is the sheet in a shadow, writing and
        # all: the box is read whole.
        return SheetCut(crop, back, in_doubt)
    # The paper's shade carried out over the desk: the sheet's light (writing closed
    # over) averaged from the nearest parts of the sheet.
    light = cv2.morphologyEx(small, cv2.MORPH_CLOSE,
                             cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7))).astype(np.float32)
    weight = (inside > 0).astype(np.float32)
    spread = max(small.shape) / 20
    near = cv2.GaussianBlur(weight, (0, 0), spread)
    # Far from the sheet, its median shade.
    median = float(np.median(light[inside > 0]))
    paper = ((cv2.GaussianBlur(light * weight, (0, 0), spread) + 0.05 * median)
             / (near + 0.05))
    # The small copy's pixels mapped onto the crop's.
    to_small = np.array([[scale, 0, x0 * scale - x], [0, scale, y0 * scale - y]], np.float32)
    size_full = (crop.shape[1], crop.shape[0])
    keep = cv2.warpAffine(inside[box], to_small, size_full, flags=cv2.INTER_LINEAR
                          | cv2.WARP_INVERSE_MAP) > 127
    shade = cv2.warpAffine(paper[box], to_small, size_full, flags=cv2.INTER_LINEAR
                           | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE)
    sheet = np.where(keep, crop, np.clip(shade, 0, 255).astype(np.uint8))
    return SheetCut(sheet, back, in_doubt)


def _cut_holds_less_writing(marks: np.ndarray, inside: np.ndarray) -> bool:
    """Whether the sheet's region (``inside``, 0/255 in the shrunk photo whose thin dark
    marks are ``marks``) covers a third of the photo or less and holds fewer pixels in
    strokes than the rest of it. On the real sudoku photos (train/ and val/, 160) this
    picked out the photos where a lit wall, a patch of sun or a strip of light beside the
    page in shade was cut out as the sheet and the grid painted over (14 of 81 and 14 of
    38 digits read on the worst), and some where the cut was right (a page photographed
    from afar, a facing page full of print): a doubt, not a verdict."""
    region = inside > 0
    if region.mean() > 1 / 3:
        return False
    # Left out, the writing of those photos made 3.5% of the photo or more in strokes; a
    # blank sheet's desk, closed over, a few dozen to a few hundred pixels (0.2%).
    left_out = _in_strokes(marks & ~region)
    return left_out >= 0.01 * region.size and left_out > _in_strokes(marks & region)


# What a sheet's light region leaves out of its box is paper in a shadow where this share
# of it is even (``_fine_detail``), a share in this range of it thin dark marks
# (``_MARK_CONTRAST``), and this share of those marks in strokes; and it is 1% of the photo
# or more.
_SHADOWED_EVEN, _SHADOWED_MARKS, _SHADOWED_STROKES = 0.55, (0.05, 0.25), 0.72


def _left_out_is_shadowed_paper(smooth: np.ndarray, marks: np.ndarray, inside: np.ndarray,
                                box: tuple[slice, slice]) -> bool:
    """Whether the part of a cut-out sheet's ``box`` in the shrunk photo (its paper's
    light: ``smooth``, its thin dark marks: ``marks``) that its region (``inside``, 0/255) leaves out is the sheet
    in a shadow rather than desk: mostly even, like paper, and marked with strokes, like
    writing. A phone's or a hand's shadow over a sheet photographed close takes it down to
    the desk's shade, and it runs off the picture, so the shadowed part joins no sheet
    (``_with_shadowed_paper``): painted over as desk, its writing was lost (real sudoku
    photos, val/: 6-14 of 81 digits read on the worst). On the 75 photos of train/ and
    val/ whose sheet is cut out, the part left out held 55-87% even paper, 5.8-20% marks
    and 80-96% strokes on those it mended (16 photos, 6-36 more digits each); a desk,
    speckle or a second page left out came under one of the three. A sheet's half in the
    soft shade of a room, blurred by the lens, has fewer of its marks in strokes: 73-78% on
    four more photos, now read whole (0-18 more digits right each, none fewer); the three
    other photos whose part left out passed the rest had 62-69%. Wood grain closed over is
    even too, and its lines are strokes, but they mark the whole of it: 29-32% on two
    simulated desks that passed the rest."""
    left = inside[box] == 0
    if left.sum() < 0.01 * smooth.size:
        return False
    even = (_fine_detail(smooth) < _PAPER_DETAIL)[box]
    if float(even[left].mean()) < _SHADOWED_EVEN:
        return False
    marks = marks[box] & left
    if not _SHADOWED_MARKS[0] * left.sum() <= marks.sum() < _SHADOWED_MARKS[1] * left.sum():
        return False
    return _in_strokes(marks) >= _SHADOWED_STROKES * int(marks.sum())


# Thin dark marks (strokes, printed lines) against the paper's light closed over them, in
# the shrunk copy: darker than that light by this many grey levels.
_MARK_CONTRAST = 24


def _thin_dark_marks(small: np.ndarray, smooth: np.ndarray) -> np.ndarray:
    """The thin dark marks (strokes, print) of the shrunk copy ``small``: pixels
    _MARK_CONTRAST levels or more under its paper's light ``smooth`` (``_paper_light``)."""
    return (smooth.astype(np.int16) - small) > _MARK_CONTRAST


def _leaves_the_writing_out(marks: np.ndarray, inside: np.ndarray) -> bool:
    """Whether the light region to be cut out as the sheet (``inside``, 0/255 in the shrunk
    photo whose thin dark marks are ``marks``) is bare while the rest of the photo
    holds writing: a sheet held up against a window or a white wall, which are lighter than
    the paper. Cut out, the window was read and the sheet painted over (real sudoku photos,
    train/: 5 of 80 read nothing, or nearly).

    Bare: under 1% of the region's pixels are thin dark marks (every sheet of those 80 that
    was read had 5% or more, and their bare windows 0.6% at most). The rest holds writing:
    3% or more of it marked (under a desk texture's cover), ten times the region's marks,
    and those marks are strokes: most of them in thin marks 8 pixels long or more. A desk's
    grain or weave marks the rest of a photo of a blank sheet as much, but falls apart
    into specks at this scale, and a dotted desk's dots are round and full (at most 55% in
    strokes on 660 simulated photos of blank sheets on desks, seeds 3000-3259, 5000-5199
    and 7000-7199; 71-82% for the sheets and print beside those windows)."""
    region = inside > 0
    inside_marks, outside_marks = int(marks[region].sum()), int(marks[~region].sum())
    inside_area, outside_area = int(region.sum()), int(region.size - region.sum())
    if inside_area == 0 or outside_area == 0 or inside_marks >= 0.01 * inside_area:
        return False
    if not (0.03 * outside_area <= outside_marks < 0.15 * outside_area and outside_marks > 10 * inside_marks):
        return False
    return _in_strokes(marks & ~region) >= 0.6 * outside_marks


def _in_strokes(marks: np.ndarray) -> int:
    """How many pixels of the boolean ``marks`` lie in strokes: marks 8 pixels long or more,
    and thin (a stroke covers at most half its box; a printed dot's disc covers three
    quarters)."""
    _, _, stats, _ = cv2.connectedComponentsWithStats(marks.view(np.uint8), connectivity=8)
    widths, heights, areas = stats[1:, cv2.CC_STAT_WIDTH], stats[1:, cv2.CC_STAT_HEIGHT], stats[1:, cv2.CC_STAT_AREA]
    strokes = (np.maximum(widths, heights) >= 8) & (areas <= 0.5 * widths * heights)
    return int(areas[strokes].sum())


def _holes_filled(inside: np.ndarray) -> np.ndarray:
    """A sheet's region (0/255) with its holes filled, but for a pattern's.

    A sheet has no holes: what its region encloses is writing, or a shadow, on it (grown
    from even paper, the region left a hole at each bold number, and the numbers were
    painted over as desk). Only where a ragged outline closed around a dotted desk's dots
    are there many holes of one size: a hole with four or more of its size (within 25%)
    stays a hole."""
    outlines, _ = cv2.findContours(inside, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    filled = cv2.drawContours(np.zeros_like(inside), outlines, -1, 255, cv2.FILLED)
    holes = ((filled > 0) & (inside == 0)).view(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(holes, connectivity=4)
    if count < 2:
        return inside
    areas = stats[:, cv2.CC_STAT_AREA].astype(np.float64)
    ordered = np.sort(areas[1:])
    alike = (np.searchsorted(ordered, 1.25 * areas, side="right")
             - np.searchsorted(ordered, 0.75 * areas, side="left") - 1)
    writing = alike < 4
    writing[0] = False
    return np.where(writing[labels], 255, inside).astype(np.uint8)


def flatten_sheet(image: np.ndarray, corners: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The sheet inside ``corners`` warped to an upright rectangle, and the 3x3 homography
    from the flattened picture back to the original (to report boxes in input pixels)."""
    top_left, top_right, bottom_right, bottom_left = corners
    width = int(round(max(np.linalg.norm(top_right - top_left),
                          np.linalg.norm(bottom_right - bottom_left))))
    height = int(round(max(np.linalg.norm(bottom_left - top_left),
                           np.linalg.norm(bottom_right - top_right))))
    target = np.array([[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]],
                      np.float32)
    forward = cv2.getPerspectiveTransform(corners.astype(np.float32), target)
    flat = cv2.warpPerspective(image, forward, (width, height), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REPLICATE)
    return flat, np.linalg.inv(forward)


# --- private helpers -------------------------------------------------------------------


def _paper_level(light: np.ndarray, page: bool = False) -> np.ndarray:
    height, width = light.shape
    scale = min(1.0, 256.0 / min(height, width))
    # Averaging whole blocks first, then the last fractional step on a small picture, gives
    # nearly the same paper as one fractional step, in a sixth of the time on a 1-MP page.
    factor = max(1, int(min(height, width) // 256))
    if factor > 1:
        light = cv2.resize(light, None, fx=1 / factor, fy=1 / factor, interpolation=cv2.INTER_AREA)
        scale *= factor
    # (At scale 1 the resize would only copy.)
    small = light if scale == 1.0 else cv2.resize(light, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    # 1/12 of the short side is wider than any pen stroke on a page, narrower than the
    # changes of light across it; a big bold digit on a small picture needs more (the
    # window must be wider than the stroke, or the stroke's middle is taken for paper).
    level, dark = cv2.threshold(small.astype(np.uint8), 0, 1, cv2.THRESH_BINARY_INV
                                + cv2.THRESH_OTSU)
    if page:
        # On a page only dark parts clear of the picture's edge are taken for strokes, and the
        # window is twice the stroke (a closing fills what is narrower than its window): a
        # phone's shadow across a sheet, taken for a bold stroke, widened the window until
        # the shaded paper read as ink, and whole lines were lost (simulated desk photos).
        # A crop of one line keeps three times every dark part: a dark border beside the
        # line is trimmed better that way (measured on 80 synthetic lines: 51 exact against 49).
        strokes = _clear_of_edges(dark) if dark.mean() < 0.5 else None
        stroke = stroke_width(strokes) if strokes is not None and strokes.any() else 0.0
        reach = 2.0
    else:
        stroke, reach = (stroke_width(dark) if dark.mean() < 0.5 else 0.0), 3.0
    size = max(5, int(min(small.shape) / 12), int(min(reach * stroke, min(small.shape) / 5))) | 1
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    # A closing rather than a max filter: the paper's light follows a shadow's edge (a
    # hand's or a phone's across the sheet) instead of spilling the lit side's level a
    # window's width into the shadow, where the paper would read as ink.
    if scale == 1.0 and factor == 1:
        # Whole grey levels still (nothing was resized): the closing is the same in 8 bits,
        # where OpenCV's min and max filters run several times faster.
        paper = cv2.morphologyEx(small.astype(np.uint8), cv2.MORPH_CLOSE, kernel).astype(np.float32)
    else:
        paper = cv2.morphologyEx(small, cv2.MORPH_CLOSE, kernel)
    paper = cv2.blur(paper, (size, size))
    if paper.shape == (height, width):
        return paper
    return cv2.resize(paper, (width, height), interpolation=cv2.INTER_LINEAR)


def _clear_of_edges(mask: np.ndarray) -> np.ndarray:
    """``mask`` (uint8 0/1) without its parts that touch the picture's edge."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    height, width = mask.shape
    x, y = stats[:, cv2.CC_STAT_LEFT], stats[:, cv2.CC_STAT_TOP]
    inside = (x > 0) & (y > 0) & (x + stats[:, cv2.CC_STAT_WIDTH] < width) & (y + stats[:, cv2.CC_STAT_HEIGHT] < height)
    inside[0] = False  # the background
    return inside[labels].astype(np.uint8)


def _paper_plane(light: np.ndarray) -> np.ndarray:
    """Paper level as a plane fitted to the lighter half of the pixels: a small picture has
    no room for a local filter wider than its strokes, but light across it still varies.
    ``light`` holds whole grey levels (0-255) as float32."""
    height, width = light.shape
    values = light[::2, ::2]
    # Whole grey levels: the median from their histogram, as np.median gives it.
    counts = np.bincount(values.astype(np.uint8).ravel(), minlength=256).cumsum()
    middle = (int(counts[-1]) - 1) / 2.0
    median = (float(np.searchsorted(counts, math.floor(middle), side="right"))
              + float(np.searchsorted(counts, math.ceil(middle), side="right"))) / 2.0
    paper = values >= median
    # The normal equations of the least-squares plane over the paper pixels, from sums
    # along rows and columns: the sample grid is separable (x across, y down), so no
    # design matrix with a row per pixel is built (360 -> about 100 us per line picture).
    xs = np.arange(0, width, 2, dtype=np.float64)
    ys = np.arange(0, height, 2, dtype=np.float64)
    weight = paper.astype(np.float64)
    lit = np.where(paper, values, 0.0).astype(np.float64)
    per_column, per_row = weight.sum(axis=0), weight.sum(axis=1)
    lit_column, lit_row = lit.sum(axis=0), lit.sum(axis=1)
    sx, sy, n = per_column @ xs, per_row @ ys, float(per_column.sum())
    sxy = ys @ (weight @ xs)
    normal = np.array([[per_column @ (xs * xs), sxy, sx],
                       [sxy, per_row @ (ys * ys), sy],
                       [sx, sy, n]])
    target = np.array([lit_column @ xs, lit_row @ ys, float(lit_column.sum())])
    coef = np.linalg.solve(normal + 1e-9 * np.eye(3), target)
    # Row plus column: the plane without two full-size coordinate grids.
    plane = (coef[0] * np.arange(width))[None, :] + (coef[1] * np.arange(height) + coef[2])[:, None]
    # The lighter half sits above the mean paper level; lift the plane to the paper's top.
    residual = (values - plane[::2, ::2])[paper]
    return (plane + float(np.percentile(residual, 75))).astype(np.float32)


def _box_walls(source: np.ndarray, level: int, across: np.ndarray, text_height: float) -> np.ndarray:
    """Short vertical lines that join a horizontal rule at both ends: the walls between
    the cells of a form. A digit's stroke (a 1) may touch a rule at one end, not at both."""
    walls = np.zeros(source.shape, bool)
    if not across.any():
        return walls
    length = max(int(round(0.8 * text_height)), 8)
    vertical = (cv2.morphologyEx(
        source, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, length))
    ) > level).view(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(vertical, connectivity=8)
    reach = 3
    is_wall = np.zeros(count, bool)
    for label in np.flatnonzero(stats[:, cv2.CC_STAT_WIDTH] <= max(3.0, 0.25 * text_height)):
        if label == 0:
            continue
        x, y, w, h = (int(v) for v in stats[label, :4])
        x0, x1 = max(x - reach, 0), x + w + reach
        top = across[max(y - reach, 0): y + reach, x0:x1].any()
        bottom = across[max(y + h - reach, 0): y + h + reach, x0:x1].any()
        is_wall[label] = top and bottom
    # One look-up over the picture, not one full-size comparison per wall (a form has
    # dozens): measured 12.2 -> 6 ms per 1-megapixel page.
    return is_wall[labels] if is_wall.any() else walls


def _thin_only(lines: np.ndarray, text_height: float, axis: int) -> np.ndarray:
    """The parts of ``lines`` no thicker across than a rule may be (``axis`` 0: horizontal
    lines, measured vertically)."""
    if not lines.any():
        return lines.astype(bool)
    limit = int(max(3.0, 0.25 * text_height))
    across = (1, limit + 1) if axis == 0 else (limit + 1, 1)
    thick = cv2.morphologyEx(lines, cv2.MORPH_OPEN,
                             cv2.getStructuringElement(cv2.MORPH_RECT, across))
    return (lines > 0) & (thick == 0)



def _sheet_copy(grey: np.ndarray) -> tuple[np.ndarray, float]:
    """The shrunk copy of ``grey`` the sheet is looked for in, and its scale."""
    scale = _SHEET_SIDE / max(grey.shape)
    return cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA), scale


def _sheet_region(grey: np.ndarray, even_only: bool = False, speckled: np.ndarray | None = None,
                  copy: tuple[np.ndarray, float] | None = None) -> tuple[np.ndarray, np.ndarray, float] | None:
    """The sheet in a shrunk copy of ``grey``: (the copy, the sheet's mask 0/255 in it, the
    scale of the copy), or None when no sheet stands out from a desk around it.
    ``even_only``: grown from the light parts that are also smooth (``_smooth_paper``),
    not from the largest light part. ``speckled``: parts of the copy that are desk however
    light they are (``_speckled``). ``copy``: ``_sheet_copy(grey)``, where made already."""
    if min(grey.shape) < 200:
        return None
    small, scale = copy if copy is not None else _sheet_copy(grey)
    smooth = _paper_light(small)
    level, bright = cv2.threshold(smooth, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    if speckled is not None:
        bright[speckled] = 0
    inside = _region_of_light(smooth, level, bright, even_only, speckled=speckled)
    if inside is None:
        lighter = _lighter_split(smooth, level)
        if lighter is not None:
            split, lighter_part = lighter
            if speckled is not None:
                lighter_part[speckled] = 0
            inside = _region_of_light(smooth, split, lighter_part, even_only, shadow=level,
                                      speckled=speckled)
    return None if inside is None else (small, inside, scale)


# Speckle, looked for in a copy twice the size of the one the sheet is looked for in (at
# that size a granite-look worktop's flecks run together): dark marks this many grey levels
# under the paper's light (``_paper_light``) and at most this many pixels each, covering
# this share of a window of _SPECKLE_WINDOW pixels around.
_SPECKLE_CONTRAST, _SPECKLE_AREA = 16, 8
_SPECKLE_WINDOW, _SPECKLE_COVER = 41, 0.01
# The cheap first look, in the shrunk copy itself: marks this many levels dark, of at most
# this many pixels, on at least this share of it.
_SPECKLE_CONTRAST_SMALL, _SPECKLE_AREA_SMALL, _SPECKS_SMALL = 12, 4, 0.001
# A speckled desk is one part of at least this share of the photo; parts under
# _SPECKLE_PART of it are left alone. A sheet's region found without heeding speckle is
# given up for one that does where this share of it is speckled (``_holds_speckle``).
_SPECKLED_SHARE, _SPECKLE_PART, _SPECKLE_HELD = 0.1, 0.01, 0.1


def _speckled(grey: np.ndarray, small: np.ndarray) -> np.ndarray | None:
    """The parts of the photo strewn with specks, as a mask the shape of its shrunk copy
    ``small``: a granite-look worktop, terrazzo or a dotted print, as light as paper once
    its specks are closed over, so that the sheet's region ran out over it and its specks were read as
    hundreds of digits. Paper holds strokes, not specks: marks of at most 8 pixels (strokes
    and print join into larger ones) covered 1% of a 41-pixel window around on no part of a
    sheet in 80 real sudoku photos (train/); a speckled desk's did on 18-45% of the photo
    in one piece. None where no speckled part covers 10% of the photo."""
    # First, cheaply, in the shrunk copy: a speckled desk leaves specks of 4 pixels or less
    # there on 0.19% of it or more (20 photos, real and simulated), a clean page on none.
    # Most photos and every scan stop here (a 1-MP page: 4 ms saved).
    if _specks(small, _SPECKLE_CONTRAST_SMALL, _SPECKLE_AREA_SMALL).mean() < _SPECKS_SMALL:
        return None
    scale = 2 * _SHEET_SIDE / max(grey.shape)
    fine = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else grey
    specks = _specks(fine, _SPECKLE_CONTRAST, _SPECKLE_AREA)
    cover = cv2.blur(specks.astype(np.float32), (_SPECKLE_WINDOW, _SPECKLE_WINDOW))
    speckled = (cv2.resize(cover, (small.shape[1], small.shape[0]), interpolation=cv2.INTER_AREA)
                > _SPECKLE_COVER).view(np.uint8)
    count, parts, stats, _ = cv2.connectedComponentsWithStats(speckled, connectivity=8)
    areas = stats[1:, cv2.CC_STAT_AREA]
    if count < 2 or areas.max() < _SPECKLED_SHARE * speckled.size:
        return None
    # Only the large parts: a desk is one broad stretch, while grain, a curtain's weave or
    # a photo's noise leave scattered bits (5-6% of three photos in all, 2% at most in one
    # piece, and taken for desk there they cut pages in two).
    return np.isin(parts, 1 + np.flatnonzero(areas >= _SPECKLE_PART * speckled.size))


def _specks(image: np.ndarray, contrast: int, largest: int) -> np.ndarray:
    """Where ``image`` holds specks: dark marks at least ``contrast`` grey levels under its
    paper's light (``_paper_light``), of at most ``largest`` pixels each."""
    marks = ((_paper_light(image).astype(np.int16) - image) > contrast).view(np.uint8)
    _, labels, stats, _ = cv2.connectedComponentsWithStats(marks, connectivity=8)
    small_enough = stats[:, cv2.CC_STAT_AREA] <= largest
    small_enough[0] = False
    return small_enough[labels]


def _lighter_split(smooth: np.ndarray, level: float) -> tuple[float, np.ndarray] | None:
    """A second threshold among the pixels lighter than ``level``, and what lies above it,
    where those pixels hold two clearly different shades (25 grey levels apart or more),
    else None.

    A hand's or a phone's dark shadow is the darkest thing in a photo: Otsu's threshold
    then parts the shadow from the desk and the sheet together, a mid-grey desk (green
    cloth, a pink tablecloth) passes as paper, no sheet stands out, and the desk's weave
    was read as hundreds of digits on a blank sheet. Among the lighter pixels the sheet
    parts from the desk."""
    # All from the histogram of the lighter shades (a few hundred numbers, not the pixels).
    counts = cv2.calcHist([smooth], [0], None, [256], [0, 256]).ravel().astype(np.float64)
    counts[: int(level) + 1] = 0.0
    total = counts.sum()
    if total < 0.5 * smooth.size:
        return None  # the first threshold left much of the photo dark already
    shades = np.arange(256, dtype=np.float64)
    # Otsu's threshold among them: the split with the largest variance between the parts.
    below, below_sum = np.cumsum(counts), np.cumsum(counts * shades)
    above, above_sum = total - below, below_sum[-1] - below_sum
    with np.errstate(divide="ignore", invalid="ignore"):
        between = below * above * (below_sum / below - above_sum / above) ** 2 / total ** 2
    between = np.nan_to_num(between)
    second = int(np.argmax(between))
    upper, lower = above[second], below[second]
    if upper < 0.04 * smooth.size or lower == 0:
        return None
    if above_sum[second] / upper - below_sum[second] / lower < 25:
        return None
    # Two shades, each even (desk and sheet), not light falling off across one page: the
    # split explains nearly all the spread (0.96-0.97 on such photos, 0.75 for an even
    # spread of shades).
    mean = below_sum[-1] / total
    spread = float((counts * (shades - mean) ** 2).sum() / total)
    if between[second] < 0.9 * spread:
        return None
    return second, ((smooth > second) * 255).astype(np.uint8)


def _region_of_light(smooth: np.ndarray, level: float, bright: np.ndarray,
                     even_only: bool, shadow: float | None = None,
                     speckled: np.ndarray | None = None) -> np.ndarray | None:
    """The sheet's mask (0/255) grown from the parts of ``smooth`` lighter than ``level``
    (``bright``), or None; see ``_sheet_region``. ``shadow``: the level under which a dark
    shadow lies (``_lighter_split``)."""
    bright = cv2.morphologyEx(bright, cv2.MORPH_OPEN, np.ones((5, 5), np.uint8))
    total = smooth.shape[0] * smooth.shape[1]
    even: np.ndarray | None = None  # the even paper, made once where both below need it
    if even_only:
        even = _fine_detail(smooth) < _PAPER_DETAIL
        paper = _smooth_paper(even, bright, total)
        papers = [] if paper is None else [paper]
    else:
        count, labels, stats, _ = cv2.connectedComponentsWithStats(bright, connectivity=4)
        if count < 2:
            return None
        areas = stats[1:, cv2.CC_STAT_AREA]
        if areas.max() < 0.04 * total:
            return None
        # A shadow across the sheet cuts its light part in two: each large part about as
        # light as the largest is the sheet's, so that the shadow between them is not taken
        # for the desk. (A light desk's brightest patches pass Otsu's threshold too, but
        # stay nearer it than to the paper.) Where those parts together grow into no sheet
        # (a light dotted desk joined to one of them), the largest alone is tried.
        shade = np.bincount(labels.ravel(), weights=smooth.ravel())[1:] / np.maximum(areas, 1)
        largest = int(np.argmax(areas))
        parts = (areas >= _SHEET_PART * areas[largest]) & (shade >= level + 0.5 * (shade[largest] - level))
        papers = [labels == 1 + largest]
        if parts.sum() > 1:
            papers.insert(0, np.isin(labels, 1 + np.flatnonzero(parts)))
    for paper in papers:
        inside = _grown_sheet(smooth, bright, paper, even, shadow, speckled)
        if inside is not None:
            return inside
    return None


def _paper_light(small: np.ndarray) -> np.ndarray:
    """The shrunk photo with writing, wood grain and weave (thin and dark) closed over and
    smoothed: the paper's light and the desk's colour."""
    closed = cv2.morphologyEx(small, cv2.MORPH_CLOSE,
                              cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7)))
    return cv2.GaussianBlur(closed, (5, 5), 0)


def _grown_sheet(smooth: np.ndarray, bright: np.ndarray, paper: np.ndarray,
                 even: np.ndarray | None = None, shadow: float | None = None,
                 speckled: np.ndarray | None = None) -> np.ndarray | None:
    """The sheet's mask (0/255) grown from ``paper`` (light parts of the shrunk photo
    ``smooth``) out to the nearest strong edge, or None where it is no sheet on a desk.
    ``shadow``: the level under which a dark shadow lies, partly on the sheet.
    ``speckled``: the speckled parts of the photo, desk that may be lighter than paper."""
    total = smooth.shape[0] * smooth.shape[1]
    # Seeds: the paper's inside, well away from its edge; the desk: what is dark outside
    # the paper's convex outline (a shadow on the sheet darkens parts inside it), and the
    # picture's rim there.
    sure_paper = cv2.erode(paper.view(np.uint8), np.ones((9, 9), np.uint8)) > 0
    if not sure_paper.any():
        return None
    outline = np.zeros(smooth.shape, np.uint8)
    # The hull of the outlines' points is the hull of all the paper's pixels, from a few
    # hundred points instead of every pixel (measured 35 -> under 1 ms on a 1-MP page).
    contours, _ = cv2.findContours(paper.view(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    cv2.fillConvexPoly(outline, cv2.convexHull(np.concatenate(contours)), 1)
    near_paper = cv2.dilate(outline, np.ones((15, 15), np.uint8)) > 0
    rim = np.zeros(smooth.shape, bool)
    rim[:2], rim[-2:], rim[:, :2], rim[:, -2:] = True, True, True, True
    sure_desk = ((bright == 0) | rim) & ~near_paper
    if not sure_desk.any():
        return None  # the paper fills the picture: a scan
    markers = np.zeros(smooth.shape, np.int32)
    markers[sure_desk] = 1
    markers[sure_paper] = 2
    cv2.watershed(cv2.cvtColor(smooth, cv2.COLOR_GRAY2BGR), markers)
    inside = ((markers == 2) * 255).astype(np.uint8)
    area = cv2.countNonZero(inside)
    if area < 0.05 * total or area > 0.9 * total:
        return None
    # A sheet is clearly lighter than the desk around it, and its outline is sharp. A dark
    # shadow lying partly on the sheet is left out of the sheet's light (it took a sheet on
    # green cloth from 36 levels lighter than the cloth to 24).
    ring = (cv2.dilate(inside, np.ones((15, 15), np.uint8)) > 0) & (inside == 0)
    on_sheet = smooth[inside > 0]
    if shadow is not None and (on_sheet > shadow).any():
        on_sheet = on_sheet[on_sheet > shadow]
    if not ring.any():
        return None
    # (Or it is smooth, the desk around it speckled.)
    speckled_around = speckled is not None and float(speckled[ring].mean()) >= 0.5
    if float(on_sheet.mean()) - float(np.median(smooth[ring])) < 25 and not speckled_around:
        return None
    # Sharp: a phone's light falling off across a plain page makes a lighter part too, whose
    # edge is soft (the median step across the outline, inside the picture, was 2 grey
    # levels there against 39-75 along 30 simulated sheets on desks but one, at 5); cut
    # out, it lost the lines below it.
    edge = (inside > 0) & (cv2.erode(inside, np.ones((3, 3), np.uint8)) == 0)
    edge[:3], edge[-3:], edge[:, :3], edge[:, -3:] = False, False, False, False
    step = cv2.morphologyEx(smooth, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8))
    # Not where the outline runs across writing: bold strokes the closing left give steps
    # as large as a sheet's edge (the lighter half of a page lit from one side was cut out
    # along a line of writing, its median step 8, and the lines above it were lost).
    writing = cv2.morphologyEx(smooth, cv2.MORPH_BLACKHAT, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (15, 15)))
    edge &= cv2.dilate((writing > 10).view(np.uint8), np.ones((5, 5), np.uint8)) == 0
    if edge.any() and float(np.median(step[edge])) < _SHEET_EDGE:
        return None
    return _with_shadowed_paper(smooth, inside, even)


def _with_shadowed_paper(smooth: np.ndarray, inside: np.ndarray,
                         even: np.ndarray | None = None) -> np.ndarray:
    """The sheet's mask (0/255) with the part of it in a shadow taken back.

    Grown from light paper, the sheet stopped at the edge of a hand's or a phone's shadow
    across it; cut out, the shadowed part was painted over as desk, with the writing in it.
    Paper is even in the shadow too, and its outline stays sharp there, while a shadow's
    edge is soft: so the even part of the photo (``_fine_detail``) that the sheet found
    lies mostly in (30% or more) reaches into the shadow up to the sheet's own edge and
    stops there. What it adds is taken where it is large (1% of the photo or more, beyond
    slivers 9 pixels thick along the outline) and does not run along the picture's rim
    (an even desk joined to the sheet would). 200 simulated desk photos in each of three
    ranges, numbers exact: 1000-1199 94.3 -> 95.6%, 3000-3199 91.5 -> 92.4%, 7000-7199
    94.0 -> 94.2%."""
    total = inside.size
    if even is None:
        even = _fine_detail(smooth) < _PAPER_DETAIL
    count, labels = cv2.connectedComponents(even.view(np.uint8), connectivity=4)
    within = np.bincount(labels[inside > 0], minlength=count)
    mostly_sheet = within >= 0.3 * np.bincount(labels.ravel(), minlength=count)
    mostly_sheet[0] = False
    added = (mostly_sheet[labels] & (inside == 0)).view(np.uint8)
    if not added.any():
        return inside
    count, pieces = cv2.connectedComponents(added, connectivity=4)
    thick = cv2.morphologyEx(added, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (9, 9)))
    large = np.bincount(pieces[thick > 0], minlength=count) >= 0.01 * total
    large[0] = False
    if not large.any():
        return inside
    shadowed = large[pieces]
    rim = np.zeros(inside.shape, bool)
    rim[:3], rim[-3:], rim[:, :3], rim[:, -3:] = True, True, True, True
    if (shadowed & rim).sum() > 0.1 * rim.sum():
        return inside
    # A sharp step inside it is the edge of one sheet lying on another, not a shadow's.
    # (Written for one such blank photo, this test did not decide it, and has decided none
    # of 1,260 photos since: the sheet's edge there is soft in the shadow.)
    interior = cv2.erode(shadowed.view(np.uint8), np.ones((9, 9), np.uint8)) > 0
    step = cv2.morphologyEx(smooth, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8))
    if int((step[interior] >= _SHARP_SIDE).sum()) >= max(20, 0.005 * int(interior.sum())):
        return inside
    # Closed, so that the soft band between the lit and the shadowed paper stays in.
    whole = cv2.morphologyEx(((inside > 0) | shadowed).view(np.uint8), cv2.MORPH_CLOSE,
                             cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (15, 15)))
    if cv2.countNonZero(whole) > 0.9 * total:
        return inside
    return whole * 255


def _smooth_paper(even: np.ndarray, bright: np.ndarray, total: int) -> np.ndarray | None:
    """The paper among the light parts of a shrunk photo: light *and* smooth (paper is even
    where writing is closed over; a checked, striped or dotted desk is not, though its light
    squares pass the threshold), every such part as large as a sheet (a shadow across the
    sheet, or a second sheet, splits it). None when no part is that smooth and large.
    ``even``: where the shrunk photo's fine detail (``_fine_detail``) is under paper's."""
    # The sheet's sharp edge has fine detail too: the band the window leaves out along it
    # is taken back below.
    light_and_even = ((bright > 0) & even).view(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(light_and_even, connectivity=4)
    if count < 2:
        return None
    areas = stats[1:, cv2.CC_STAT_AREA]
    kept = (areas >= 0.04 * total) & (areas >= 0.15 * areas.max())
    if not kept.any():
        return None
    # Back out to the light pixels just beside them: the 15-pixel window left out a band
    # along every edge, a shadow's soft one too.
    near = cv2.dilate(np.concatenate([[0], kept]).astype(np.uint8)[labels],
                      cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (15, 15)))
    return (bright > 0) & (near > 0)


def _fine_detail(smooth: np.ndarray) -> np.ndarray:
    """Detail between 1.5 and 5 pixels across, averaged over 15 (float32, grey levels): a
    pattern's squares, stripes and dots have it, paper and a shadow's soft edge have not."""
    values = smooth.astype(np.float32)
    detail = np.abs(cv2.GaussianBlur(values, (0, 0), 1.5) - cv2.GaussianBlur(values, (0, 0), 5.0))
    return cv2.blur(detail, (15, 15))


def _order_corners(points: np.ndarray) -> np.ndarray:
    sums = points.sum(axis=1)
    diffs = points[:, 1] - points[:, 0]
    return np.array([points[np.argmin(sums)], points[np.argmin(diffs)],
                     points[np.argmax(sums)], points[np.argmax(diffs)]], np.float32)
