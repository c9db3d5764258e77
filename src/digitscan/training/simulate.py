"""A scan simulator: MNIST test digits written as numbers onto paper, then photographed.

It makes pages whose true text is known, under named conditions, so the reader can be
measured on far more than the few real pages we have. Everything follows from the seed.

Conditions (``CONDITIONS``):

* ``clean``      black pen on white paper, flatbed-like
* ``blue_pen``   blue ink on tinted paper with texture
* ``pencil``     faint grey graphite with grain
* ``photo``      uneven lighting, blur, noise, JPEG, a small rotation and perspective
* ``desk``       the whole sheet photographed lying on a darker desk, in perspective
* ``ruled``      written on ruled paper, digits sitting on the rules
* ``form_boxes`` each digit in the printed box of a form (a comb of cells)
* ``touching``   neighbouring digits overlap and touch
* ``broken``     strokes with gaps (a dry pen, a bad threshold)
* ``hard``       photo + ruled or boxes + touching or broken, all at once
* ``askew_form``  a form's boxes or ruled paper photographed 2-6 degrees off level

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
              "touching", "broken", "hard", "askew_form")
HARD_CONDITIONS = ("photo", "desk", "ruled", "form_boxes", "touching", "broken", "hard",
                   "askew_form")

_INK_COLOURS = {
    "black": (25.0, 25.0, 30.0),
    "blue": (25.0, 45.0, 150.0),
    "pencil": (95.0, 95.0, 100.0),
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
                  lines: tuple[int, int] = (1, 3), digit_height: tuple[int, int] = (28, 56),
                  numbers_per_line: tuple[int, int] = (1, 2),
                  digits_per_number: tuple[int, int] = (2, 7)) -> SimulatedScan:
    """One page under ``condition`` from MNIST ``digits``; the same seed, the same page."""
    if condition not in CONDITIONS:
        raise ValueError(f"unknown condition {condition!r}: expected one of {CONDITIONS}")
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
    ink, boxes, rules, text = _write(layout_lines, digits, height, features, rng)
    image = _on_paper(ink, rules, features, rng)
    if condition == "desk":
        image = _on_desk(image, rng)
    if features["photo"]:
        image = _photograph(image, rng, tilted=condition == "askew_form")
    return SimulatedScan(image, text, boxes, condition)


# --- private helpers -------------------------------------------------------------------


def _features(condition: str, rng: np.random.Generator) -> dict[str, object]:
    hard = condition == "hard"
    if condition == "askew_form":
        boxes = bool(rng.random() < 0.5)
        return {"pen": str(rng.choice(["black", "blue"])), "photo": True, "ruled": not boxes,
                "boxes": boxes, "touching": False, "broken": False, "texture": True}
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


def _write(layout_lines: list[list[list[int]]], digits: MnistSplit, height: int,
           features: dict[str, object], rng: np.random.Generator
           ) -> tuple[np.ndarray, list[tuple[int, int, int, int]], np.ndarray, str]:
    margin = int(height * rng.uniform(1.0, 2.0))
    line_step = int(height * rng.uniform(1.7, 2.3))
    cell = int(height * 1.35)
    placed: list[tuple[np.ndarray, int, int]] = []
    boxes: list[tuple[int, int, int, int]] = []
    rule_rows: list[int] = []
    cells: list[tuple[int, int]] = []
    text_lines: list[str] = []
    y_base = margin + height
    right_edge = 0
    for numbers in layout_lines:
        x = margin + int(rng.integers(0, height))
        words = []
        for word in numbers:
            for position, index in enumerate(word):
                shape = _digit_shape(digits.images[index], height, rng)
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
                    if features["touching"] and position and rng.random() < 0.6:
                        left -= int(rng.integers(1, max(2, w // 5)))
                    x = left + w + int(height * rng.uniform(0.08, 0.35))
                placed.append((shape, max(left, 0), max(top, 0)))
                boxes.append((max(left, 0), max(top, 0), w, h))
            words.append("".join(str(int(digits.labels[i])) for i in word))
            x += int(height * rng.uniform(2.0, 3.5))
        right_edge = max(right_edge, x)
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
    return ink, boxes, rules, "\n".join(text_lines)


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


def _on_paper(ink: np.ndarray, rules: np.ndarray, features: dict[str, object],
              rng: np.random.Generator) -> np.ndarray:
    h, w = ink.shape
    white = rng.uniform(215, 250)
    tint = rng.uniform(0, 12)  # paper leans yellow, never pink or green
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
    rule_colour = np.array([120.0, 150.0, 200.0], np.float32)
    picture = paper * (1 - rules[..., None]) + rule_colour * rules[..., None]
    picture = picture * (1 - strength[..., None]) + colour * strength[..., None]
    return np.clip(picture, 0, 255).astype(np.uint8)


def _on_desk(sheet: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The sheet lying on a darker desk, seen at an angle: the corners move inwards."""
    h, w = sheet.shape[:2]
    pad = int(0.25 * max(h, w))
    desk_colour = rng.uniform(40, 110, 3).astype(np.float32)
    desk = np.ones((h + 2 * pad, w + 2 * pad, 3), np.float32) * desk_colour
    desk += cv2.GaussianBlur(rng.normal(0, 8, desk.shape[:2]).astype(np.float32), (0, 0),
                             3)[..., None]
    source = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    shift = 0.12 * min(h, w)
    target = source + pad + rng.uniform(-shift, shift, (4, 2)).astype(np.float32)
    matrix = cv2.getPerspectiveTransform(source, target)
    size = (desk.shape[1], desk.shape[0])
    warped = cv2.warpPerspective(sheet.astype(np.float32), matrix, size)
    cover = cv2.warpPerspective(np.ones((h, w), np.float32), matrix, size)[..., None]
    picture = warped * cover + desk * (1 - cover)
    return np.clip(picture, 0, 255).astype(np.uint8)


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
