"""A scan simulator: MNIST test digits written as numbers onto paper, then photographed.

It makes pages whose true text is known, under named conditions, so the reader can be
measured on far more than the few real pages we have. Everything follows from the seed.

Conditions (``CONDITIONS``):

* ``clean``      black pen on white paper, flatbed-like
* ``blue_pen``   blue ink on tinted paper with texture
* ``pencil``     faint grey graphite with grain
* ``photo``      uneven lighting, blur, noise, JPEG, a small rotation and perspective
* ``desk``       the sheet photographed lying on a desk, 25-60% of the frame: wood, fabric,
  leather or a printed pattern, curled paper in perspective, often a second sheet or a
  book page beside it and the shadow of a hand or a phone
* ``ruled``      written on ruled paper, digits sitting on the rules
* ``form_boxes`` each digit in the printed box of a form (a comb of cells)
* ``touching``   neighbouring digits overlap and touch
* ``broken``     strokes with gaps (a dry pen, a bad threshold)
* ``hard``       photo + ruled or boxes + touching or broken, all at once
* ``askew_form``  a form's boxes or ruled paper photographed 2-6 degrees off level
* ``cheque``     an amount field on a cheque: light coloured hatching or guilloche, often a
  printed box or underline, digits tight and often touching, and the marks writers add
  around numbers ("$1,500.00", "15,000/-", "12/05/2023", a rupee sign) which the text
  leaves out: it holds only the digits ("15000"); sometimes photographed
* ``register``   a column crop of a ruled ledger on yellowed paper: one number a row (3-8
  rows, 1-7 digits), written on or between the printed rules, table lines beside them, and
  the scanner's dark border along the left or right edge
* ``dense``      long numbers (4-12 digits) written close: most neighbours overlap by 5-25%
  of a digit's width, each number with its own slant

Each condition has its usual amount of text (``cheque``: 1-3 lines of one number; the
others 1-3 lines of 1-2 numbers); ``lines``, ``numbers_per_line`` and ``digits_per_number``
override it.

>>> scan = simulate_scan("photo", seed=3, digits=load_mnist("test"))  # doctest: +SKIP
>>> scan.image.shape, scan.text
((412, 980, 3), '5301 77\\n120946')
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .mnist import MnistSplit

__all__ = ["CONDITIONS", "HARD_CONDITIONS", "SimulatedScan", "simulate_scan"]

CONDITIONS = ("clean", "blue_pen", "pencil", "photo", "desk", "ruled", "form_boxes",
              "touching", "broken", "hard", "askew_form", "cheque", "register", "dense")
HARD_CONDITIONS = ("photo", "desk", "ruled", "form_boxes", "touching", "broken", "hard",
                   "askew_form", "cheque", "register", "dense")

# (lines, numbers per line, digits per number) a condition writes unless told otherwise.
_USUAL_TEXT = {
    "cheque": ((1, 3), (1, 1), (3, 8)),
    "register": ((3, 8), (1, 1), (1, 7)),
    "dense": ((1, 3), (1, 2), (4, 12)),
}
_PLAIN_TEXT = ((1, 3), (1, 2), (2, 7))

_INK_COLOURS = {
    "black": (25.0, 25.0, 30.0),
    "blue": (25.0, 45.0, 150.0),
    "pencil": (95.0, 95.0, 100.0),
}
_RULE_COLOUR = (120.0, 150.0, 200.0)
# Pale inks of cheque security printing: blue, green, pink.
_SECURITY_COLOURS = ((140.0, 180.0, 225.0), (150.0, 210.0, 170.0), (230.0, 160.0, 190.0))

# Marks writers put around numbers, which the text leaves out: (width, height, drop below
# the baseline) as shares of the digit height, and the strokes as polylines in a unit box.
_MARKS: dict[str, tuple[float, float, float, list[list[tuple[float, float]]]]] = {
    ",": (0.15, 0.4, 0.25, [[(0.9, 0.0), (0.75, 0.45), (0.1, 1.0)]]),
    ".": (0.0, 0.0, 0.0, [[(0.5, 0.5)]]),
    "/": (0.5, 1.0, 0.05, [[(0.0, 1.0), (1.0, 0.0)]]),
    "-": (0.5, 0.0, -0.45, [[(0.0, 0.5), (1.0, 0.5)]]),
    "=": (0.5, 0.25, -0.35, [[(0.0, 0.0), (1.0, 0.0)], [(0.0, 1.0), (1.0, 1.0)]]),
    "$": (0.55, 1.2, 0.1, [
        [(0.9, 0.2), (0.6, 0.1), (0.25, 0.13), (0.1, 0.3), (0.35, 0.48), (0.7, 0.56),
         (0.9, 0.74), (0.7, 0.9), (0.35, 0.92), (0.05, 0.8)],
        [(0.5, 0.0), (0.5, 1.0)],
    ]),
    # The rupee sign: two bars, a bowl, and a leg.
    "rupee": (0.6, 1.0, 0.0, [
        [(0.0, 0.05), (1.0, 0.05)],
        [(0.0, 0.3), (1.0, 0.3)],
        [(0.3, 0.05), (0.6, 0.1), (0.75, 0.3), (0.6, 0.48), (0.3, 0.55), (0.05, 0.55)],
        [(0.15, 0.55), (0.85, 1.0)],
    ]),
}


@dataclass(frozen=True)
class SimulatedScan:
    """A simulated page: RGB uint8 picture, the true text (lines by \\n, numbers by a
    space), the digit boxes (x, y, w, h) before any photo distortion, and the condition."""

    image: np.ndarray
    text: str
    boxes: list[tuple[int, int, int, int]]
    condition: str


def simulate_scan(condition: str, seed: int, digits: MnistSplit,
                  lines: tuple[int, int] | None = None, digit_height: tuple[int, int] = (28, 56),
                  numbers_per_line: tuple[int, int] | None = None,
                  digits_per_number: tuple[int, int] | None = None) -> SimulatedScan:
    """One page under ``condition`` from MNIST ``digits``; the same seed, the same page.
    Ranges left as None are the condition's usual ones."""
    if condition not in CONDITIONS:
        raise ValueError(f"unknown condition {condition!r}: expected one of {CONDITIONS}")
    usual_lines, usual_numbers, usual_digits = _USUAL_TEXT.get(condition, _PLAIN_TEXT)
    lines = lines or usual_lines
    numbers_per_line = numbers_per_line or usual_numbers
    digits_per_number = digits_per_number or usual_digits
    rng = np.random.default_rng(seed)
    features = _features(condition, rng)
    height = int(rng.integers(digit_height[0], digit_height[1] + 1))
    layout_lines: list[list[list[int]]] = []
    for _ in range(int(rng.integers(lines[0], lines[1] + 1))):
        count = int(rng.integers(numbers_per_line[0], numbers_per_line[1] + 1))
        layout_lines.append([
            [int(i) for i in rng.integers(
                0, len(digits), int(rng.integers(digits_per_number[0], digits_per_number[1] + 1))
            )]
            for _ in range(count)
        ])
    if condition == "cheque":
        ink, boxes, printed, text = _write_cheque(layout_lines, digits, height, features, rng)
    elif condition == "register":
        ink, boxes, printed, text = _write_register(layout_lines, digits, height, features, rng)
    else:
        writing = _write(layout_lines, digits, height, features, rng)
        ink, boxes, text = writing.ink, writing.boxes, writing.text
        printed = [(writing.rules, _RULE_COLOUR)]
    image = _on_paper(ink, printed, features, rng)
    if condition == "register":
        image, shift = _scanner_border(image, rng)
        boxes = [(left + shift, top, w, h) for left, top, w, h in boxes]
    if condition == "desk":
        image = _on_desk(image, rng)
    if features["photo"]:
        image = _photograph(image, rng, tilted=condition == "askew_form")
    return SimulatedScan(image, text, boxes, condition)


# --- private helpers -------------------------------------------------------------------


def _features(condition: str, rng: np.random.Generator) -> dict[str, object]:
    hard = condition == "hard"
    # crowding: the most a digit overlaps its left neighbour, as a share of its width.
    plain = {"crowding": 0.0, "slant": False, "aged": False}
    if condition == "askew_form":
        boxes = bool(rng.random() < 0.5)
        return {"pen": str(rng.choice(["black", "blue"])), "photo": True, "ruled": not boxes,
                "boxes": boxes, "touching": False, "broken": False, "texture": True, **plain}
    if condition in _USUAL_TEXT:
        pen = str(rng.choice(["black", "blue"]))
        return {"pen": pen, "photo": condition == "cheque" and bool(rng.random() < 0.3),
                "ruled": False, "boxes": False, "touching": False, "broken": False,
                "texture": True, "crowding": {"cheque": 0.15, "dense": 0.25}.get(condition, 0.0),
                "slant": condition == "dense", "aged": condition == "register"}
    return {
        "pen": "blue" if condition == "blue_pen" else "pencil" if condition == "pencil"
        else str(rng.choice(["black", "blue"])) if condition in ("photo", "desk", "hard")
        else "black",
        "photo": condition in ("photo", "desk", "hard"),
        "ruled": condition == "ruled" or (hard and rng.random() < 0.5),
        "boxes": condition == "form_boxes",
        "touching": condition == "touching" or (hard and rng.random() < 0.5),
        "broken": condition == "broken" or (hard and rng.random() < 0.5),
        "texture": condition in ("blue_pen", "pencil", "photo", "desk", "hard"),
        **plain,
    }


def _digit_shape(image: np.ndarray, height: int, rng: np.random.Generator) -> np.ndarray:
    """An MNIST digit cut to its ink, scaled to ``height`` with a little size jitter."""
    values = image.astype(np.float32) / 255.0
    rows = np.flatnonzero(values.max(axis=1) > 0.1)
    cols = np.flatnonzero(values.max(axis=0) > 0.1)
    values = values[rows[0]: rows[-1] + 1, cols[0]: cols[-1] + 1]
    target = height * rng.uniform(0.85, 1.1)
    scale = target / values.shape[0]
    width = max(2, int(round(values.shape[1] * scale)))
    return np.clip(cv2.resize(values, (width, int(round(target))),
                              interpolation=cv2.INTER_CUBIC), 0, 1)


@dataclass(frozen=True)
class _Writing:
    """Digits written on a blank sheet: ink and rules (0-1), the digit boxes, the text, and
    where each line sits: its baseline, and the leftmost and rightmost ink x."""

    ink: np.ndarray
    rules: np.ndarray
    boxes: list[tuple[int, int, int, int]]
    text: str
    baselines: list[int]
    spans: list[tuple[int, int]]
    line_step: int


def _write(layout_lines: list[list[list[int]]], digits: MnistSplit, height: int,
           features: dict[str, object], rng: np.random.Generator,
           marks: list[list[dict[int, tuple[str, ...]]]] | None = None) -> _Writing:
    """Write the numbers line by line; ``marks[line][number][position]`` are the marks
    (``_MARKS``) written before that digit (position len(number): after the number)."""
    margin = int(height * rng.uniform(1.0, 2.0))
    line_step = int(height * rng.uniform(1.7, 2.3))
    cell = int(height * 1.35)
    placed: list[tuple[np.ndarray, int, int]] = []
    boxes: list[tuple[int, int, int, int]] = []
    rule_rows: list[int] = []
    cells: list[tuple[int, int]] = []
    text_lines: list[str] = []
    baselines: list[int] = []
    spans: list[tuple[int, int]] = []
    crowding = float(features["crowding"])  # type: ignore[arg-type]
    y_base = margin + height
    right_edge = 0
    for line, numbers in enumerate(layout_lines):
        x = margin + int(rng.integers(0, height))
        first_placed = len(placed)
        words = []
        for number, word in enumerate(numbers):
            word_marks = marks[line][number] if marks else {}
            slant = rng.uniform(-0.15, 0.45) if features["slant"] else 0.0
            for position, index in enumerate(word):
                x = _write_marks(word_marks.get(position, ()), x, y_base, height, rng, placed)
                shape = _digit_shape(digits.images[index], height, rng)
                # Spacing is measured on the upright digit: slanted neighbours lean alike.
                upright_width = shape.shape[1]
                if slant:
                    shape = _slant(shape, slant)
                if features["broken"] and rng.random() < 0.5:
                    shape = _break_strokes(shape, rng)
                h, w = shape.shape
                if features["boxes"]:
                    left = x + (cell - w) // 2
                    cells.append((x, y_base - cell + int(0.1 * height)))
                    top = y_base - h
                    x += cell
                else:
                    left = x
                    top = y_base - h + int(rng.integers(-height // 10, height // 10 + 1))
                    if crowding and position and rng.random() < 0.8:
                        left -= int(round(upright_width * rng.uniform(0.05, crowding)))
                    elif features["touching"] and position and rng.random() < 0.6:
                        left -= int(rng.integers(1, max(2, w // 5)))
                    gap = rng.uniform(0.0, 0.06) if crowding else rng.uniform(0.08, 0.35)
                    x = left + upright_width + int(height * gap)
                placed.append((shape, max(left, 0), max(top, 0)))
                boxes.append((max(left, 0), max(top, 0), w, h))
            x = _write_marks(word_marks.get(len(word), ()), x, y_base, height, rng, placed)
            words.append("".join(str(int(digits.labels[i])) for i in word))
            x += int(height * rng.uniform(2.0, 3.5))
        right_edge = max(right_edge, x)
        baselines.append(y_base)
        spans.append((min(left for _, left, _ in placed[first_placed:]),
                       max(left + shape.shape[1] for shape, left, _ in placed[first_placed:])))
        rule_rows.append(y_base + 1)
        text_lines.append(" ".join(words))
        y_base += line_step
    width = right_edge + margin
    total_height = y_base - line_step + margin
    ink = np.zeros((total_height, width), np.float32)
    for shape, left, top in placed:
        h, w = shape.shape
        region = ink[top: top + h, left: left + w]
        np.maximum(region, shape[: region.shape[0], : region.shape[1]], out=region)
    rules = np.zeros_like(ink)
    thickness = max(1, height // 25)
    if features["ruled"]:
        for row in rule_rows:
            rules[row: row + thickness, :] = 0.55
    if features["boxes"]:
        for left, top in cells:
            cv2.rectangle(rules, (left, top), (left + cell, top + cell), 0.8, thickness)
    return _Writing(ink, rules, boxes, "\n".join(text_lines), baselines, spans, line_step)


def _write_marks(symbols: tuple[str, ...], x: int, baseline: int, height: int,
                 rng: np.random.Generator, placed: list[tuple[np.ndarray, int, int]]) -> int:
    """Place ``symbols`` from ``x`` on; returns where the writing goes on."""
    for symbol in symbols:
        patch, drop = _mark(symbol, height, rng)
        placed.append((patch, x, max(baseline - patch.shape[0] + drop, 0)))
        x += patch.shape[1] + int(height * rng.uniform(0.02, 0.15))
    return x


def _mark(symbol: str, height: int, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """A hand-drawn mark from ``_MARKS`` (0-1 ink) and how far it reaches below the baseline."""
    width_share, height_share, drop_share, strokes = _MARKS[symbol]
    size = height * rng.uniform(0.85, 1.1)
    # MNIST strokes are about an eighth of the digit's height.
    stroke = max(2, int(round(size * rng.uniform(0.09, 0.13))))
    inner_w, inner_h = int(round(size * width_share)), int(round(size * height_share))
    canvas = np.zeros((inner_h + 2 * stroke, inner_w + 2 * stroke), np.uint8)
    for polyline in strokes:
        unit = np.array(polyline, np.float64) + rng.normal(0, 0.04, (len(polyline), 2))
        points = np.round(stroke + unit * (inner_w, inner_h)).astype(np.int32)
        if len(points) == 1:
            cv2.circle(canvas, tuple(int(v) for v in points[0]), max(1, stroke // 2 + 1), 255,
                       -1, cv2.LINE_AA)
        else:
            cv2.polylines(canvas, [points], False, 255, stroke, cv2.LINE_AA)
    return canvas.astype(np.float32) / 255.0, int(round(size * drop_share))


def _slant(shape: np.ndarray, slant: float) -> np.ndarray:
    """The digit sheared so its top leans right by ``slant`` of its height (left if < 0)."""
    h, w = shape.shape
    lean = abs(slant) * h
    matrix = np.float32([[1, -slant, lean if slant > 0 else 0], [0, 1, 0]])
    return cv2.warpAffine(shape, matrix, (w + int(np.ceil(lean)), h), flags=cv2.INTER_LINEAR)


def _write_cheque(layout_lines: list[list[list[int]]], digits: MnistSplit, height: int,
                  features: dict[str, object], rng: np.random.Generator
                  ) -> tuple[np.ndarray, list[tuple[int, int, int, int]],
                             list[tuple[np.ndarray, tuple[float, float, float]]], str]:
    """Amounts and dates with their separators, on security printing, some in a printed box
    or on a printed line; returns the ink, digit boxes, printed layers and text."""
    marks = [[_cheque_marks(len(word), line > 0, rng) for word in numbers]
             for line, numbers in enumerate(layout_lines)]
    writing = _write(layout_lines, digits, height, features, rng, marks)
    h, w = writing.ink.shape
    security = _security_pattern((h, w), height, rng)
    colour = _SECURITY_COLOURS[int(rng.integers(len(_SECURITY_COLOURS)))]
    field = np.zeros((h, w), np.float32)
    thickness = max(1, height // 25)
    for baseline, (left, right) in zip(writing.baselines, writing.spans, strict=True):
        kind = rng.choice(["box", "underline", "none"], p=[0.4, 0.4, 0.2])
        pad = int(height * rng.uniform(0.2, 0.6))
        if kind == "box":
            cv2.rectangle(field, (left - pad, baseline - int(1.45 * height)),
                          (right + pad, baseline + int(0.35 * height)), 1.0, thickness)
        elif kind == "underline":
            row = baseline + int(rng.integers(0, max(2, height // 10)))
            field[row: row + thickness, max(left - pad, 0): right + pad] = 1.0
    field_colour = (70.0, 80.0, 110.0) if rng.random() < 0.5 else colour
    printed = [(security, colour), (field * 0.8, field_colour)]
    return writing.ink, writing.boxes, printed, writing.text


def _cheque_marks(length: int, may_be_date: bool, rng: np.random.Generator
                  ) -> dict[int, tuple[str, ...]]:
    """Where a writer puts separators in a number of ``length`` digits: a date's slashes, or
    an amount's currency sign, thousands separators, decimal point and ending."""
    if may_be_date and length in (6, 8) and rng.random() < 0.6:
        separator = str(rng.choice(["/", "-", "."]))
        return {2: (separator,), 4: (separator,)}
    marks: dict[int, tuple[str, ...]] = {}
    currency = str(rng.choice(["", "$", "rupee"], p=[0.4, 0.3, 0.3]))
    if currency:
        marks[0] = (currency,)
    whole = length
    if length >= 3 and rng.random() < 0.3:
        whole = length - 2
        marks[whole] = (".",)
    else:
        ending = rng.choice(["", "/-", "-", "="], p=[0.4, 0.3, 0.2, 0.1])
        if ending:
            marks[length] = tuple(str(ending))
    if rng.random() < 0.6:
        separator = "," if whole < length or rng.random() < 0.75 else "."
        # Indian grouping (1,50,000) is common on rupee amounts.
        group = 2 if currency == "rupee" and rng.random() < 0.5 else 3
        position = whole - 3
        while position > 0:
            marks[position] = (separator,)
            position -= group
    return marks


def _security_pattern(shape: tuple[int, int], height: int, rng: np.random.Generator
                      ) -> np.ndarray:
    """Light cheque background (0-1 coverage): fine diagonal hatching, or guilloche-like
    bundles of sine waves, over a faint tint."""
    h, w = shape
    canvas = np.zeros((h, w), np.uint8)
    if rng.random() < 0.5:
        spacing = int(rng.integers(4, 10))
        lean = h if rng.random() < 0.5 else -h
        for start in range(-h, w + h, spacing):
            cv2.line(canvas, (start, 0), (start + lean, h), 255, 1, cv2.LINE_AA)
    else:
        xs = np.arange(w, dtype=np.float64)
        for _ in range(2):
            period = height * rng.uniform(0.8, 3.0)
            amplitude = height * rng.uniform(0.15, 0.6)
            spacing = int(rng.integers(4, 12))
            phase = rng.uniform(0, 2 * np.pi)
            drift = rng.uniform(0.05, 0.4)  # each wave shifted a little from the one above
            for k, offset in enumerate(range(-int(amplitude), h + int(amplitude), spacing)):
                ys = offset + amplitude * np.sin(2 * np.pi * xs / period + phase + k * drift)
                points = np.round(np.c_[xs, ys]).astype(np.int32)
                cv2.polylines(canvas, [points], False, 255, 1, cv2.LINE_AA)
    coverage = canvas.astype(np.float32) / 255.0 * rng.uniform(0.3, 0.6)
    return np.maximum(coverage, rng.uniform(0.05, 0.25))


def _write_register(layout_lines: list[list[list[int]]], digits: MnistSplit, height: int,
                    features: dict[str, object], rng: np.random.Generator
                    ) -> tuple[np.ndarray, list[tuple[int, int, int, int]],
                               list[tuple[np.ndarray, tuple[float, float, float]]], str]:
    """One number a row of a ledger column, on or between printed rules, with the column's
    table lines either side; returns the ink, digit boxes, printed layers and text."""
    writing = _write(layout_lines, digits, height, features, rng)
    h, w = writing.ink.shape
    thickness = max(1, height // 25)
    # On the rule: digits sit on it and cross it now and then; between: they float above it.
    offset = 1 if rng.random() < 0.5 else int(height * rng.uniform(0.15, 0.4))
    rules = np.zeros((h, w), np.float32)
    step = writing.line_step
    for row in range((writing.baselines[0] + offset) % step, h, step):
        rules[row: row + thickness, :] = 1.0
    rule_colour = (120.0, 150.0, 200.0) if rng.random() < 0.5 else (140.0, 140.0, 145.0)
    columns = np.zeros((h, w), np.float32)
    # Ledger columns are narrow: the table lines run close beside the longest numbers.
    left = min(left for left, _ in writing.spans) - int(height * rng.uniform(0.15, 0.6))
    right = max(right for _, right in writing.spans) + int(height * rng.uniform(0.15, 0.6))
    lines = [left, right] + ([left - 3 * thickness] if rng.random() < 0.4 else [])
    for x in lines:
        columns[:, max(x, 0): max(x, 0) + thickness] = 1.0
    # Ledgers often print the column lines red.
    column_colour = (200.0, 90.0, 90.0) if rng.random() < 0.4 else rule_colour
    printed = [(rules * rng.uniform(0.5, 0.85), rule_colour),
               (columns * rng.uniform(0.6, 0.9), column_colour)]
    return writing.ink, writing.boxes, printed, writing.text


def _scanner_border(image: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """A dark band (3-15% of the final width) added along the left or right edge, as a
    scanner's lid leaves beside a page; returns the picture and how far the page moved."""
    h, w = image.shape[:2]
    share = rng.uniform(0.03, 0.15)
    band = max(2, int(round(w * share / (1 - share))))
    on_left = bool(rng.random() < 0.5)
    level = rng.uniform(10, 70)
    dark = np.full((h, band, 3), level, np.float32)
    dark += rng.normal(0, 4, (h, band, 1)).astype(np.float32)
    picture = np.concatenate([dark, image.astype(np.float32)] if on_left
                             else [image.astype(np.float32), dark], axis=1)
    # The page's edge casts a soft shadow a few pixels into the paper.
    soft = max(2, band // 4)
    fade = np.linspace(1.0, 0.0, soft, dtype=np.float32)[:, None] ** 2
    columns = np.arange(band, band + soft) if on_left else np.arange(w - 1, w - 1 - soft, -1)
    picture[:, columns] = picture[:, columns] * (1 - fade) + level * fade
    return np.clip(picture, 0, 255).astype(np.uint8), band if on_left else 0


def _break_strokes(shape: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One thin gap across the digit, mostly horizontal, as a dry pen or a harsh threshold
    leaves."""
    broken = shape.copy()
    h, w = shape.shape
    band = max(1, h // 18)
    if rng.random() < 0.7:
        row = int(rng.integers(h // 5, 4 * h // 5))
        broken[row: row + band, :] = 0
    else:
        col = int(rng.integers(w // 4, max(w // 4 + 1, 3 * w // 4)))
        broken[:, col: col + band] = 0
    return broken


def _on_paper(ink: np.ndarray, printed: list[tuple[np.ndarray, tuple[float, float, float]]],
              features: dict[str, object], rng: np.random.Generator) -> np.ndarray:
    """Paper, then the ``printed`` layers ((0-1 coverage, colour), in order), then the ink."""
    h, w = ink.shape
    white = rng.uniform(215, 250)
    tint = rng.uniform(0, 12)  # paper leans yellow, never pink or green
    if features["aged"]:
        white -= rng.uniform(5, 20)
        tint += rng.uniform(15, 35)
    paper_colour = np.array([white, white - tint * 0.3, white - tint], np.float32)
    paper = np.ones((h, w, 3), np.float32) * paper_colour
    if features["texture"]:
        grain = cv2.GaussianBlur(rng.normal(0, 6, (h, w)).astype(np.float32), (0, 0), 1.5)
        paper += grain[..., None]
    pen = str(features["pen"])
    strength = ink * (rng.uniform(0.45, 0.7) if pen == "pencil" else rng.uniform(0.85, 1.0))
    if pen == "pencil":
        strength *= np.clip(rng.normal(1.0, 0.25, ink.shape), 0.3, 1.3).astype(np.float32)
    colour = np.array(_INK_COLOURS[pen], np.float32)
    picture = paper
    for coverage, print_colour in printed:
        layer = coverage[..., None]
        picture = picture * (1 - layer) + np.array(print_colour, np.float32) * layer
    picture = picture * (1 - strength[..., None]) + colour * strength[..., None]
    return np.clip(picture, 0, 255).astype(np.uint8)


def _on_desk(sheet: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The sheet lying on a desk as people photograph it: the sheet 25-60% of the frame,
    curled, in perspective and turned; the desk wood, fabric, leather or a printed pattern
    (a granite-look laminate's flecks among them), light or dark; often a second sheet or
    a book's page beside it, and the shadow of a hand or a phone across both."""
    h, w = sheet.shape[:2]
    share = rng.uniform(0.25, 0.6)
    aspect = rng.choice([4 / 3, 3 / 4]) if rng.random() < 0.8 else w / h
    frame_area = h * w / share
    frame_w = int(np.sqrt(frame_area * aspect))
    frame_h = int(frame_area / frame_w)
    # The whole sheet in view, whatever its shape and turn.
    frame_w, frame_h = max(frame_w, int(1.15 * w + 0.15 * h)), max(frame_h, int(1.15 * h + 0.15 * w))
    desk = _desk_surface((frame_h, frame_w), rng)
    picture = desk
    if rng.random() < 0.6:
        # Another sheet or a book's page, partly in view, beside or under the sheet.
        other_h, other_w = int(h * rng.uniform(0.9, 1.4)), int(w * rng.uniform(0.6, 1.2))
        other = np.ones((other_h, other_w, 3), np.float32) * rng.uniform(205, 245, 3)
        other += rng.normal(0, 3, (other_h, other_w, 1)).astype(np.float32)
        if rng.random() < 0.5:  # faint ruling or a book's printed lines, too thin for digits
            for y in range(int(rng.integers(10, 30)), other_h, int(rng.integers(18, 34))):
                other[y:y + 1] *= rng.uniform(0.75, 0.92)
        side = rng.choice([-1, 1])
        centre = (frame_w / 2 + side * rng.uniform(0.45, 0.8) * (w + other_w) / 2,
                  frame_h / 2 + rng.uniform(-0.3, 0.3) * frame_h)
        picture = _lay(picture, other, centre, rng.uniform(-12, 12), 0.0, rng)
    centre = (frame_w / 2 + rng.uniform(-0.5, 0.5) * (frame_w - 1.15 * w - 0.15 * h) / 2,
              frame_h / 2 + rng.uniform(-0.5, 0.5) * (frame_h - 1.15 * h - 0.15 * w) / 2)
    picture = _lay(picture, _curled(sheet.astype(np.float32), rng), centre,
                   rng.uniform(-8, 8), 0.1 * min(h, w), rng)
    if rng.random() < 0.6:
        picture = _cast_shadow(picture, rng)
    return np.clip(picture, 0, 255).astype(np.uint8)


def _desk_surface(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A desk, float32 RGB: wood grain, fabric weave, leather, or a printed pattern (checks,
    stripes, dots, or a granite-look laminate's flecks)."""
    height, width = shape
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    kind = rng.choice(["wood", "fabric", "leather", "pattern"])
    turn = rng.uniform(0, np.pi)
    along = np.cos(turn) * xs + np.sin(turn) * ys
    across = -np.sin(turn) * xs + np.cos(turn) * ys

    def smooth_noise(scale: float) -> np.ndarray:
        coarse = rng.normal(0, 1, (max(2, int(height / scale)), max(2, int(width / scale))))
        return cv2.resize(coarse.astype(np.float32), (width, height), interpolation=cv2.INTER_CUBIC)

    if kind == "wood":
        # Grain: thin dark lines along the board, wavering, with knots of rings.
        period = rng.uniform(4, 14)
        waver = smooth_noise(rng.uniform(30, 90)) * rng.uniform(3, 12)
        grain = 0.5 + 0.5 * np.sin(2 * np.pi * (across + waver) / period)
        fine = smooth_noise(2.0) * 0.15
        value = 1.0 - rng.uniform(0.15, 0.45) * grain ** 3 + fine
        colour = rng.uniform([90, 55, 25], [200, 150, 100])
    elif kind == "fabric":
        period = rng.uniform(3, 7)
        weave = (np.sin(2 * np.pi * along / period) * np.sin(2 * np.pi * across / period))
        value = 1.0 + rng.uniform(0.08, 0.25) * weave + smooth_noise(1.5) * 0.08
        colour = rng.uniform(30, 200, 3)
    elif kind == "leather":
        cells = cv2.GaussianBlur(rng.normal(0, 1, (height, width)).astype(np.float32), (0, 0),
                                 rng.uniform(1.5, 3.5))
        creases = np.abs(cells) < 0.05 * float(cells.std() + 1e-6) * 4
        value = 1.0 - rng.uniform(0.15, 0.35) * creases + smooth_noise(40) * 0.05
        colour = rng.uniform([40, 25, 15], [140, 95, 70])
    else:
        # A printed pattern: checks, stripes, dots, or the flecks of a granite-look laminate
        # or terrazzo (real sudoku photos on such a worktop read its flecks as hundreds of
        # digits).
        period = rng.uniform(10, 50)
        style = rng.integers(0, 4)
        if style == 3:
            value = _fleck_brightness(height, width, rng) + smooth_noise(2.0) * 0.04
            colour = rng.uniform(60, 235, 3)
        else:
            if style == 0:
                mark = (np.floor(along / period) + np.floor(across / period)) % 2
            elif style == 1:
                mark = (np.floor(across / period) % 2).astype(np.float32)
            else:
                mark = ((along % period - period / 2) ** 2 + (across % period - period / 2) ** 2
                        < (0.3 * period) ** 2).astype(np.float32)
            mark = cv2.GaussianBlur(mark.astype(np.float32), (0, 0), 0.8)
            value = 1.0 - rng.uniform(0.2, 0.5) * mark + smooth_noise(2.0) * 0.04
            colour = rng.uniform(60, 220, 3)
    # Light or dark, sometimes as light as the paper's shadowed side.
    colour = colour * rng.uniform(0.5, 1.15)
    return np.clip(value[..., None] * colour.astype(np.float32), 0, 255).astype(np.float32)


def _fleck_brightness(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """Brightness of a speckled surface around 1.0: dark and light flecks of mixed sizes
    (1-6 pixels across, some clumped), scattered at random over 2-45% of it, some faint,
    some as dark as ink."""
    value = np.ones((height, width), np.float32)
    for sign in (-1.0, 1.0):
        for _ in range(int(rng.integers(1, 4))):
            size = rng.uniform(0.6, 2.5)
            cover = rng.uniform(0.02, 0.15)
            seeds = (rng.random((height, width)) < cover / (7 * size * size)).astype(np.float32)
            seeds *= rng.uniform(0.3, 1.0, (height, width)).astype(np.float32)
            spots = cv2.GaussianBlur(seeds, (0, 0), size) * (2 * np.pi * size * size)
            depth = rng.uniform(0.25, 0.7) if sign < 0 else rng.uniform(0.05, 0.25)
            value += sign * depth * np.clip(1.6 * spots, 0, 1)
    return value


def _curled(sheet: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The sheet curled: its rows bent by a smooth wave, and shaded where it turns away."""
    h, w = sheet.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    phase = rng.uniform(0, 2 * np.pi)
    waves = rng.uniform(0.3, 1.0)
    bend = rng.uniform(0, 0.03) * min(h, w)
    lift = np.sin(2 * np.pi * waves * xs / w + phase)
    map_y = ys + bend * lift
    map_x = xs + 0.5 * bend * np.sin(2 * np.pi * waves * ys / h + phase)
    curled = cv2.remap(sheet, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    shade = 1.0 - rng.uniform(0, 0.12) * (0.5 + 0.5 * np.cos(2 * np.pi * waves * xs / w + phase))
    return curled * shade[..., None]


def _lay(picture: np.ndarray, sheet: np.ndarray, centre: tuple[float, float], angle: float,
         tilt: float, rng: np.random.Generator) -> np.ndarray:
    """``sheet`` laid on ``picture`` at ``centre``, turned by ``angle`` degrees and seen in
    perspective (corners moved up to ``tilt`` pixels); parts may fall outside the frame."""
    h, w = sheet.shape[:2]
    source = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    turn = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    target = np.c_[source, np.ones(4)] @ turn.T
    target += np.array(centre) - np.array([w / 2, h / 2])
    target += rng.uniform(-tilt, tilt, (4, 2)) if tilt > 0 else 0.0
    matrix = cv2.getPerspectiveTransform(source, target.astype(np.float32))
    size = (picture.shape[1], picture.shape[0])
    warped = cv2.warpPerspective(sheet, matrix, size)
    cover = cv2.warpPerspective(np.ones((h, w), np.float32), matrix, size)[..., None]
    return warped * cover + picture * (1 - cover)


def _cast_shadow(picture: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The soft shadow of a hand (an arm with a rounded end) or a phone (a rounded
    rectangle) falling in from an edge of the frame."""
    h, w = picture.shape[:2]
    mask = np.zeros((h, w), np.uint8)
    reach = rng.uniform(0.25, 0.6)
    if rng.random() < 0.5:
        # A hand: a thick arm from the bottom or a side, its end a round palm.
        start = (int(rng.uniform(0.2, 0.8) * w), h + 20)
        end = (int(start[0] + rng.uniform(-0.3, 0.3) * w), int(h * (1 - reach)))
        thick = int(rng.uniform(0.12, 0.25) * min(h, w))
        cv2.line(mask, start, end, 255, thick)
        cv2.circle(mask, end, int(thick * 0.8), 255, -1)
    else:
        side = int(rng.integers(0, 4))
        box_w, box_h = int(rng.uniform(0.2, 0.35) * w), int(reach * h)
        x = int(rng.uniform(0, w - box_w))
        y = -20 if side % 2 == 0 else h - box_h + 20
        cv2.rectangle(mask, (x, y), (x + box_w, y + box_h), 255, -1)
    softness = rng.uniform(0.01, 0.04) * max(h, w)
    shadow = cv2.GaussianBlur(mask.astype(np.float32) / 255.0, (0, 0), softness)
    return picture * (1.0 - rng.uniform(0.25, 0.55) * shadow[..., None])


def _photograph(image: np.ndarray, rng: np.random.Generator, tilted: bool = False) -> np.ndarray:
    h, w = image.shape[:2]
    picture = image.astype(np.float32)
    # Light falls off across the sheet and towards one corner.
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = (np.cos(angle) * xs / w + np.sin(angle) * ys / h)
    ramp = (ramp - ramp.min()) / max(float(ramp.max() - ramp.min()), 1e-6)
    picture *= (1.0 - rng.uniform(0.2, 0.45) * ramp)[..., None]
    # A small rotation and perspective, as from a hand-held phone.
    jitter = 0.03 * min(h, w)
    source = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    target = source + rng.uniform(-jitter, jitter, (4, 2)).astype(np.float32)
    # Tilted: the phone held clearly off level, 2-6 degrees either way.
    angle = rng.choice([-1, 1]) * rng.uniform(2, 6) if tilted else rng.uniform(-4, 4)
    rotation = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    target = (np.c_[target, np.ones(4)] @ rotation.T).astype(np.float32)
    matrix = cv2.getPerspectiveTransform(source, target)
    picture = cv2.warpPerspective(picture, matrix, (w, h), borderMode=cv2.BORDER_REPLICATE)
    picture = cv2.GaussianBlur(picture, (0, 0), rng.uniform(0.6, 1.4))
    picture += rng.normal(0, rng.uniform(3, 8), picture.shape).astype(np.float32)
    picture = np.clip(picture, 0, 255).astype(np.uint8)
    quality = int(rng.integers(40, 80))
    ok, encoded = cv2.imencode(".jpg", picture[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
    return cv2.imdecode(encoded, cv2.IMREAD_COLOR)[..., ::-1].copy() if ok else picture
