"""The line recogniser: a picture of one line of writing -> its digits and number breaks.

A convolutional network looks at the whole line at once, 32 pixels tall and any width, and
answers, for every second column of pixels, how likely each of 12 symbols is: CTC's blank,
the ten digits, and a break between numbers. Decoding keeps the most likely symbol per
column, merges repeats and drops blanks (CTC's greedy decoding). Nothing is cut into
digits first, so touching digits, a "1" leaning on its neighbour or a comma between
thousands are read the way a person reads them: as a line.

Every digit still gets a box (the columns CTC aligned it to, the line's ink rows), a
confidence (the probability at its most confident column) and its top 3.

>>> recogniser = LineRecogniser()                       # doctest: +SKIP
>>> recogniser.read_lines([line_input(ink)])[0].text    # doctest: +SKIP
'15000 12'
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from ..errors import DigitscanError

__all__ = ["BLANK", "LINE_HEIGHT", "SPACE", "SYMBOLS", "DecodedLine", "LineRecogniser",
           "band_of", "decode", "default_line_model_path", "line_band", "line_input", "pick_line_model"]

# The network's input height: a digit fills most of it, as a digit fills 20 of MNIST's 28.
LINE_HEIGHT = 32
# Columns of the input per output step: 2 keeps two or three steps per digit, enough for
# CTC to tell "00" from "0" (4x lost repeated zeros in the probe that chose this design).
COLUMNS_PER_STEP = 2
# The widest line read in one piece, in input pixels (about 40 digits); wider ones are cut.
MAX_LINE_WIDTH = 1536
# Output symbols: index 0 is CTC's blank, 1..10 the digits 0..9, 11 a break between numbers.
SYMBOLS = "_0123456789 "
BLANK, SPACE = 0, 11

_MODEL_DIR = Path(__file__).parent.parent / "model"


def default_line_model_path() -> Path:
    """The shipped line recogniser, ``lines.onnx``; with ``DIGITSCAN_LINE_PRECISION=int8``
    its 8-bit copy ``lines.int8.onnx`` (see ``pick_line_model``)."""
    return pick_line_model(_MODEL_DIR, "lines")


def pick_line_model(folder: Path, stem: str) -> Path:
    """``folder/stem.onnx``, or with ``DIGITSCAN_LINE_PRECISION=int8`` its 8-bit copy
    ``folder/stem.int8.onnx`` where there is one.

    The 8-bit copy runs the network about twice as fast on a CPU with VNNI (measured: 210 ->
    406 lines/s on one thread) but reads a few tenths of a point fewer lines exactly, and
    through ``Reader`` it gained nothing (202 against 201 lines/s): finding the line and
    its ink, not the network, takes most of a line's time there. So float is the default."""
    choice = os.environ.get("DIGITSCAN_LINE_PRECISION", "fp32").strip().lower()
    if choice not in ("fp32", "int8"):
        raise DigitscanError(f"DIGITSCAN_LINE_PRECISION must be fp32 or int8, not {choice!r}")
    int8 = folder / f"{stem}.int8.onnx"
    if choice == "int8" and int8.is_file():
        return int8
    return folder / f"{stem}.onnx"


def line_input(ink: np.ndarray) -> np.ndarray:
    """An ink map of one line (uint8, 0 paper, 255 ink, as ``preprocess.ink_strength``
    gives) -> the network's input: float32 (LINE_HEIGHT, W) in [0, 1], W a multiple of
    ``COLUMNS_PER_STEP``, the aspect ratio kept."""
    height, width = ink.shape[:2]
    if height < 2 or width < 2:
        return np.zeros((LINE_HEIGHT, 2 * COLUMNS_PER_STEP), np.float32)
    scaled = max(COLUMNS_PER_STEP * 2, round(width * LINE_HEIGHT / height))
    scaled = min(scaled - scaled % COLUMNS_PER_STEP, MAX_LINE_WIDTH)
    interpolation = cv2.INTER_AREA if height > LINE_HEIGHT else cv2.INTER_LINEAR
    resized = cv2.resize(ink, (scaled, LINE_HEIGHT), interpolation=interpolation)
    return resized.astype(np.float32) * np.float32(1.0 / 255.0)


def line_band(ink: np.ndarray, threshold: int = 64) -> tuple[int, int]:
    """Rows (top, bottom) of the ink in a picture of one line, with a margin of a sixth of
    the ink's height, so that the band looks like the bands the network was trained on.
    Where the ink stops short of the picture's edge but its margin does not fit, the margin
    runs past the edge (top < 0, bottom > height), and ``band_of`` fills it with paper;
    where ink touches the edge (a table's rule, a border the picture cut), the band stops
    at the edge, as in training."""
    rows = np.flatnonzero((ink >= threshold).sum(axis=1) >= max(1, ink.shape[1] // 400))
    if len(rows) == 0:
        return 0, ink.shape[0]
    top, bottom = int(rows[0]), int(rows[-1]) + 1
    margin = max(1, (bottom - top) // 6)
    return (top - margin if top > 0 else 0), (bottom + margin if bottom < ink.shape[0] else bottom)


def band_of(ink: np.ndarray, top: int, bottom: int) -> np.ndarray:
    """Rows ``top:bottom`` of ``ink``, with paper (0) for the rows outside the picture.

    Writing that nearly fills a picture (a 1 drawn the height of the pad) would otherwise
    reach the band's edges, which only a table's rule does in training: a lone drawn 1 was
    read as nothing."""
    inside = ink[max(0, top): min(ink.shape[0], bottom)]
    above, below = max(0, -top), max(0, bottom - ink.shape[0])
    if above or below:
        inside = np.pad(inside, ((above, below), (0, 0)))
    return inside


@dataclass
class DecodedLine:
    """One line as the network read it: the text (digits, numbers split by a space), and per
    digit its value, its first and last output step, its confidence, its top 3 as (digit,
    probability), and the ten digits' probabilities at its surest step."""

    text: str
    digits: list[int]
    steps: list[tuple[int, int]]  # (first, last) output step of each digit
    confidences: list[float]
    top3: list[list[tuple[int, float]]]
    breaks: list[bool]  # breaks[i]: a number break before digit i+1
    distributions: list[np.ndarray] = field(default_factory=list)  # (10,) each, summing to 1


def decode(probabilities: np.ndarray, length: int | None = None) -> DecodedLine:
    """CTC greedy decoding of (T, 12) probabilities: the best symbol per step, repeats
    merged, blanks dropped. A break before the first digit or after the last is dropped."""
    steps = probabilities[: length or len(probabilities)]
    best = steps.argmax(axis=1)
    digits: list[int] = []
    spans: list[tuple[int, int]] = []
    confidences: list[float] = []
    top3: list[list[tuple[int, float]]] = []
    distributions: list[np.ndarray] = []
    breaks: list[bool] = []
    pending_break = False
    previous = BLANK
    for t, symbol in enumerate(best):
        symbol = int(symbol)
        if symbol == previous and symbol != BLANK:
            if symbol != SPACE and digits:
                first, _ = spans[-1]
                spans[-1] = (first, t)
                confidence = float(steps[t, symbol])
                if confidence > confidences[-1]:
                    confidences[-1] = confidence
                    top3[-1] = _top3(steps[t])
                    distributions[-1] = _digit_distribution(steps[t])
            continue
        previous = symbol
        if symbol == BLANK:
            continue
        if symbol == SPACE:
            pending_break = bool(digits)
            continue
        if digits:
            breaks.append(pending_break)
        pending_break = False
        digits.append(symbol - 1)
        spans.append((t, t))
        confidences.append(float(steps[t, symbol]))
        top3.append(_top3(steps[t]))
        distributions.append(_digit_distribution(steps[t]))
    text = "".join((" " if i and breaks[i - 1] else "") + str(d) for i, d in enumerate(digits))
    return DecodedLine(text, digits, spans, confidences, top3, breaks, distributions)


def _digit_distribution(step: np.ndarray) -> np.ndarray:
    """The ten digits' probabilities at one step, renormalised over the digits alone."""
    digits = step[1:11].astype(np.float32)
    return digits / max(float(digits.sum()), 1e-12)


def _top3(step: np.ndarray) -> list[tuple[int, float]]:
    """The three likeliest digits at one step, their probabilities renormalised over the
    digits alone (blank and break are not digits)."""
    digit_probabilities = step[1:11]
    total = float(digit_probabilities.sum()) or 1.0
    order = np.argsort(-digit_probabilities)[:3]
    return [(int(d), float(digit_probabilities[d]) / total) for d in order]


class LineRecogniser:
    """The line network in ONNX Runtime: ``read_lines`` takes ``line_input`` arrays and
    returns one ``DecodedLine`` each, batching lines of similar width together."""

    def __init__(self, model: str | os.PathLike[str] | None = None, threads: int = 0) -> None:
        import onnxruntime as ort

        path = Path(model) if model is not None else default_line_model_path()
        if not path.is_file():
            raise DigitscanError(f"{path}: no line model there (train one with "
                                 "'digitscan train --model lines')")
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        options.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own types for bad files
            raise DigitscanError(f"{path}: not a line model ONNX Runtime can load ({exc.__class__.__name__})") from None
        self.input_name = self.session.get_inputs()[0].name
        self.path = path
        card = path.with_name("lines_card.json")
        self.card = json.loads(card.read_text(encoding="utf-8")) if card.is_file() else {}

    def probabilities(self, batch: np.ndarray) -> np.ndarray:
        """(N, 1, LINE_HEIGHT, W) float32 -> (N, W / COLUMNS_PER_STEP, 12) probabilities."""
        return self.session.run(None, {self.input_name: batch})[0]

    def read_lines(self, lines: list[np.ndarray], batch_pixels: int = 1 << 20) -> list[DecodedLine]:
        """Decode every line; lines are sorted by width and padded with paper (0) to the
        widest in their batch, so a batch wastes little work on padding."""
        results: list[DecodedLine | None] = [None] * len(lines)
        order = sorted(range(len(lines)), key=lambda i: lines[i].shape[1])
        start = 0
        while start < len(order):
            widest = lines[order[start]].shape[1]
            stop = start + 1
            while stop < len(order):
                width = lines[order[stop]].shape[1]
                if width > 1.25 * widest + 16 or (stop - start + 1) * width * LINE_HEIGHT > batch_pixels:
                    break
                widest = width
                stop += 1
            chunk = order[start:stop]
            batch = np.zeros((len(chunk), 1, LINE_HEIGHT, widest), np.float32)
            for row, index in enumerate(chunk):
                batch[row, 0, :, : lines[index].shape[1]] = lines[index]
            probabilities = self.probabilities(batch)
            for row, index in enumerate(chunk):
                steps = lines[index].shape[1] // COLUMNS_PER_STEP
                results[index] = decode(probabilities[row], steps)
            start = stop
        return results  # type: ignore[return-value]
