"""The line recogniser: a picture of one line of writing -> its digits and number breaks.

A convolutional network looks at the whole line at once, 32 pixels tall and any width, and
answers, for every second column of pixels, how likely each of 12 symbols is: CTC's blank,
the ten digits, and a break between numbers. Decoding keeps the most likely symbol per
column, merges repeats and drops blanks; where it is unsure, the likeliest text over all
the ways of spelling it wins (``best_path``). Nothing is cut into
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
           "band_of", "cpu_has_vnni", "decode", "default_line_model_path", "line_band", "line_input", "pick_line_model"]

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
    """The shipped line recogniser: ``lines.onnx``, or its 8-bit copy ``lines.int8.onnx``
    where the CPU runs 8-bit arithmetic fast (see ``pick_line_model``)."""
    return pick_line_model(_MODEL_DIR, "lines")


def pick_line_model(folder: Path, stem: str) -> Path:
    """``folder/stem.onnx`` or its 8-bit copy ``folder/stem.int8.onnx``, as
    ``DIGITSCAN_LINE_PRECISION`` says: ``fp32``, ``int8``, or ``auto`` (the default): the
    8-bit copy where the CPU has VNNI, the float model elsewhere.

    With VNNI (AVX-512 VNNI or AVX-VNNI) the 8-bit copy runs the network in about half the
    CPU time (2.2 against 4.4 ms a line) and reads as the float one (shipped lines-v10, 2,000
    validation lines: 70.75% exact against 70.85%); through ``Reader``, lines of 6-10 digits
    went 226 and 207 -> 287 and 271 a second on 2 cores (alternating runs). Without VNNI,
    ONNX Runtime's 8-bit convolutions may saturate their 16-bit sums and are not faster, so
    float stays there."""
    choice = os.environ.get("DIGITSCAN_LINE_PRECISION", "auto").strip().lower()
    if choice not in ("auto", "fp32", "int8"):
        raise DigitscanError(f"DIGITSCAN_LINE_PRECISION must be auto, fp32 or int8, not {choice!r}")
    int8 = folder / f"{stem}.int8.onnx"
    if int8.is_file() and (choice == "int8" or (choice == "auto" and cpu_has_vnni())):
        return int8
    return folder / f"{stem}.onnx"


def cpu_has_vnni(cpuinfo: str | os.PathLike[str] = "/proc/cpuinfo") -> bool:
    """True when the CPU has 8-bit dot-product instructions ONNX Runtime uses (x86 VNNI),
    as Linux lists them in ``/proc/cpuinfo``; False where that cannot be told."""
    try:
        with open(cpuinfo, encoding="utf-8", errors="replace") as handle:
            for text in handle:
                if text.startswith("flags"):
                    flags = set(text.partition(":")[2].split())
                    return bool(flags & {"avx512_vnni", "avx_vnni"})
    except OSError:
        pass
    return False


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
    """CTC decoding of (T, 12) probabilities: the likeliest text (``best_path``), repeats
    merged, blanks dropped. A break before the first digit or after the last is dropped."""
    steps = probabilities[: length or len(probabilities)]
    best = best_path(steps)
    digits: list[int] = []
    spans: list[tuple[int, int]] = []
    surest: list[int] = []  # each digit's surest step, where its probabilities are taken
    breaks: list[bool] = []
    pending_break = False
    previous = BLANK
    for t, symbol in enumerate(best.tolist()):
        if symbol == previous and symbol != BLANK:
            if symbol != SPACE and digits:
                spans[-1] = (spans[-1][0], t)
                if steps[t, symbol] > steps[surest[-1], symbol]:
                    surest[-1] = t
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
        surest.append(t)
    # The digits' probabilities at their surest steps, all at once rather than per digit
    # (a tenth of a line's decoding went on per-digit numpy calls).
    rows = steps[surest]
    confidences = rows[np.arange(len(digits)), np.array(digits, np.int64) + 1].tolist() if digits else []
    digit_probabilities = rows[:, 1:11].astype(np.float32)
    distributions = list(digit_probabilities / np.maximum(digit_probabilities.sum(axis=1, keepdims=True), 1e-12))
    totals = digit_probabilities.sum(axis=1).tolist()
    order = np.argsort(-digit_probabilities, axis=1)[:, :3].tolist()
    top3 = [[(d, float(row[d]) / (total or 1.0)) for d in ranked]
            for row, ranked, total in zip(digit_probabilities.tolist(), order, totals, strict=True)]
    text = "".join((" " if i and breaks[i - 1] else "") + str(d) for i, d in enumerate(digits))
    return DecodedLine(text, digits, spans, confidences, top3, breaks, distributions)


# A step this sure of the blank parts the line: no digit spans it, so the likeliest text is
# the likeliest text of each part between such steps, put together.
_SURE_BLANK = 0.995
# A part whose every step is this sure of one symbol keeps the greedy path (as sure as the
# reader's "unsure" line; 0.98 and 0.995 read the same 2,000 validation lines alike).
_SURE_STEP = 0.9
_BEAM = 8


def best_path(steps: np.ndarray) -> np.ndarray:
    """One symbol per step, spelling the likeliest *text* rather than the likeliest symbol
    at each step (greedy decoding). The two differ where a digit is split over steps: a
    thin 1 pressed between two digits got 0.29 and 0.42 at two steps against the blank's
    0.71 and 0.57, so greedy dropped it, yet the texts with the 1 hold 0.59 of the
    probability. Parts of the line the network is sure of keep the greedy path; the others
    get a prefix beam search (``_likeliest_text``) and the most probable steps for its text
    (``_aligned``)."""
    best = steps.argmax(axis=1)
    if len(steps) == 0:
        return best
    sure_blank = steps[:, BLANK] >= _SURE_BLANK
    unsure = steps.max(axis=1) < _SURE_STEP
    if not unsure.any():
        return best
    # Parts: runs of steps between sure blanks, searched only where some step is unsure.
    edges = np.flatnonzero(np.diff(np.concatenate([[1], sure_blank.view(np.int8), [1]])))
    for start, stop in zip(edges[::2], edges[1::2], strict=True):
        if unsure[start:stop].any():
            part = steps[start:stop].astype(np.float64)
            best[start:stop] = _aligned(part, _likeliest_text(part))
    return best


def _likeliest_text(steps: np.ndarray, beam: int = _BEAM) -> tuple[int, ...]:
    """CTC prefix beam search: the symbol sequence (blanks out, repeats merged) with the
    highest probability summed over all the step-by-step paths that spell it."""
    # prefix -> (probability of paths ending in a blank, ending in its last symbol)
    beams: dict[tuple[int, ...], tuple[float, float]] = {(): (1.0, 0.0)}
    # Python floats and lists, found for all steps at once: numpy scalars and one
    # flatnonzero per step took half the search's time. The same sums in the same order.
    rows = steps.tolist()
    candidates_at: list[list[int]] = [[] for _ in rows]
    for t, symbol in zip(*(index.tolist() for index in np.nonzero(steps >= 1e-4)), strict=True):
        if symbol != BLANK:
            candidates_at[t].append(symbol)
    for row, candidates in zip(rows, candidates_at, strict=True):
        grown: dict[tuple[int, ...], list[float]] = {}
        for prefix, (ends_blank, ends_symbol) in beams.items():
            total = ends_blank + ends_symbol
            entry = grown.setdefault(prefix, [0.0, 0.0])
            entry[0] += total * row[BLANK]
            last = prefix[-1] if prefix else -1
            for symbol in candidates:
                p = row[symbol]
                if symbol == last:
                    entry[1] += ends_symbol * p  # the same symbol held on: no new character
                    longer = grown.setdefault(prefix + (symbol,), [0.0, 0.0])
                    longer[1] += ends_blank * p  # a repeat needs a blank between
                else:
                    longer = grown.setdefault(prefix + (symbol,), [0.0, 0.0])
                    longer[1] += total * p
        kept = sorted(grown.items(), key=lambda item: -(item[1][0] + item[1][1]))[:beam]
        scale = sum(b + s for _, (b, s) in kept) or 1.0  # rescaled: long parts would underflow
        beams = {prefix: (b / scale, s / scale) for prefix, (b, s) in kept}
    return max(beams.items(), key=lambda item: item[1][0] + item[1][1])[0]


def _aligned(steps: np.ndarray, text: tuple[int, ...]) -> np.ndarray:
    """The likeliest path of symbols per step that spells ``text`` under CTC's rules
    (Viterbi over blank, text[0], blank, text[1], ..., blank)."""
    states = [BLANK]
    for symbol in text:
        states += [symbol, BLANK]
    count, length = len(states), len(steps)
    logs = np.log(np.maximum(steps[:, states], 1e-30))
    score = np.full(count, -np.inf)
    score[0] = logs[0, 0]
    if count > 1:
        score[1] = logs[0, 1]
    came_from = np.zeros((length, count), np.int64)
    # A state may be reached from itself, the one before, or, for a symbol unlike the symbol
    # two states back, from two states back (skipping the blank between).
    skip = np.array([i >= 2 and states[i] != BLANK and states[i] != states[i - 2] for i in range(count)])
    index = np.arange(count)
    for t in range(1, length):
        choices = np.full((3, count), -np.inf)
        choices[0] = score  # stay
        choices[1, 1:] = score[:-1]  # one state on
        choices[2, 2:] = np.where(skip[2:], score[:-2], -np.inf)  # two on, over a blank
        pick = choices.argmax(axis=0)
        came_from[t] = index - pick
        score = choices[pick, index] + logs[t]
    state = count - 1 if count == 1 or score[count - 1] >= score[count - 2] else count - 2
    path = np.empty(length, np.int64)
    for t in range(length - 1, -1, -1):
        path[t] = states[state]
        state = came_from[t, state]
    return path


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
        # As for the classifier: idle threads spinning after each batch take a core from
        # finding the next lines' ink, which ``Reader`` does meanwhile (1,000 lines of 6-10
        # digits, four runs alternating: 146 -> 155 lines/s median, CPU time 12.3 -> 10.7 s).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
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

    def read_lines(self, lines: list[np.ndarray], batch_pixels: int = 1 << 17) -> list[DecodedLine]:
        """Decode every line (``line_probabilities``, then ``decode`` each)."""
        return [decode(steps) for steps in self.line_probabilities(lines, batch_pixels)]

    def line_probabilities(self, lines: list[np.ndarray], batch_pixels: int = 1 << 17) -> list[np.ndarray]:
        """The network's (steps, 12) probabilities for each line, its own steps only; lines
        are sorted by width and padded with paper (0) to the widest in their batch, so a
        batch wastes little work on padding.

        Batches of about 130,000 input pixels (a dozen lines of 8 digits) rather than a
        million: a layer's activations then stay in the CPU's caches. 600 lines of 6-10
        digits, network and decoding: 2.5-3.0 -> 2.1-2.3 ms a line (2-core AMD EPYC)."""
        results: list[np.ndarray | None] = [None] * len(lines)
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
                results[index] = probabilities[row, : steps or len(probabilities[row])]
            start = stop
        return results  # type: ignore[return-value]
