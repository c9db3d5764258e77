"""The line synthesiser: lines of handwritten numbers on paper that looks like real paper,
with their true text, to train the line recogniser on.

Real numbers defeat a reader trained on clean ones: cheque amounts sit on hatching and
guilloche waves, between a currency sign and a "/-"; register entries sit beside ruling,
table lines and the dark border of a scanner; people write digits close enough to touch.
So every line here is drawn with a random mix of those things, from handwritten digits
(MNIST's *training* digits: the benchmark uses its test digits), and then goes through the
reader's own steps (``ink_strength``, ``line_band``, ``line_input``), so the network is
trained on exactly what reading will show it.

The truth holds only digits and number breaks: separators ("1,500.00", "15000/-", "$"),
printed words and lines are there to be skipped.

>>> picture, text = synthesise_line(np.random.default_rng(0), digit_images, digit_labels)  # doctest: +SKIP
>>> text                                                                                   # doctest: +SKIP
'4021 77'
"""

from __future__ import annotations

import cv2
import numpy as np

from ..reading.lines import band_of, line_band, line_input
from ..reading.preprocess import dark_border, ink_strength

__all__ = ["make_line_set", "synthesise_line"]

_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_WORDS = ("RUPEES", "Rs.", "DATE", "D D M M Y Y Y Y", "AMOUNT", "PAY", "ONLY", "No.", "TOTAL",
          "A/C", "BANK", "ORDER", "BEARER", "Kg", "cm", "NAME", "MARKS", "ROLL", "Sr.")


def synthesise_line(rng: np.random.Generator, images: np.ndarray, labels: np.ndarray
                    ) -> tuple[np.ndarray, str]:
    """One picture of a line (grey uint8, dark ink on light paper) and its true text."""
    height = int(rng.integers(18, 60))  # digit height in pixels
    stroke = max(1, round(height / rng.uniform(7.0, 12.0)))
    spacing = rng.choice(["touching", "close", "normal", "wide"], p=[0.25, 0.25, 0.3, 0.2])
    thin_pen = rng.random() < 0.25  # a fine pen: strokes far thinner than MNIST's at this size
    numbers = _numbers(rng)
    canvas_h = int(height * rng.uniform(2.2, 3.2))
    baseline = int(canvas_h * rng.uniform(0.55, 0.7))
    width_guess = int(sum(len(n) for n in numbers) * height * 1.3 + len(numbers) * height * 3 + 4 * height)
    ink = np.zeros((canvas_h, width_guess), np.float32)
    x = int(height * rng.uniform(0.2, 1.5))
    text_parts: list[str] = []
    slant = rng.normal(0.0, 0.18)
    # Now and then a printed number (a form's pre-filled field, a meter, a sudoku's clues):
    # one typeface for the whole line, upright, even sizes.
    font = _print_font(rng) if rng.random() < 0.08 else None
    if font is not None:
        slant = 0.0 if rng.random() < 0.7 else rng.normal(0.0, 0.1)
        spacing = rng.choice(["close", "normal", "wide"], p=[0.3, 0.5, 0.2])
    currency = rng.random() < 0.3
    for number_index, number in enumerate(numbers):
        if number_index:
            # Numbers stand clearly further apart than the digits inside them.
            x += int(height * (rng.uniform(0.7, 2.0) + (0.6 if spacing == "wide" else 0.0)))
        if currency and (number_index == 0 or rng.random() < 0.3):
            x = _currency_sign(ink, x, baseline, height, stroke, rng)
        bracket = rng.random() < 0.04
        if bracket:
            x = _bracket(ink, x, baseline, height, stroke, True)
        separator_every = (2 if rng.random() < 0.2 else 3) if rng.random() < 0.25 else 0
        decimal_at = len(number) - 2 if len(number) > 3 and rng.random() < 0.15 else -1
        # A round amount written fast: its trailing zeros small ("1000" with zeros half the
        # digits' height), now and then raised like cents. Drawn full size only, a run of
        # such zeros read 40% of 400 amounts exactly, against 81% with full-size zeros.
        small_from, zero_scale, zero_raise = _small_zeros(number, font is None, height, rng)
        for position, digit in enumerate(number):
            if font is not None:
                shape = _printed_digit(digit, height, font, rng)
            else:
                shape = _digit_shape(images, labels, digit, height, rng, thin_pen)
            small = position >= small_from
            if small:
                shape = _scaled(shape, zero_scale * rng.uniform(0.9, 1.1))
            h, w = shape.shape
            jitter = 0.0 if font is not None else rng.normal(0, height * 0.04)
            top = baseline - h + int(jitter) - (zero_raise if small else 0)
            top = min(max(top, 0), canvas_h - h)
            if x + w >= ink.shape[1] - 4 * height:
                ink = np.pad(ink, ((0, 0), (0, 4 * height + w)))
            np.maximum(ink[top: top + h, x: x + w], shape, out=ink[top: top + h, x: x + w])
            x += w
            remaining = len(number) - position - 1
            if remaining and (position + 1 == decimal_at):
                x = _dot(ink, x, baseline, height, stroke, rng)
            elif remaining and separator_every and remaining % separator_every == 0:
                x = _comma_or_dot(ink, x, baseline, height, stroke, rng)
            elif remaining:
                x += _gap(spacing, w, h if small else height, rng)
                x = max(x, 1)
        if bracket:
            x = _bracket(ink, x + stroke, baseline, height, stroke, False)
        text_parts.append("".join(str(d) for d in number))
    if rng.random() < 0.25:
        x = _tail(ink, x, baseline, height, stroke, rng)
    ink = ink[:, : min(ink.shape[1], x + int(height * rng.uniform(0.2, 2.0)))]
    if abs(slant) > 0.02:
        ink = _shear(ink, slant)
    if rng.random() < 0.1:
        ink = _broken(ink, stroke, rng)
    if rng.random() < 0.25:
        kernel = np.ones((2, 2), np.uint8)
        ink = cv2.dilate(ink, kernel) if rng.random() < 0.6 else cv2.erode(ink, kernel)
    grey = _on_paper(ink, rng, height, baseline)
    return grey, " ".join(text_parts)


def make_line_set(count: int, seed: int, images: np.ndarray, labels: np.ndarray
                  ) -> tuple[list[np.ndarray], list[str]]:
    """``count`` lines as the network's inputs (float16 (32, W)) and their texts."""
    rng = np.random.default_rng(seed)
    inputs, texts = [], []
    for _ in range(count):
        grey, text = synthesise_line(rng, images, labels)
        # As ``--layout line`` reads a crop: inside any dark border, then the band of ink.
        x0, y0, x1, y1 = dark_border(grey, True)
        ink = ink_strength(grey[y0:y1, x0:x1], True)
        top, bottom = line_band(ink)
        inputs.append(line_input(band_of(ink, top, bottom)).astype(np.float16))
        texts.append(text)
    return inputs, texts


# --- what is written --------------------------------------------------------------------


def _numbers(rng: np.random.Generator) -> list[list[int]]:
    if rng.random() < 0.02:
        return []  # a line of clutter alone: nothing to read, and nothing must be read
    if rng.random() < 0.04:  # a lone digit or two: a mark, a box of a form, a drawing pad
        return [[int(d) for d in rng.integers(0, 10, int(rng.integers(1, 3)))]]
    count = int(rng.choice([1, 1, 1, 1, 2, 2, 3]))
    numbers = []
    for _ in range(count):
        length = int(rng.choice(np.arange(1, 13), p=_LENGTH_P))
        digits = list(rng.integers(0, 10, length))
        if rng.random() < 0.25:  # amounts: round figures with runs of zeros
            zeros = int(rng.integers(1, min(length, 5) + 1))
            digits[length - zeros:] = [0] * zeros
        numbers.append([int(d) for d in digits])
    return numbers


_LENGTH_P = np.array([6, 8, 9, 10, 10, 10, 10, 10, 9, 8, 6, 4], float)
_LENGTH_P /= _LENGTH_P.sum()


def _small_zeros(number: list[int], handwritten: bool, height: int, rng: np.random.Generator
                 ) -> tuple[int, float, int]:
    """Where a number's small trailing zeros start (``len(number)`` for none), their size
    as a share of the digits' height, and how far above the baseline they sit."""
    trailing = 0
    while trailing < len(number) - 1 and number[-1 - trailing] == 0:  # "0", "000" alone keep their size
        trailing += 1
    if not handwritten or trailing < 2 or rng.random() >= 0.35:
        return len(number), 1.0, 0
    raise_by = int(height * rng.uniform(0.05, 0.35)) if rng.random() < 0.3 else 0
    return len(number) - trailing, float(rng.uniform(0.45, 0.75)), raise_by


def _scaled(shape: np.ndarray, factor: float) -> np.ndarray:
    size = (max(2, round(shape.shape[1] * factor)), max(2, round(shape.shape[0] * factor)))
    return cv2.resize(shape, size, interpolation=cv2.INTER_AREA)


def _digit_shape(images: np.ndarray, labels: np.ndarray, digit: int, height: int,
                 rng: np.random.Generator, thin_pen: bool = False) -> np.ndarray:
    """A handwritten ``digit`` from ``images`` cut to its ink, about ``height`` tall, with
    its own size, width and slant; now and then in a style MNIST's American writers lack (a
    1 with a long lead-in flag, a crossed 7), or thinned to a fine pen's stroke."""
    if digit == 1 and rng.random() < 0.1:
        return _straight_one(height, rng)
    pool = _by_label(labels)[digit]
    image = images[pool[int(rng.integers(len(pool)))]]
    values = image.astype(np.float32) * np.float32(1 / 255)
    if digit in (1, 7) and rng.random() < 0.3:
        values = _european(values, digit, rng)
    rows = np.flatnonzero(values.max(axis=1) > 0.1)
    cols = np.flatnonzero(values.max(axis=0) > 0.1)
    values = values[rows[0]: rows[-1] + 1, cols[0]: cols[-1] + 1]
    target_h = max(4, int(round(height * rng.uniform(0.8, 1.1))))
    aspect = rng.uniform(0.8, 1.25)
    target_w = max(2, int(round(values.shape[1] * target_h / values.shape[0] * aspect)))
    shape = cv2.resize(values, (target_w, target_h), interpolation=cv2.INTER_LINEAR)
    if thin_pen and target_h >= 24:
        # MNIST strokes are a tenth of the digit's height; a fine pen's are a thirtieth.
        radius = max(1, int(target_h / rng.uniform(14, 22)))
        shape = cv2.erode(shape, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1)))
        if shape.max() < 0.3:  # thinned away: keep the ordinary stroke
            shape = cv2.resize(values, (target_w, target_h), interpolation=cv2.INTER_LINEAR)
    return shape


def _straight_one(height: int, rng: np.random.Generator) -> np.ndarray:
    """A 1 drawn as one ruler-straight stroke with round ends, as a finger on a screen or a
    quick pen makes it. MNIST's 1s all wobble, and a network that never saw a straight one
    takes a lone bar for a table's rule and reads nothing."""
    target_h = max(4, int(round(height * rng.uniform(0.8, 1.1))))
    thickness = max(1, int(round(target_h / rng.uniform(6.0, 14.0))))
    lean = int(round(target_h * rng.normal(0.0, 0.06)))  # columns the top stands right of the foot
    half = thickness // 2
    canvas = np.zeros((target_h + thickness, abs(lean) + thickness + 2), np.uint8)
    x_foot = half + 1 + max(0, -lean)
    cv2.line(canvas, (x_foot + lean, half), (x_foot, target_h + thickness - half - 2), 255, thickness, cv2.LINE_AA)
    rows = np.flatnonzero(canvas.max(axis=1) > 25)
    cols = np.flatnonzero(canvas.max(axis=0) > 25)
    return canvas[rows[0]: rows[-1] + 1, cols[0]: cols[-1] + 1].astype(np.float32) * np.float32(1 / 255)


_PRINT_FACES = (cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_PLAIN, cv2.FONT_HERSHEY_DUPLEX,
                cv2.FONT_HERSHEY_COMPLEX, cv2.FONT_HERSHEY_TRIPLEX, cv2.FONT_HERSHEY_COMPLEX_SMALL)


def _print_font(rng: np.random.Generator) -> tuple[int, float]:
    """A typeface (OpenCV's Hershey faces, sometimes italic) and its stroke as a share of
    the glyph's height: from a thin office font to a bold stamp."""
    face = int(rng.choice(_PRINT_FACES)) | (cv2.FONT_ITALIC if rng.random() < 0.15 else 0)
    return face, float(rng.uniform(0.05, 0.16))


def _printed_digit(digit: int, height: int, font: tuple[int, float], rng: np.random.Generator
                   ) -> np.ndarray:
    """``digit`` printed in ``font``, cut to its ink, ``height`` tall (0..1 ink)."""
    face, weight = font
    canvas = np.zeros((160, 140), np.uint8)
    scale = 3.0
    (_, glyph_height), _ = cv2.getTextSize(str(digit), face, scale, 1)
    thickness = max(1, int(round(weight * max(glyph_height, 10))))
    cv2.putText(canvas, str(digit), (20, 120), face, scale, 255, thickness, cv2.LINE_AA)
    rows = np.flatnonzero(canvas.max(axis=1) > 60)
    cols = np.flatnonzero(canvas.max(axis=0) > 60)
    glyph = canvas[rows[0]: rows[-1] + 1, cols[0]: cols[-1] + 1].astype(np.float32) * np.float32(1 / 255)
    target_h = max(4, int(round(height * rng.uniform(0.85, 0.95))))
    target_w = max(2, int(round(glyph.shape[1] * target_h / glyph.shape[0])))
    return cv2.resize(glyph, (target_w, target_h), interpolation=cv2.INTER_AREA)


def _european(values: np.ndarray, digit: int, rng: np.random.Generator) -> np.ndarray:
    """A 28x28 MNIST 1 given a long lead-in flag, or a 7 given a bar across its stem."""
    canvas = np.pad(values, ((0, 0), (10, 4)))
    ink = canvas > 0.3
    rows = np.flatnonzero(ink.any(axis=1))
    if len(rows) < 4:
        return values
    top = int(rows[0])
    thickness = int(rng.integers(2, 4))
    if digit == 1:
        top_cols = np.flatnonzero(ink[top])
        x = int(top_cols.mean())
        length = rng.uniform(5, 10)
        angle = rng.uniform(0.5, 1.1)  # radians below the horizontal, to the left
        end = (int(x - length * np.cos(angle)), int(top + length * np.sin(angle)))
        cv2.line(canvas, (x, top), end, 1.0, thickness)
    else:
        middle = int(rows[len(rows) // 2])
        cols = np.flatnonzero(ink[middle])
        if len(cols) == 0:
            return values
        centre = int(cols.mean())
        half = int(rng.integers(3, 6))
        cv2.line(canvas, (centre - half, middle), (centre + half, middle + int(rng.integers(-1, 2))), 1.0, thickness)
    return canvas


_POOLS: dict[int, list[np.ndarray]] = {}


def _by_label(labels: np.ndarray) -> list[np.ndarray]:
    key = id(labels)
    if key not in _POOLS:
        _POOLS.clear()
        _POOLS[key] = [np.flatnonzero(labels == d) for d in range(10)]
    return _POOLS[key]


def _gap(spacing: str, width: int, height: int, rng: np.random.Generator) -> int:
    if spacing == "touching":
        return int(-width * rng.uniform(0.0, 0.4))
    if spacing == "close":
        return int(height * rng.uniform(-0.08, 0.12))
    if spacing == "normal":
        return int(height * rng.uniform(0.05, 0.35))
    return int(height * rng.uniform(0.3, 0.9))


def _comma_or_dot(ink, x, baseline, height, stroke, rng) -> int:
    if rng.random() < 0.5:
        return _dot(ink, x, baseline, height, stroke, rng)
    x0 = x + int(height * 0.12)
    cv2.line(ink, (x0 + stroke, baseline - stroke), (x0 - stroke, baseline + int(height * 0.25)), 1.0, stroke)
    return x0 + int(height * rng.uniform(0.15, 0.35))


def _dot(ink, x, baseline, height, stroke, rng) -> int:
    x0 = x + int(height * rng.uniform(-0.02, 0.2))  # now and then fused to the digit before
    cv2.circle(ink, (x0, baseline - stroke), max(1, stroke), 1.0, -1)
    return x0 + int(height * rng.uniform(0.1, 0.3))


def _tail(ink, x, baseline, height, stroke, rng) -> int:
    """"/-", "-" or "/=" after an amount, its slash from a short tick to the digits' full
    height, often right after the last digit (a slash as tall as a 1 and as close, told apart
    only by the dash after it, was read as a "1")."""
    x0 = x + int(height * rng.uniform(0.0, 0.3))
    if rng.random() < 0.3:
        return _written(ink, str(rng.choice(["/-", "/=", "-", "=", "/-/-", "/-."])), x0, baseline, height, stroke, rng)
    kind = rng.integers(3)
    if kind != 1:
        tall, wide = rng.uniform(0.6, 1.1), rng.uniform(0.25, 0.55)
        cv2.line(ink, (x0, baseline), (x0 + int(height * wide), baseline - int(height * tall)), 1.0, stroke)
        x0 += int(height * (wide + 0.05))
    y = baseline - int(height * 0.45)
    cv2.line(ink, (x0, y), (x0 + int(height * rng.uniform(0.3, 0.6)), y + int(rng.normal(0, 2))), 1.0, stroke)
    if kind == 2:
        cv2.line(ink, (x0, y + 2 * stroke + 2), (x0 + int(height * 0.4), y + 2 * stroke + 2), 1.0, stroke)
    return x0 + int(height * 0.6)


def _bracket(ink, x, baseline, height, stroke, opening: bool) -> int:
    centre = (x + (height // 4 if opening else 0), baseline - height // 2)
    angles = (100, 260) if opening else (-80, 80)
    cv2.ellipse(ink, centre, (height // 5, height // 2 + 2), 0, angles[0], angles[1], 1.0, stroke)
    return x + height // 3


def _written(ink, text: str, x: int, baseline: int, height: int, stroke: int, rng) -> int:
    """``text`` in one of OpenCV's script or plain stroke fonts, about ``height`` tall: a
    "$", "Rs." or "/-" as a hand or a cheque printer writes it."""
    font = int(rng.choice([cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, cv2.FONT_HERSHEY_SCRIPT_COMPLEX,
                           cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_TRIPLEX]))
    (width, glyph_height), _ = cv2.getTextSize(text, font, 1.0, stroke)
    scale = height * rng.uniform(0.7, 1.0) / max(glyph_height, 1)
    width = int(width * scale)
    if x + width + height >= ink.shape[1]:
        return x
    drawn = np.zeros(ink.shape, np.uint8)
    cv2.putText(drawn, text, (x, baseline), font, scale, 255, stroke, cv2.LINE_AA)
    np.maximum(ink, drawn * np.float32(1 / 255), out=ink)
    return x + width + int(height * rng.uniform(0.1, 0.4))


def _broken(ink: np.ndarray, stroke: int, rng: np.random.Generator) -> np.ndarray:
    """Strokes with gaps, as a dry pen or a harsh threshold leaves them."""
    ys, xs = np.nonzero(ink > 0.5)
    if len(xs) == 0:
        return ink
    ink = ink.copy()
    for i in rng.choice(len(xs), size=min(len(xs), int(rng.integers(3, 12))), replace=False):
        cv2.circle(ink, (int(xs[i]), int(ys[i])), max(1, stroke), 0.0, -1)
    return ink


def _currency_sign(ink, x, baseline, height, stroke, rng) -> int:
    if rng.random() < 0.4:
        return _written(ink, str(rng.choice(["$", "$", "Rs.", "Rs", "#"])), x, baseline, height, stroke, rng)
    h = int(height * rng.uniform(0.8, 1.2))
    top = baseline - h
    if rng.random() < 0.6:
        return _dollar(ink, x, top, h, stroke, rng) + int(height * rng.uniform(0.05, 0.4))
    # The rupee sign: two bars, a bowl, a leg.
    w = h // 2
    cv2.line(ink, (x, top), (x + w, top), 1.0, stroke)
    cv2.line(ink, (x, top + h // 4), (x + w, top + h // 4), 1.0, stroke)
    cv2.ellipse(ink, (x + w // 3, top + h // 4), (w // 2, h // 5), 0, -90, 90, 1.0, stroke)
    cv2.line(ink, (x + w // 4, top + h // 2), (x + w, baseline), 1.0, stroke)
    return x + w + int(height * rng.uniform(0.15, 0.45))


def _dollar(ink: np.ndarray, x: int, top: int, h: int, stroke: int, rng: np.random.Generator) -> int:
    """A handwritten "$": an S of random width and lean through jittered points, crossed by
    one or two strokes that may stop short of its ends. Returns the x after it."""
    w = max(3, int(h * rng.uniform(0.35, 0.65)))
    # The S as a path in a unit box, from its upper tip round to its lower tip.
    path = np.array([(0.95, 0.18), (0.6, 0.04), (0.2, 0.1), (0.05, 0.3), (0.3, 0.47), (0.7, 0.55),
                     (0.95, 0.72), (0.8, 0.92), (0.4, 0.97), (0.05, 0.85)])
    path = path + rng.normal(0, 0.04, path.shape)
    lean = rng.normal(0, 0.15)
    points = np.c_[x + (path[:, 0] + lean * (1 - path[:, 1])) * w, top + path[:, 1] * h]
    cv2.polylines(ink, [np.round(points).astype(np.int32)], False, 1.0, stroke, cv2.LINE_AA)
    bars = 1 if rng.random() < 0.75 else 2
    for bar in range(bars):
        bx = x + w * (0.5 if bars == 1 else 0.35 + 0.3 * bar) + rng.normal(0, w * 0.05)
        start = top - h * rng.uniform(-0.05, 0.15)
        end = top + h * rng.uniform(0.9, 1.15)
        cv2.line(ink, (int(bx + lean * w), int(start)), (int(bx), int(end)), 1.0, stroke, cv2.LINE_AA)
    return x + int(w * 1.1)


def _shear(ink: np.ndarray, slant: float) -> np.ndarray:
    h, w = ink.shape
    pad = int(abs(slant) * h) + 1
    matrix = np.float32([[1, -slant, pad if slant > 0 else 0], [0, 1, 0]])
    return cv2.warpAffine(ink, matrix, (w + pad, h), flags=cv2.INTER_LINEAR)


# --- the paper it is written on -----------------------------------------------------------


def _on_paper(ink: np.ndarray, rng: np.random.Generator, height: int, baseline: int) -> np.ndarray:
    """Grey paper with the clutter real lines sit on, the ink written over it, then the
    camera or scanner."""
    # The dark border of a scanner, the desk or a shadow beside a cut-out cell: outside the
    # writing (a border drawn over digits would teach the network to see digits in the dark).
    border_side = int(rng.integers(4)) if rng.random() < 0.12 else -1
    if border_side >= 0:
        across = ink.shape[1] if border_side < 2 else ink.shape[0]
        band = max(2, int(across * rng.uniform(0.02, 0.2)))
        pad = [(0, 0), (0, 0)]
        pad[1 if border_side < 2 else 0] = (band, 0) if border_side % 2 == 0 else (0, band)
        ink = np.pad(ink, pad)
    h, w = ink.shape
    paper_level = rng.uniform(150, 250)
    background = np.zeros((h, w), np.float32)  # printed or dirty darkness, 0..1
    if rng.random() < 0.25:
        _hatching(background, rng)
    if rng.random() < 0.15:
        _waves(background, rng)
    if rng.random() < 0.3:  # underline or ruling
        for _ in range(int(rng.integers(1, 3))):
            y = int(np.clip(baseline + rng.normal(height * 0.15, height * 0.4), 0, h - 1))
            cv2.line(background, (0, y), (w, y + int(rng.normal(0, 2))), float(rng.uniform(0.2, 0.8)),
                     int(rng.integers(1, 3)))
    if rng.random() < 0.12:  # boxes of a form around the digits
        top = int(baseline - height * rng.uniform(1.1, 1.4))
        bottom = int(baseline + height * rng.uniform(0.1, 0.3))
        darkness = float(rng.uniform(0.3, 0.9))
        cv2.rectangle(background, (int(rng.integers(0, max(1, height // 2))), top),
                      (w - 1 - int(rng.integers(0, max(1, height // 2))), bottom), darkness, 1)
        if rng.random() < 0.5:
            step = int(height * rng.uniform(0.9, 1.4))
            for xc in range(step, w, step):
                cv2.line(background, (xc, bottom), (xc, bottom - int(height * rng.uniform(0.2, 1.3))), darkness, 1)
    if rng.random() < 0.15:  # a table line beside the number
        xc = int(rng.choice([rng.integers(0, max(1, height)), w - 1 - rng.integers(0, max(1, height))]))
        cv2.line(background, (xc, 0), (xc + int(rng.normal(0, 2)), h), float(rng.uniform(0.3, 0.9)),
                 int(rng.integers(1, 4)))
    if rng.random() < 0.15:  # printed words beside or above
        _printed_text(background, rng, height, baseline)
    image = paper_level * (1.0 - 0.9 * background)
    if border_side >= 0:
        darkness = rng.uniform(0.5, 0.95)
        region = [(slice(None), slice(0, band)), (slice(None), slice(w - band, w)),
                  (slice(0, band), slice(None)), (slice(h - band, h), slice(None))][border_side]
        image[region] *= 1 - darkness
    if rng.random() < 0.15:  # a stain or a shadow
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(h * 0.5, max(h, w) * 0.5 + 1)
        image *= 1 - rng.uniform(0.1, 0.35) * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r))
    if rng.random() < 0.4:  # uneven light
        image *= np.linspace(rng.uniform(0.7, 1.0), rng.uniform(0.7, 1.0), w, dtype=np.float32)[None, :]
    darkness = rng.choice([rng.uniform(0.6, 0.95), rng.uniform(0.3, 0.6)], p=[0.8, 0.2])  # pen or pencil
    image = image * (1.0 - darkness * np.clip(ink, 0, 1))
    if rng.random() < 0.3:
        image = cv2.GaussianBlur(image, (0, 0), rng.uniform(0.4, 1.2))
    if rng.random() < 0.15:  # low resolution
        factor = rng.uniform(0.35, 0.7)
        small = cv2.resize(image, (max(2, int(w * factor)), max(2, int(h * factor))), interpolation=cv2.INTER_AREA)
        image = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    if rng.random() < 0.5:
        image = image + rng.normal(0, rng.uniform(1, 10), image.shape).astype(np.float32)
    grey = np.clip(image, 0, 255).astype(np.uint8)
    if rng.random() < 0.2:
        ok, encoded = cv2.imencode(".jpg", grey, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(25, 85))])
        grey = cv2.imdecode(encoded, cv2.IMREAD_GRAYSCALE)
    return grey


def _hatching(background: np.ndarray, rng: np.random.Generator) -> None:
    h, w = background.shape
    period = int(rng.integers(3, 9))
    yy, xx = np.mgrid[0:h, 0:w]
    direction = rng.choice([1, -1])
    lines = ((xx + direction * yy) % period) < max(1, period // 3)
    background[lines] = np.maximum(background[lines], rng.uniform(0.05, 0.3))


def _waves(background: np.ndarray, rng: np.random.Generator) -> None:
    h, w = background.shape
    xs = np.arange(w, dtype=np.float32)
    darkness = float(rng.uniform(0.08, 0.35))
    for _ in range(int(rng.integers(3, 9))):
        ys = (rng.uniform(0, h) + rng.uniform(2, h / 3) * np.sin(xs * rng.uniform(0.02, 0.15) + rng.uniform(0, 6)))
        points = np.stack([xs, ys], axis=1).astype(np.int32).reshape(-1, 1, 2)
        cv2.polylines(background, [points], False, darkness, 1)


def _printed_text(background: np.ndarray, rng: np.random.Generator, height: int, baseline: int) -> None:
    h, w = background.shape
    word = str(rng.choice(_WORDS)) if rng.random() < 0.6 else "".join(
        rng.choice(list(_LETTERS), int(rng.integers(2, 7))))
    scale = height / 40 * rng.uniform(0.5, 1.0)
    x = int(rng.integers(0, max(1, w - height)))
    y = int(np.clip(baseline + rng.normal(0, height * 0.6), height // 3, h - 1))
    # OpenCV writes text into 8-bit pictures only.
    printed = np.zeros(background.shape, np.uint8)
    font = int(rng.choice([cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_COMPLEX_SMALL]))
    cv2.putText(printed, word, (x, y), font, scale, 255, max(1, int(scale * 1.5)))
    np.maximum(background, printed * np.float32(rng.uniform(0.4, 0.9) / 255), out=background)
