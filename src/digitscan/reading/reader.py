"""Reading handwritten digits from pictures: the public API the command line wraps.

>>> from digitscan import Reader
>>> reader = Reader()                                # loads the model once
>>> [r.text for r in reader.read("form.png")]       # doctest: +SKIP
['1247673\\n8952481']
>>> digitscan.read(image_array, layout="digit")[0].digits[0].digit   # doctest: +SKIP
7

Each page goes through the stages of ``preprocess`` (ink map, rules removed) and
``segment`` (candidates, lines, numbers); every candidate, with the ways to cut the ones
too wide to be a single digit, is normalised like MNIST and all of them are classified in
one ONNX Runtime batch; the cut the classifier is surest of is kept.

Layouts: ``digit`` (the picture is one digit), ``line`` (one row of writing), ``page``
(several lines), ``grid`` (a table of ruled cells: ``Reading.cells``) and ``auto``:
pictures no larger than 64x64 are read as one digit, others
as a page (a single line is just a page with one line).
"""

from __future__ import annotations

import functools
import io
import json
import math
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from ..errors import DigitscanError
from .classifier import Classifier
from .crowds import in_unsure_crowds
from .grid import GridPlan, grid_text, plan_grid
from .imageio import (
    MAX_FILE_BYTES,
    MAX_PAGES,
    Page,
    iter_decoded,
    load_pages,
    picture_to_array,
    scale_to_uint8,
)
from .lines import (
    COLUMNS_PER_STEP,
    DecodedLine,
    LineRecogniser,
    band_of,
    decode,
    default_line_model_path,
    line_band,
    line_input,
    pick_line_model,
)
from .normalise import STRETCHED_ASPECTS, combine_aspect_views, normalise_like_mnist, unstretch
from .preprocess import (
    SheetCut,
    cut_out_sheet,
    dark_border,
    ink_is_dark,
    ink_mask,
    ink_strength,
    mask_sums,
    pattern_dots,
    remove_rules,
    rule_skew,
    shows_a_sheet,
    straighten,
    to_grey,
    without_edge_lines,
)
from .results import Cell, Digit, Line, Reading
from .segment import (
    Candidate,
    Segmentation,
    find_candidates,
    group_lines,
    number_breaks,
)

__all__ = ["LAYOUTS", "Reader", "bundled_examples", "read"]

LAYOUTS = ("auto", "digit", "line", "page", "grid")
# Digits read with less confidence are flagged for a person to check. Measured by
# benchmarks/unsure_rates.py (11 simulated conditions x 15 pages and the 2 real pages):
# at 0.9, 47% of the wrong digits are flagged and 0.5% of the right ones; at 0.5, 16% and 0%.
DEFAULT_MIN_CONFIDENCE = 0.9
# In auto layout, pictures this small are single-digit crops.
_DIGIT_CROP_SIDE = 64
# Layout "auto" reads a picture at least twice as wide as tall, and no taller than this, as
# one line first (``_shaped_like_a_line``).
_LINE_CROP_HEIGHT = 400
# Pages whose digits are taller than this (in pixels) are shrunk to it before segmenting.
_WORK_TEXT_HEIGHT = 32.0
# A page photo larger than this is shrunk before its sheet is looked for: the writing on a
# 12-megapixel phone photo of a page is 50-150 pixels tall, and read at _WORK_TEXT_HEIGHT
# anyway (a real 12-MP photo of a sudoku page, read as a page: 1.2 s of CPU at full size,
# 0.5 s shrunk).
_WORK_PIXELS = 4_000_000
# An ink mask covering this share of a picture, spread over this share of its tiles, is
# the texture of a desk or cloth, not writing (``_is_texture``).
_TEXTURE_COVER, _TEXTURE_TILES = 0.15, 0.9
# Marks this few pixels tall (working pixels) are specks, not writing: clean pages shrunk
# until their digits were 4 pixels tall still measured 6 (a quarter of their digits read
# wrong), while a 12-MP picture sprinkled with dark specks measured 3 and was read as
# 29,821 digits on 904 lines in 30 s.
_LEAST_TEXT_HEIGHT = 4.0
# A line digit the reader is unsure of whose ink is under this share of its band's height
# (the line's candidates and a sixth of their height above and below) is a sliver, not a
# digit: on a blank sheet a shadow's soft corners made a band, and a 6 x 3 pixel scrap of
# the sheet's edge in it was read as a "4" at 67% (blank_sheet_photo(3219) on an AVX2
# CPU; on AVX-512 the recogniser read nothing there).
_FLAT_DIGIT = 0.2
# A window of a page holding this many marks or more, under this share of whose ink lies
# in marks whose outline squared is this many times their area or more (strokes), is a
# flecked surface (``_speckled_windows``).
_SPECKLE_MARKS, _STROKE_SHARE, _STROKE_OUTLINE = 24, 0.6, 16.0
# Pages askew by less than this (degrees) are level enough for their rules to be found as
# they are (``rule_skew`` looks up to 10 degrees either way).
_LEAST_SKEW = 0.3
# A crop whose ink fills it and is nearly square (width / height above this) may have been
# stretched to fill its box; narrower ones, four in five of MNIST's digits cut to their
# ink, are read as they are.
_STRETCHED_LOOKING = 0.9
# Pages read before their digits go to the classifier together.
_PAGES_PER_BATCH = 256
_SQUARE_3X3 = np.ones((3, 3), np.uint8)
# What both networks give for a batch of plans: the classifier's probabilities for every
# crop (N, 10), and the line recogniser's (steps, 12) for every band.
_NetworkOutputs = tuple[np.ndarray, list[np.ndarray]]
# A line digit the recogniser gives at least this probability is not second-guessed by the
# digit classifier (see ``_combine``).
_SURE_LINE_DIGIT = 0.98

Source = str | os.PathLike[str] | bytes | np.ndarray
# What ``read`` accepts, for the messages that say so.
_SOURCE_KINDS = ("a path, a folder, '-' (standard input), the bytes of a file, a binary file object "
                 "(open(f, 'rb'), io.BytesIO), a PIL image or an image array")


class ArgumentError(DigitscanError, ValueError):
    """A value of the right type that cannot be used (an empty path, min_confidence 2)."""


class ArgumentTypeError(DigitscanError, TypeError):
    """An argument of a type the API does not take (read(None), Reader(model=5))."""


class Reader:
    """Reads digits from pictures with its models loaded once.

    ``model``: the digit classifier (an .onnx file or a training run; default: the shipped
    one), or a line model's run or .onnx (``train --model lines``), which then reads lines
    beside the shipped classifier. ``line_model``: the line recogniser, which reads every
    line of writing whole (default: the shipped one). ``min_confidence``: digits the models
    are less sure of are marked ``unsure``.
    """

    def __init__(self, model: str | os.PathLike[str] | None = None,
                 min_confidence: float = DEFAULT_MIN_CONFIDENCE, threads: int = 0,
                 line_model: str | os.PathLike[str] | None = None) -> None:
        if model is not None and not isinstance(model, str | os.PathLike):
            raise ArgumentTypeError(
                "model must be None (the shipped model), the path of an .onnx file or a training "
                f"run directory, got {_shown(model)}"
            )
        if line_model is not None and not isinstance(line_model, str | os.PathLike):
            # Lines were once cut into digits with line_model=False: that reader is gone,
            # as the line recogniser read every kind of page better (issue 15).
            raise ArgumentTypeError(
                "line_model must be None (the shipped line recogniser) or the path of a line model's "
                f".onnx file or run directory, got {_shown(line_model)}")
        if isinstance(min_confidence, bool) or not isinstance(min_confidence, int | float | np.floating):
            raise ArgumentTypeError(f"min_confidence must be a number between 0 and 1, got {_shown(min_confidence)}")
        if not 0.0 <= min_confidence <= 1.0:
            raise ArgumentError(f"min_confidence must be between 0 and 1, got {min_confidence}")
        if isinstance(threads, bool) or not isinstance(threads, int | np.integer) or threads < 0:
            raise ArgumentError(f"threads must be a whole number >= 0 (0: ONNX Runtime decides), got {threads!r}")
        if model is not None and line_model is None and _is_line_model(Path(model)):
            # One --model option serves both kinds: a fine-tuned line model reads lines.
            line_model, model = model, None
        self.classifier = Classifier(model, threads=threads)
        self.min_confidence = float(min_confidence)
        if line_model is None:
            self._line_model_path = default_line_model_path()
        elif Path(line_model).is_dir():
            self._line_model_path = pick_line_model(Path(line_model), "model")
        else:
            self._line_model_path = Path(line_model)
        self._threads = threads
        self._recogniser: LineRecogniser | None = None

    @property
    def line_model_path(self) -> Path:
        """The line recogniser's ONNX file."""
        return self._line_model_path

    @property
    def recogniser(self) -> LineRecogniser:
        if self._recogniser is None:
            self._recogniser = LineRecogniser(self._line_model_path, threads=self._threads)
        return self._recogniser

    def read(self, source: Source | Sequence[Source], layout: str = "auto",
             max_pages: int = MAX_PAGES) -> list[Reading]:
        """One ``Reading`` per page of every source (a path, a folder, ``"-"``, the bytes of
        a file, a binary file object, a PIL image or an image array), in order; at most
        ``max_pages`` pages of each PDF or TIFF. Bad pictures give a Reading with ``error``;
        a source of a type not listed raises ``TypeError``, an empty path ``ValueError``."""
        if layout not in LAYOUTS:
            raise ArgumentError(f"unknown layout {layout!r}: expected one of {', '.join(LAYOUTS)}")
        if isinstance(max_pages, bool) or not isinstance(max_pages, int | np.integer) or max_pages < 1:
            raise ArgumentError(f"max_pages must be a whole number >= 1, got {max_pages!r}")
        sources = _checked_sources(source)
        return self.read_pages(_pages_of(sources, int(max_pages)), layout)

    def read_array(self, image: np.ndarray, layout: str = "auto",
                   name: str = "<array>") -> Reading:
        """Read one picture given as a uint8 (or float in [0, 1]) grey or RGB array."""
        return self.read_pages([_array_page(image, name)], layout)[0]

    def read_pages(self, pages: Iterable[Page], layout: str = "auto") -> list[Reading]:
        """Read loaded pages, classifying the digits of many pages in one batch."""
        if layout not in LAYOUTS:
            raise DigitscanError(f"unknown layout {layout!r}: expected one of {', '.join(LAYOUTS)}")
        pages = _checked_pages(pages)
        readings: list[Reading] = []
        plans: list[_Plan] = []
        pool: ThreadPoolExecutor | None = None
        # The networks of a full batch run in a worker thread (ONNX Runtime releases the
        # GIL) while this thread decodes the batch before and plans the next: the networks
        # take about half of a line's CPU, planning and decoding the other half. (Decoding
        # in the worker as well left this thread waiting: 1,000 lines of 6-10 digits on 2
        # cores read at about 350 a second that way, about 400 this way.)
        previous: tuple[list[_Plan], Future[_NetworkOutputs]] | None = None
        try:
            for page in pages:
                plan = plan_page(page, layout)
                plans.append(plan)
                if plan.whole_photo is not None:
                    plans.append(plan.whole_photo)  # read in the same batch, just after it
                if len(plans) >= _PAGES_PER_BATCH:
                    pool = pool or ThreadPoolExecutor(1, thread_name_prefix="digitscan-networks")
                    running = pool.submit(self._run_networks, plans)
                    if previous is not None:
                        readings.extend(self._finish(previous[0], previous[1].result()))
                    previous, plans = (plans, running), []
            if previous is not None:
                readings.extend(self._finish(previous[0], previous[1].result()))
            readings.extend(self._finish(plans, self._run_networks(plans)))
        finally:
            if pool is not None:
                pool.shutdown(wait=True)
        return readings

    def _run_networks(self, plans: list[_Plan]) -> _NetworkOutputs:
        """Both networks over a batch of plans: the classifier's probabilities for every
        crop, the line recogniser's for every band."""
        probabilities = classify_plans(self.classifier, plans)
        inputs = [band.network_input for plan in plans for band in plan.bands]
        return probabilities, (self.recogniser.line_probabilities(inputs) if inputs else [])

    def _finish(self, plans: list[_Plan], outputs: _NetworkOutputs) -> list[Reading]:
        probabilities, line_steps = outputs
        # The runners-up of every crop in one call, not one argsort per digit.
        runners_up = np.argsort(-probabilities, axis=1)[:, :3]
        bands = [band for plan in plans for band in plan.bands]
        decoded = [decode(steps) for steps in line_steps]
        placed = [band.digit_boxes(line) for band, line in zip(bands, decoded, strict=True)]
        second = self._second_opinion(placed, decoded)
        readings, start, line_start, digit_start = [], 0, 0, 0
        for plan in plans:
            stop = start + len(plan.crops)
            line_stop = line_start + len(plan.bands)
            if plan.bands:
                digit_stop = digit_start + sum(len(p) for p in placed[line_start:line_stop])
                readings.append(self._assemble_lines(plan, decoded[line_start:line_stop],
                                                     placed[line_start:line_stop], second[digit_start:digit_stop]))
                digit_start = digit_stop
            elif plan.grid is not None:
                readings.append(self._assemble_grid(plan, probabilities[start:stop], runners_up[start:stop]))
            else:
                readings.append(self._assemble(plan, probabilities[start:stop], runners_up[start:stop]))
            start, line_start = stop, line_stop
        return _keep_the_surer(plans, readings)

    def _second_opinion(self, placed: list[list[tuple[tuple[int, int, int, int], np.ndarray]]],
                        decoded: list[DecodedLine]) -> list[tuple[_Picture, np.ndarray | None]]:
        """Each line digit's ink as the digit classifier sees it (28x28), and the
        classifier's probabilities for it. The two networks err differently: the line
        recogniser sees context (touching digits, separators), the classifier sees one
        digit far more sharply; their answers are combined in ``_combine``. Digits the line
        recogniser is sure of (most: 88% of hard synthetic lines' digits) keep its answer
        there, so the classifier is not asked about them (None)."""
        unsure = [float(distribution.max()) < _SURE_LINE_DIGIT
                  for line in decoded for distribution in line.distributions]
        # The 28x28 pictures of the rest are made only if someone looks (Digit.network_input).
        crops = [_digit_picture(crop) if ask else functools.partial(_digit_picture, crop)
                 for (_box, crop), ask in zip((p for line in placed for p in line), unsure, strict=True)]
        asked = [crop for crop, ask in zip(crops, unsure, strict=True) if ask]
        answers = iter(self.classifier.predict_proba(np.stack(asked)) if asked else [])
        return [(crop, next(answers) if ask else None) for crop, ask in zip(crops, unsure, strict=True)]

    def _assemble_lines(self, plan: _Plan, decoded: list[DecodedLine],
                        placed: list[list[tuple[tuple[int, int, int, int], np.ndarray]]],
                        second: list[tuple[_Picture, np.ndarray | None]]) -> Reading:
        if plan.error is not None:
            return Reading.failed(plan.file, plan.page, plan.error, plan.width, plan.height)
        one_line = bool(plan.bands) and plan.bands[0].one_line
        opinions = iter(second)
        # Each line's digits, with their boxes in working pixels (where the page's spacing is
        # measured), the recogniser's own number breaks, and which of them go.
        found: list[tuple[list[tuple[tuple[int, int, int, int], Digit]], list[bool], set[int]]] = []
        for band, line, line_placed in zip(plan.bands, decoded, placed, strict=True):
            line_opinions = [next(opinions) for _ in line_placed]
            if not line.digits:
                continue
            read, slivers = [], set()
            for index, ((box, _crop), (network_input, classifier_p)) in enumerate(
                    zip(line_placed, line_opinions, strict=True)):
                combined = _combine(line.distributions[index], classifier_p)
                order = np.argsort(-combined)[:3]
                value, confidence = int(order[0]), float(combined[order[0]])
                if (not one_line and confidence < DEFAULT_MIN_CONFIDENCE
                        and box[3] < _FLAT_DIGIT * band.ink.shape[0]):
                    slivers.add(len(read))  # see _FLAT_DIGIT; counted in crowds below first
                read.append((box, Digit(value, confidence, confidence < self.min_confidence, plan.to_input(box),
                                        [(int(d), float(combined[d])) for d in order], network_input)))
            found.append((read, list(line.breaks), slivers))
        if not one_line:
            # A desk's speckle or weave read as digits: crowds of digits the reader is unsure
            # of go (judged at the default threshold, whatever the caller's), before the
            # page's spacing is learnt from what is left.
            every = [placed_digit for read, _, _ in found for placed_digit in read]
            in_crowds = in_unsure_crowds(np.array([box for box, _ in every]).reshape(-1, 4),
                                         np.array([digit.confidence < DEFAULT_MIN_CONFIDENCE for _, digit in every]))
            crowded = iter(in_crowds)
            found = [(read, said, slivers | {index for index in range(len(read)) if next(crowded)})
                     for read, said, slivers in found]
            if in_crowds.any():
                plan.notes.append(f"{int(in_crowds.sum())} marks read as digits in crowds of unsure ones "
                                  "(a desk's or a cloth's texture) were left out")
        # Slivers go after the crowds are counted: they are part of a texture's crowd.
        kept = [([placed_digit for index, placed_digit in enumerate(read) if index not in dropped], said)
                for read, said, dropped in found]
        kept = [(read, said) for read, said in kept if read]
        breaks = _line_breaks([[box for box, _ in read] for read, _ in kept])
        if one_line:
            # A picture of one line has no page to learn the writer's spacing from; there
            # the recogniser, which saw the line whole, says where numbers part as well.
            breaks = [[geometric or said for geometric, said in zip(line_breaks, line_said, strict=True)]
                      for line_breaks, (_, line_said) in zip(breaks, kept, strict=True)]
        lines: list[Line] = []
        for (read, _), line_breaks in zip(kept, breaks, strict=True):
            digits = [digit for _, digit in read]
            text = "".join((" " if index and line_breaks[index - 1] else "") + str(digit.digit)
                           for index, digit in enumerate(digits))
            lines.append(Line(text, _union([d.box for d in digits]), digits))
        all_digits = [d for line in lines for d in line.digits]
        return Reading(plan.file, plan.page, plan.width, plan.height,
                       "\n".join(line.text for line in lines), lines, all_digits, None, plan.notes)

    def _assemble(self, plan: _Plan, probabilities: np.ndarray,
                  runners_up: np.ndarray) -> Reading:
        if plan.error is not None:
            return Reading.failed(plan.file, plan.page, plan.error, plan.width, plan.height)
        lines: list[Line] = []
        for line_slots, breaks in zip(plan.lines, plan.breaks, strict=True):
            digits: list[Digit] = []
            text = ""
            for position, (box, crop_index) in enumerate(line_slots):
                if position and breaks[position - 1]:
                    text += " "
                digit = self._digit(probabilities[crop_index], runners_up[crop_index],
                                    plan.to_input(box), plan.crops[crop_index])
                digits.append(digit)
                text += str(digit.digit)
            if digits:
                lines.append(Line(text, _union([d.box for d in digits]), digits))
        all_digits = [d for line in lines for d in line.digits]
        return Reading(plan.file, plan.page, plan.width, plan.height,
                       "\n".join(line.text for line in lines), lines, all_digits, None)

    def _assemble_grid(self, plan: _Plan, probabilities: np.ndarray,
                       runners_up: np.ndarray) -> Reading:
        assert plan.grid is not None
        cells: list[list[Cell]] = []
        lines: list[Line] = []
        for row in plan.grid.rows:
            cells.append([])
            for cell in row:
                digits = [self._digit(probabilities[index], runners_up[index], plan.to_input(box),
                                      plan.crops[index]) for box, index in cell.digits]
                cells[-1].append(Cell("".join(str(d.digit) for d in digits), plan.to_input(cell.box),
                                      digits, cell.notes))
            text = grid_text([[(c.text, c.notes) for c in cells[-1]]])
            lines.append(Line(text, _union([c.box for c in cells[-1]]),
                              [d for c in cells[-1] for d in c.digits]))
        return Reading(plan.file, plan.page, plan.width, plan.height,
                       "\n".join(line.text for line in lines), lines,
                       [d for line in lines for d in line.digits], None, plan.notes, cells)

    def _digit(self, probs: np.ndarray, order: np.ndarray, box: tuple[int, int, int, int],
               crop: np.ndarray) -> Digit:
        best = int(order[0])
        confidence = float(probs[best])
        return Digit(best, confidence, confidence < self.min_confidence, box,
                     [(int(d), float(probs[d])) for d in order], crop)


def _is_line_model(path: Path) -> bool:
    """Whether ``path`` is a line recogniser: a run of ``train --model lines`` or its ONNX
    file (whose input is named ``line``)."""
    if path.is_dir():
        config = path / "config.json"
        try:
            return json.loads(config.read_text(encoding="utf-8"))["train"]["model"] == "lines"
        except (OSError, ValueError, KeyError, TypeError):
            return False
    if path.suffix.lower() != ".onnx" or not path.is_file():
        return False
    try:
        import onnxruntime as ort

        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception:  # not a model ONNX Runtime can load: the classifier will say so
        return False
    return session.get_inputs()[0].name == "line"


def classify_plans(classifier: Classifier, plans: Sequence[_Plan]) -> np.ndarray:
    """Class probabilities (crops, 10) for every crop of ``plans`` in one batch, in order;
    the views of one digit answer together, in the row of the first."""
    crops = [crop for plan in plans for crop in plan.crops]
    if not crops:
        return np.zeros((0, 10), np.float32)
    probabilities = classifier.predict_proba(np.stack(crops))
    start = 0
    for plan in plans:
        for views in plan.views:
            rows = [start + view for view in views]
            probabilities[rows[0]] = combine_aspect_views(probabilities[rows])
        start += len(plan.crops)
    return probabilities


def read(source: Source | Sequence[Source], layout: str = "auto",
         model: str | os.PathLike[str] | None = None,
         min_confidence: float = DEFAULT_MIN_CONFIDENCE, max_pages: int = MAX_PAGES) -> list[Reading]:
    """Read digits from pictures with a one-off ``Reader`` (use a Reader for many calls)."""
    _checked_sources(source)  # a bad source is reported before the model is loaded
    return Reader(model, min_confidence).read(source, layout, max_pages)


def bundled_examples() -> list[Path]:
    """The simulated scans shipped inside the package (``digitscan read --example``)."""
    folder = Path(__file__).parent.parent / "examples"
    return sorted(folder.glob("*.png"))


# --- planning a page: everything up to the classifier -----------------------------------


@dataclass
class _Band:
    """One line for the line recogniser: where it is on the working picture, its ink, and
    the network's input made from that ink."""

    left: int
    top: int
    ink: np.ndarray  # uint8 ink map of the band, working pixels
    network_input: np.ndarray  # line_input(ink)
    one_line: bool = False  # the whole picture, read as one line (--layout line)

    def digit_boxes(self, line: DecodedLine) -> list[tuple[tuple[int, int, int, int], np.ndarray]]:
        """The box of each digit of the decoded line (working pixels) and its ink: the
        columns between the midpoints to its neighbours' columns (CTC marks a digit with a
        narrow spike, not its extent), tightened to the ink found there."""
        pixels_per_step = self.ink.shape[1] / self.network_input.shape[1] * COLUMNS_PER_STEP
        centres = [(first + last + 1) / 2 * pixels_per_step for first, last in line.steps]
        reach = 0.6 * self.ink.shape[0]
        # Strong ink once for the whole band; each digit looks at its own columns of it.
        strong = self.ink >= 96
        inked_columns = strong.any(axis=0)
        boxes = []
        for index, centre in enumerate(centres):
            left = (centres[index - 1] + centre) / 2 if index else centre - reach
            right = (centre + centres[index + 1]) / 2 if index + 1 < len(centres) else centre + reach
            x0 = max(0, int(left))
            x1 = min(self.ink.shape[1], max(x0 + 1, int(math.ceil(right))))
            rows = np.flatnonzero(strong[:, x0:x1].any(axis=1))
            cols = np.flatnonzero(inked_columns[x0:x1])
            if len(rows) and len(cols):
                y0, y1 = int(rows[0]), int(rows[-1]) + 1
                x0, x1 = x0 + int(cols[0]), x0 + int(cols[-1]) + 1
            else:
                y0, y1 = 0, self.ink.shape[0]
            crop = self.ink[y0:y1, x0:x1]
            boxes.append(((self.left + x0, self.top + y0, x1 - x0, y1 - y0), crop))
        return boxes


@dataclass
class _Plan:
    file: str
    page: int
    width: int
    height: int
    error: str | None = None
    crops: list[np.ndarray] = field(default_factory=list)
    # layout "digit": the one digit's box and the index of its crop
    lines: list[list[tuple[tuple[int, int, int, int], int]]] = field(default_factory=list)
    breaks: list[list[bool]] = field(default_factory=list)
    back: np.ndarray | None = None  # homography from the flattened sheet to the input
    # Crops that are views of one digit (its first index is the one the slot uses), whose
    # answers are combined into that first one's.
    views: list[list[int]] = field(default_factory=list)
    scale: float = 1.0  # input pixels per working pixel
    bands: list[_Band] = field(default_factory=list)  # lines for the line recogniser
    notes: list[str] = field(default_factory=list)  # said in the reading (Reading.notes)
    grid: GridPlan | None = None  # layout "grid": the cells, their digits among the crops
    # The photo read whole, where the sheet cut out of it may have missed the writing: both
    # are read, and the reading with more sure digits is kept (``_keep_the_surer``).
    whole_photo: _Plan | None = None

    def to_input(self, box: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
        x, y, w, h = (v * self.scale for v in box)
        if self.back is None:
            # math's floor and ceil on Python floats: same integers, without numpy's
            # per-call cost on every digit.
            # A box reaching into the paper added past the picture's edge stops at the edge.
            x0, y0 = max(math.floor(x), 0), max(math.floor(y), 0)
            return (x0, y0, min(math.ceil(x + w), self.width) - x0,
                    min(math.ceil(y + h), self.height) - y0)
        corners = np.array([[[x, y]], [[x + w, y]], [[x, y + h]], [[x + w, y + h]]],
                           np.float32)
        mapped = cv2.perspectiveTransform(corners, self.back).reshape(4, 2)
        x0, y0 = np.floor(mapped.min(axis=0)).astype(int)
        x1, y1 = np.ceil(mapped.max(axis=0)).astype(int)
        x0, y0 = max(int(x0), 0), max(int(y0), 0)
        return (x0, y0, min(int(x1), self.width) - x0, min(int(y1), self.height) - y0)


def plan_page(page: Page, layout: str) -> _Plan:
    """Everything before the networks: the bands of the lines for the line recogniser, or
    for layouts "digit" and "grid" the 28x28 crops for the classifier and where they go."""
    if page.error is not None or page.image is None:
        return _Plan(page.file, page.page, 0, 0, error=page.error or "no picture")
    image = page.image
    height, width = image.shape[:2]
    plan = _Plan(page.file, page.page, width, height)
    try:
        grey = to_grey(image)
        if layout == "grid":
            _plan_grid(plan, grey)
        elif layout == "digit" or (layout == "auto" and max(height, width) <= _DIGIT_CROP_SIDE):
            _plan_single_digit(plan, grey)
        else:
            _plan_lines(plan, grey, one_line=layout == "line",
                        line_first=layout == "auto" and _shaped_like_a_line(height, width))
    except MemoryError:
        plan.error = "not enough memory to read this picture; scale it down"
    return plan


def _plan_grid(plan: _Plan, grey: np.ndarray) -> None:
    plan.grid = plan_grid(grey)
    if plan.grid is None:
        plan.error = ("no grid found: no table of ruled cells stands out "
                      "(--layout page reads writing without a grid)")
        return
    plan.crops, plan.back = plan.grid.crops, plan.grid.back


def _plan_single_digit(plan: _Plan, grey: np.ndarray) -> None:
    ink = ink_strength(grey, ink_is_dark(grey))
    mask = ink_mask(ink)
    if not mask.any():
        plan.error = "blank page: no ink found"
        return
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.view(np.uint8), 8)
    areas = stats[1:, cv2.CC_STAT_AREA]
    # Specks and scanner dust are tiny next to the digit; broken pieces of it are not.
    kept = areas >= max(2, 0.08 * areas.max())
    if not kept.any():
        # Only single-pixel specks: dust, not a digit.
        plan.error = "blank page: no ink found"
        return
    # Usually every component is kept, and then the kept ink is the mask itself; the box
    # comes from the components' stats rather than a scan of the pixels: fewer full passes
    # over each crop, which add up over thousands of crops.
    own = mask if kept.all() else np.concatenate([[False], kept])[labels]
    kept_stats = stats[1:][kept]
    x0, y0 = kept_stats[:, cv2.CC_STAT_LEFT].min(), kept_stats[:, cv2.CC_STAT_TOP].min()
    x1 = (kept_stats[:, cv2.CC_STAT_LEFT] + kept_stats[:, cv2.CC_STAT_WIDTH]).max()
    y1 = (kept_stats[:, cv2.CC_STAT_TOP] + kept_stats[:, cv2.CC_STAT_HEIGHT]).max()
    grown = cv2.dilate(own.view(np.uint8), _SQUARE_3X3)
    crop = ink[y0:y1, x0:x1] * grown[y0:y1, x0:x1]
    full_frame = (x0, y0, x1, y1) == (0, 0, grey.shape[1], grey.shape[0])
    if full_frame and crop.shape[1] > _STRETCHED_LOOKING * crop.shape[0]:
        # Ink filling the whole frame, wider than most digits are, may have been stretched
        # to fill it: read it at the widths digits have, and combine
        # (``normalise.STRETCHED_ASPECTS``).
        plan.crops.extend(normalise_like_mnist(unstretch(crop, aspect)) for aspect in STRETCHED_ASPECTS)
        plan.views = [list(range(len(STRETCHED_ASPECTS)))]
    else:
        plan.crops.append(normalise_like_mnist(crop))
    box = (int(x0), int(y0), int(x1 - x0), int(y1 - y0))
    plan.lines = [[(box, 0)]]
    plan.breaks = [[]]


def _shaped_like_a_line(height: int, width: int) -> bool:
    """A picture that, read with layout "auto", is most likely one line cut out: a cheque's
    amount, a form field, a register cell. Read as a page such a crop loses the dark
    borders' trimming and the line's own margins (measured on 200 synthetic lines: 43.5%
    exact as a page, 54.5% as a line); one that holds several rows is read as a page."""
    return width >= 2 * height and height <= _LINE_CROP_HEIGHT


def _plan_lines(plan: _Plan, grey: np.ndarray, one_line: bool, line_first: bool = False) -> None:
    """The bands of the lines of writing for the line recogniser: the whole picture as one
    line (``one_line``, unless it plainly holds several), or the lines found on a page.
    ``line_first``: as one line if it holds only one, else as a page, without a note."""
    if line_first and shows_a_sheet(grey):
        # A slip photographed on a desk, framed as wide as a line: read as one line, the
        # desk's stripes or grain were read with the number (100 simulated photos of one
        # 8-10 digit number: auto 84% exact, as a page 92%). A crop of a line is paper to
        # its edges (and under 200 pixels tall, too small to be looked at for a sheet).
        line_first = False
    if (one_line or line_first) and _plan_one_line(plan, grey):
        return
    if not one_line:
        _plan_page_lines(plan, grey)
        return
    page = _Plan(plan.file, plan.page, plan.width, plan.height)
    _plan_page_lines(page, grey)
    if page.error is not None:
        # Read as a page it gave nothing (the rows were a cheque's hatching, taken for a
        # desk's texture): it is read as the one line it was said to be.
        _plan_one_line(plan, grey, rows_checked=False)
        return
    page.notes.insert(0, "several lines found in a picture read as one line: read as a page "
                      "(--layout page reads pages)")
    vars(plan).update(vars(page))  # the same picture, now planned as a page


def _plan_page_lines(plan: _Plan, grey: np.ndarray, isolate: bool = True, holds_a_sheet: bool = False) -> None:
    """The bands of the lines of writing found on a page (on the sheet found in it, unless
    ``isolate`` is False; ``holds_a_sheet``: a sheet of light paper was found in it)."""
    photo = grey
    grey, shrink = _shrunk_photo(grey)
    cut = cut_out_sheet(grey) if isolate else SheetCut(grey, None)
    if cut.in_doubt:
        plan.whole_photo = _Plan(plan.file, plan.page, plan.width, plan.height)
        _plan_page_lines(plan.whole_photo, photo, isolate=False, holds_a_sheet=True)
    grey, sheet_back = cut.picture, cut.back
    plan.back = sheet_back if shrink is None else (
        shrink if sheet_back is None else shrink @ sheet_back)
    # A sheet was found as light paper: its ink is dark, whatever a shadow or the
    # desk's colour around it does to the picture's grey levels. So too in the whole
    # photo read beside a sheet in doubt, where a dark desk filling most of the frame made
    # the median pixel say otherwise: the paper was read as ink (train/ 03_09: 7 of 36
    # digits).
    dark_ink = sheet_back is not None or holds_a_sheet or ink_is_dark(grey)
    ink = ink_strength(grey, dark_ink, page=True)
    mask = ink_mask(ink)
    if not mask.any():
        plan.error = "blank page: no ink found"
        return
    # Beside a sheet found in doubt the photo holds paper, whatever else fills it (a
    # woven cloth, a patch of sun): its texture is left to the crowd and fleck rules
    # below, and to ``_keep_the_surer``, which keeps the sheet unless the whole photo
    # reads clearly more sure digits (val/02_02_honor_view_10_1, the page in shade beside
    # a patch of sun taken for the sheet: 4 of 33 digits read; 29 now).
    if not holds_a_sheet and _is_texture(mask):
        plan.error = "no writing found: only texture (a desk, cloth or a pattern), no sheet of paper"
        return
    # Rules are found as level runs of ink: a page photographed a few degrees askew is
    # turned level first, or its rules would stay and cut through the digits.
    skew = rule_skew(ink)
    if abs(skew) >= _LEAST_SKEW:
        ink, back = straighten(ink, skew)
        plan.back = back if plan.back is None else plan.back @ back
        mask = ink_mask(ink)
    # A dotted or checked desk left beside the sheet goes before anything is measured: its
    # dots outnumber the digits, so the text height came out as a dot's, and strokes were
    # then cut up as rules and edges; the dots themselves were read as rows of 0s.
    dots = pattern_dots(mask)
    if dots is not None:
        dots = cv2.dilate(dots.view(np.uint8), np.ones((3, 3), np.uint8)) > 0
        ink = np.where(dots, 0, ink).astype(np.uint8)
        mask = mask & ~dots
    # Rules as long as a good part of the picture go first, so that digits written on
    # them do not merge into one huge component and spoil the estimate of text height.
    text_height = _rough_text_height(mask)
    if text_height > 0:
        mask, rules = remove_rules(mask, text_height, ink)
        if text_height > 1.25 * _WORK_TEXT_HEIGHT:
            # Large writing is read at a smaller scale: the classifier sees 20 pixels anyway,
            # and a 12-megapixel photo would otherwise take seconds. Rules go first, at full
            # resolution, where they are crisp.
            plan.scale = text_height / _WORK_TEXT_HEIGHT
            if rules.any():
                rim = cv2.dilate(rules.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
                ink = np.where(rim & ~mask, 0, ink).astype(np.uint8)
            size = (max(1, round(ink.shape[1] / plan.scale)),
                    max(1, round(ink.shape[0] / plan.scale)))
            ink = cv2.resize(ink, size, interpolation=cv2.INTER_AREA)
            # Faint rules missed at full size can pass the new threshold: look again.
            mask, _ = remove_rules(ink_mask(ink), text_height / plan.scale, ink)
    if text_height / plan.scale >= 16:
        # Bridge one-pixel breaks in strokes (a dry pen, a harsh threshold); digits that
        # become joined by it are cut apart again like any touching pair.
        mask = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_CLOSE,
                                np.ones((3, 3), np.uint8)).astype(bool)
    if text_height > 0:
        mask = without_edge_lines(ink, mask, text_height / plan.scale)
    mask = _without_textured_parts(mask)
    mask, found = _without_speckled_parts(mask, find_candidates(mask))
    if found.text_height and found.text_height < _LEAST_TEXT_HEIGHT:
        plan.error = (f"no writing found: the marks are about {found.text_height:.0f} pixels tall, "
                      "too small to be digits (noise or a fine pattern)")
        return
    candidates = _away_from_edges(found.candidates, mask.shape, cut.flattened)
    if not candidates:
        plan.error = "no digits found (only specks or lines)"
        return
    boxes = [c.box for c in candidates]
    ink = _without_stray_specks(ink, found, boxes)
    for line in group_lines(boxes):
        _add_band(plan, ink, _union([boxes[i] for i in line]), found.text_height)


def _without_stray_specks(ink: np.ndarray, found: Segmentation,
                          boxes: list[tuple[int, int, int, int]]) -> np.ndarray:
    """``ink`` without the specks (dust, a photocopy's or a fax's dots) that lie apart
    from every digit: a speck in the gap between two numbers was read as "12" and joined
    them; with one pixel in 500 a dark speck, 40% of a clean page's numbers came out
    exact. A speck is far under a digit's size (under a quarter of the text height either
    way); apart, it is half a text height or more from every candidate's box, so a decimal
    point or a broken stroke's piece beside its digits stays."""
    height, stats = found.text_height, found.stats
    if stats is None or height <= 0 or len(stats) < 2:
        return ink
    widths, heights, areas = stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT], stats[:, cv2.CC_STAT_AREA]
    tiny = (widths < 0.25 * height) & (heights < 0.25 * height) & (areas < 0.02 * height * height)
    tiny[0] = False  # the background
    if not tiny.any():
        return ink
    reach = int(math.ceil(0.5 * height))
    near = np.zeros(ink.shape, bool)
    for x, y, w, h in boxes:
        near[max(0, y - reach): y + h + reach, max(0, x - reach): x + w + reach] = True
    specks = np.flatnonzero(tiny)
    centre_x = np.minimum(stats[specks, cv2.CC_STAT_LEFT] + widths[specks] // 2, ink.shape[1] - 1)
    centre_y = np.minimum(stats[specks, cv2.CC_STAT_TOP] + heights[specks] // 2, ink.shape[0] - 1)
    stray = specks[~near[centre_y, centre_x]]
    if len(stray) == 0:
        return ink
    ink = ink.copy()
    for label in stray:
        # The speck with its faint rim (below the mask's threshold), in its own box.
        x, y, w, h = (int(v) for v in stats[label, :4])
        y0, x0 = max(0, y - 1), max(0, x - 1)
        own = (found.labels[y0: y + h + 1, x0: x + w + 1] == label).view(np.uint8)
        ink[y0: y + h + 1, x0: x + w + 1][cv2.dilate(own, _SQUARE_3X3) > 0] = 0
    return ink


def _is_texture(mask: np.ndarray) -> bool:
    """Whether an ink mask is the texture of a surface (wood grain, weave, leather, a
    printed pattern) rather than writing: writing covers a few percent of a page and leaves
    paper between its lines; on 24 simulated pages of every condition and 8 example scans
    it covered at most 14% and reached at most 53% of a 16 x 16 grid of tiles, while desk
    textures covered 16-49% and reached every tile."""
    if mask.mean() < _TEXTURE_COVER:
        return False
    tiles = cv2.resize(mask.astype(np.float32), (16, 16), interpolation=cv2.INTER_AREA)
    return bool((tiles > 0.002).mean() >= _TEXTURE_TILES)


def _speckled_windows(mask: np.ndarray, found: Segmentation) -> np.ndarray:
    """Which of the 4 x 4 windows of ``mask`` (whose components ``found`` labelled) are a
    flecked surface, a granite-look worktop or terrazzo, rather than writing: a (4, 4)
    boolean array.

    Writing is strokes, and a stroke's outline is long for its ink: outline squared over
    area is 4 x length / width, 30-100 for a digit and 16 or more even for a marker's
    blotted digits, where a fleck, or a knot of a few, is squat (9-15). A window holding many
    marks with most of its ink in squat ones is a surface. Measured on the masks this
    sees: the worst granite desks (read as 54 and 272 digits) had 30-52% of their ink in
    long marks; simulated pages of every condition, dense pages of digits 12-48 pixels tall
    down to a marker's blots, and every window of the 160 real sudoku photos (desks and
    printed puzzles included) but one, 60% or more (that one, emptied, cost none of its
    photo's grid digits: train/ 03_02_iphone_14_0)."""
    height, width = mask.shape
    stats = found.stats
    if stats is None or len(stats) <= _SPECKLE_MARKS or min(height, width) < 256:
        return np.zeros((4, 4), bool)
    marks = mask.view(np.uint8)
    outline = cv2.subtract(marks, cv2.erode(marks, _SQUARE_3X3)).view(bool)
    perimeter = np.bincount(found.labels[outline], minlength=len(stats)).astype(np.float64)
    area = stats[:, cv2.CC_STAT_AREA].astype(np.float64)
    is_mark = area >= 6
    is_mark[0] = False
    long_mark = is_mark & (perimeter * perimeter >= _STROKE_OUTLINE * area)
    centre_x = stats[:, cv2.CC_STAT_LEFT] + stats[:, cv2.CC_STAT_WIDTH] // 2
    centre_y = stats[:, cv2.CC_STAT_TOP] + stats[:, cv2.CC_STAT_HEIGHT] // 2
    window = np.minimum(centre_y * 4 // height, 3) * 4 + np.minimum(centre_x * 4 // width, 3)
    marks_in = np.bincount(window[is_mark], minlength=16)
    ink_in = np.bincount(window[is_mark], area[is_mark], minlength=16)
    long_ink_in = np.bincount(window[long_mark], area[long_mark], minlength=16)
    return ((marks_in >= _SPECKLE_MARKS) & (long_ink_in < _STROKE_SHARE * ink_in)).reshape(4, 4)


def _without_speckled_parts(mask: np.ndarray, found: Segmentation) -> tuple[np.ndarray, Segmentation]:
    """``mask`` and its candidates ``found``, without the windows ``_speckled_windows``
    takes for a flecked surface: a photo of a worktop, or one left beside the sheet. The
    candidates are found again only where a window went (their labels are reused to
    judge the windows: labelling a 1-MP page again took 5-8 ms of its 55)."""
    speckled = _speckled_windows(mask, found)
    if not speckled.any():
        return mask, found
    mask = _without_windows(mask, speckled)
    return mask, find_candidates(mask)


def _without_windows(mask: np.ndarray, windows: np.ndarray) -> np.ndarray:
    """``mask`` with the windows of its 4 x 4 that ``windows`` marks emptied."""
    height, width = mask.shape
    mask = mask.copy()
    for row, column in zip(*np.nonzero(windows), strict=True):
        mask[row * height // 4: (row + 1) * height // 4, column * width // 4: (column + 1) * width // 4] = False
    return mask


def _without_textured_parts(mask: np.ndarray) -> np.ndarray:
    """``mask`` with the parts of the picture that look like a surface's texture (by
    ``_is_texture``'s measure, in each of 4 x 4 windows) emptied: a sheet found with a strip
    of patterned desk or fabric inside its outline, whose weave would read as rows of
    digits."""
    height, width = mask.shape
    if min(height, width) < 256:
        return mask
    textured = np.array([[_is_texture(mask[row * height // 4: (row + 1) * height // 4,
                                           column * width // 4: (column + 1) * width // 4])
                          for column in range(4)] for row in range(4)])
    return _without_windows(mask, textured) if textured.any() else mask


def _shrunk_photo(grey: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """A large photo shrunk (area-averaged) to at most ``_WORK_PIXELS``, and the homography
    back to its pixels (None when it is small enough already)."""
    height, width = grey.shape
    if height * width <= _WORK_PIXELS:
        return grey, None
    factor = math.sqrt(height * width / _WORK_PIXELS)
    size = (max(1, round(width / factor)), max(1, round(height / factor)))
    small = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
    back = np.diag([width / size[0], height / size[1], 1.0])
    return small, back


def _plan_one_line(plan: _Plan, grey: np.ndarray, rows_checked: bool = True) -> bool:
    """The whole picture as one line for the line recogniser, as it was trained: the band
    of rows holding the ink, inside any dark border a crop's edges carry (a scanner's
    margin read as ink turned half the digits of a line wrong). False when the picture
    plainly holds several lines (never when ``rows_checked`` is False)."""
    dark_ink = ink_is_dark(grey)
    x0, y0, x1, y1 = dark_border(grey, dark_ink)
    grey = grey[y0:y1, x0:x1]
    ink = ink_strength(grey, dark_ink)
    mask = ink_mask(ink)
    if not mask.any():
        plan.error = "blank page: no ink found"
        return True
    if rows_checked and _separate_rows_of_writing(mask) >= 2:
        return False
    top, bottom = line_band(ink)
    band = ink[max(0, top): bottom]
    plan.bands.append(_Band(x0, y0 + max(0, top), band, line_input(band_of(ink, top, bottom)), one_line=True))
    return True


def _separate_rows_of_writing(mask: np.ndarray) -> int:
    """How many rows of writing a picture holds: bands of ink rows parted by rows of bare
    paper, counting those nearly as tall and as inked as the largest. Clutter that covers
    the whole picture (hatching, a background pattern) makes one band, so a cheque's amount
    on its hatched ground stays one line."""
    # Columns inked down most of the picture (a margin line, the sheet's edge) would join
    # every row to the next; they are left out, and a row counts as inked only beside the
    # rows of writing, not for a speck or two of noise.
    # (The tall columns' ink is taken off each row's rather than sums over a copy of the
    # mask without them.)
    tall = mask_sums(mask, 0) >= 0.3 * mask.shape[0]
    per_row = mask_sums(mask, 1)
    if tall.any():
        per_row = per_row - mask_sums(mask[:, tall], 1)
    if not per_row.any():
        return 0
    width = mask.shape[1] - int(np.count_nonzero(tall))
    inked = sorted(per_row[per_row > 0].tolist())
    inked_rows = per_row > max(1.0, width / 200, 0.1 * _sorted_percentile(inked, 90))
    edges = np.flatnonzero(np.diff(np.concatenate([[0], inked_rows.view(np.int8), [0]])))
    # A row of writing less than 8 pixels tall could not be read anyway: thinner bands are
    # the stripes of a cheque's hatching, faint but over half the picture.
    bands = [(a, b) for a, b in zip(edges[::2], edges[1::2], strict=True) if b - a >= 8]
    if len(bands) < 2:
        return len(bands)
    heights = np.array([b - a for a, b in bands], float)
    inks = np.array([per_row[a:b].sum() for a, b in bands], float)
    return int(((heights >= 0.5 * heights.max()) & (inks >= 0.2 * inks.max())).sum())


def _add_band(plan: _Plan, ink: np.ndarray, box: tuple[int, int, int, int], text_height: float) -> None:
    """The band around one line's candidates, with the margins the recogniser was trained
    with (a sixth of the line's height above and below, some paper either side)."""
    x, y, w, h = box
    margin_y = max(1, h // 6)
    # Paper either side as the synthesiser leaves it (0.2-1.5 digit heights before a line,
    # 0.2-2 after): with only 0.3, a thin 1 or a bold 8 at a line's end sat where training
    # puts a table's rule, and was dropped. 0.3 -> 0.9, 200 simulated pages per condition:
    # all harder conditions 93.71 -> 94.20%, cheque 86.0 -> 89.0%, clean 97.8 -> 98.5%.
    margin_x = max(2, int(0.9 * max(text_height, h * 0.5)))
    left, right = x - margin_x, x + w + margin_x
    x0, x1 = max(0, left), min(ink.shape[1], right)
    # A margin past the picture's edge is paper (band_of), above and below and either side.
    # Here the candidates are writing (rules went before), so even one cut by the edge gets
    # its margin: the pad's 1s drawn to its top and bottom read 23 of 24, 18 where the band
    # stopped at the edge; one near its right edge, with a third of the paper after it
    # that training lines have, read as nothing now and then.
    top, bottom = y - margin_y, y + h + margin_y
    band, padded = ink[max(0, top): bottom, x0:x1], band_of(ink[:, x0:x1], top, bottom)
    if (x0, x1) != (left, right):
        sides = ((0, 0), (x0 - left, right - x1))
        band, padded = np.pad(band, sides), np.pad(padded, sides)
    plan.bands.append(_Band(left, max(0, top), band, line_input(padded)))


# A digit's 28x28 picture, or the function that makes it (see Digit.network_input).
_Picture = np.ndarray | Callable[[], np.ndarray]


def _digit_picture(crop: np.ndarray) -> np.ndarray:
    """A line digit's ink as the classifier sees it, 28x28."""
    return normalise_like_mnist(crop) if crop.size else np.zeros((28, 28), np.float32)


def _combine(line_p: np.ndarray, classifier_p: np.ndarray | None) -> np.ndarray:
    """One digit's probabilities from both networks. Where the line recogniser is sure, its
    answer stands (the classifier's crop may hold a neighbour's stroke or a separator);
    where it is not, both are taken as independent witnesses: their product, renormalised,
    so that the classifier's sharper view of the digit's own ink decides."""
    if classifier_p is None or float(line_p.max()) >= _SURE_LINE_DIGIT:
        return line_p
    product = line_p.astype(np.float64) * classifier_p.astype(np.float64)
    total = product.sum()
    if total <= 1e-12:
        return line_p
    return product / total


def _line_breaks(lines: list[list[tuple[int, int, int, int]]]) -> list[list[bool]]:
    """Where numbers break in each line of digit boxes. Whether a gap parts two numbers
    depends on how this writer spaces digits, which one line cannot show, so the gap must be
    clearly wider than the page's usual gap (``number_breaks``). The recogniser's own break
    symbol is not used: on simulated pages it only added false breaks (form boxes 97.2% ->
    91.7% of numbers exact with it), and fixed none."""
    heights = [box[3] for line in lines for box in line]
    if not heights:
        return [[] for _ in lines]
    # Sorted lists, not numpy: a line has a handful of digits, and numpy's median and
    # percentile cost 30-50 us a call on so few (a tenth of assembling a line's reading).
    text_height = _sorted_percentile(sorted(heights), 50)
    gaps = sorted(right[0] - left[0] - left[2] for line in lines for left, right in zip(line, line[1:], strict=False))
    typical_gap = max(_sorted_percentile(gaps, 40), 0.0) if gaps else 0.2 * text_height
    return [number_breaks(line, text_height, typical_gap) for line in lines]


def _keep_the_surer(plans: list[_Plan], readings: list[Reading]) -> list[Reading]:
    """One reading per page: where a page's photo was also read whole (its plan's
    ``whole_photo``, the plan after it), the whole photo's reading replaces the sheet's if
    it holds more digits read at 90% or more, and they are most of its digits. Of the real
    sudoku photos whose cut-out sheet was in doubt (11 of 160), the whole photo read 83 sure
    digits of 87 where the sheet read 14, 47 of 47 where it read 14; where the cut was
    right it read fewer sure digits, or none (the desk or the facing page taken for
    texture). A blank sheet on a desk read whole gave 41 sure digits among 124, 9 among
    30: a desk's texture is read mostly unsure, as in ``in_unsure_crowds``.

    More means clearly more (``_clearly_more_than``): the whole photo holds the sheet and
    its writing too, and read with the right ink it reads the same numbers, its lines
    perhaps joined in another order, plus a phantom or two from the desk around (a
    simulated desk photo: 14 sure digits against the sheet's 13, and '0 598082 406' for
    '406 598082'). Where it won on real photos it read 1.4-9 times the sheet's sure digits,
    or 41 against 36."""
    kept: list[Reading] = []
    whole_photos = {id(plan.whole_photo) for plan in plans if plan.whole_photo is not None}
    for plan, reading in zip(plans, readings, strict=True):
        if id(plan) not in whole_photos:
            kept.append(reading)
        elif _sure_digits(reading) > max(_clearly_more_than(_sure_digits(kept[-1])), 0.5 * len(reading.digits)):
            reading.notes.insert(0, "the sheet found held less writing than the rest of the photo: "
                                 "the whole photo was read")
            kept[-1] = reading
    return kept


def _clearly_more_than(count: int) -> float:
    """A count of sure digits that beats ``count`` by more than a phantom or two."""
    return max(count + 3, 1.1 * count)


def _sure_digits(reading: Reading) -> int:
    return 0 if reading.error is not None else sum(digit.confidence >= 0.9 for digit in reading.digits)


def _sorted_percentile(ordered: list[int], percent: float) -> float:
    """np.percentile's answer (linear interpolation) for a short sorted list."""
    rank = percent / 100.0 * (len(ordered) - 1)
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    fraction = rank - low
    a, b = float(ordered[low]), float(ordered[high])
    # numpy's two-sided form, so that the answer matches it to the last bit
    return a + (b - a) * fraction if fraction < 0.5 else b - (b - a) * (1.0 - fraction)


def _rough_text_height(mask: np.ndarray) -> float:
    """Text height before the rules are known: rules as long as a good part of the picture
    are taken out first (digits written on them would merge into one huge component), on
    a half-size copy of large pages for speed."""
    shrink = 2 if min(mask.shape) >= 600 else 1
    small = mask[::shrink, ::shrink] if shrink > 1 else mask
    small, _ = remove_rules(small, max(small.shape) / 12.0)
    return find_candidates(small).text_height * shrink


def _away_from_edges(candidates: list[Candidate], shape: tuple[int, ...],
                     flattened: bool = False) -> list[Candidate]:
    """Drop candidates touching the picture's border when most do not: on a page those are
    the desk, shadows and the sheet's edge, and a digit cut by the border is unreadable.
    A tight crop of a number (most candidates touch the border) keeps them all; a sheet
    flattened from its corners (``flattened``) is no crop of a number, and a wedge of desk
    left along its edge, alone on a blank sheet, was read as a "1" (its border within 2% of
    the sheet's side counts: the ink map fades in the last pixels). A slip cut out to its
    box may hug its writing, and keeps the rule for crops."""
    height, width = shape[:2]
    near = int(0.02 * min(height, width)) if flattened else 0

    def touches(box: tuple[int, int, int, int]) -> bool:
        x, y, w, h = box
        return x <= near or y <= near or x + w >= width - near or y + h >= height - near

    inside = [c for c in candidates if not touches(c.box)]
    return inside if flattened or len(inside) >= 0.5 * len(candidates) else candidates


def _union(boxes: list[tuple[int, int, int, int]]) -> tuple[int, int, int, int]:
    x0 = min(b[0] for b in boxes)
    y0 = min(b[1] for b in boxes)
    x1 = max(b[0] + b[2] for b in boxes)
    y1 = max(b[1] + b[3] for b in boxes)
    return (x0, y0, x1 - x0, y1 - y0)


def _is_single(source: object) -> bool:
    return isinstance(source, str | bytes | bytearray | memoryview | np.ndarray | os.PathLike) or (
        _is_picture(source) or hasattr(source, "read"))


def _is_picture(source: object) -> bool:
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - pillow is a dependency
        return False
    return isinstance(source, Image.Image)


def _checked_sources(source: object) -> list[object]:
    """``source`` as a list of sources, each of a kind ``read`` takes, or the error saying
    which one is not and what is accepted."""
    if _is_single(source):
        sources, where = [source], "source"
    elif isinstance(source, Iterable) and not isinstance(source, Mapping):
        sources, where = list(source), "source[{}]"
    else:
        raise ArgumentTypeError(f"source must be {_SOURCE_KINDS}, or a list of these; got {_shown(source)}")
    for index, item in enumerate(sources):
        name = where.format(index)
        if not _is_single(item):
            raise ArgumentTypeError(f"{name} must be {_SOURCE_KINDS}; got {_shown(item)}")
        if isinstance(item, io.TextIOBase):
            raise ArgumentTypeError(f"{name} is a file open in text mode: open it with open(path, 'rb')")
        if isinstance(item, str | os.PathLike) and os.fspath(item) in ("", b""):
            raise ArgumentError(f"{name} is an empty path: name a file or folder ('.' for this folder)")
        if isinstance(item, np.ndarray) and not (
            np.issubdtype(item.dtype, np.number) or item.dtype == np.bool_
        ):
            raise ArgumentTypeError(
                f"{name} must be a numeric image array (uint8 0..255, or float 0..1), got dtype {item.dtype}"
            )
    return sources


def _shown(value: object) -> str:
    text = repr(value)
    text = text if len(text) <= 40 else text[:37] + "..."
    return f"{text} ({type(value).__name__})"


def _checked_pages(pages: Iterable[Page]) -> Iterator[Page]:
    for index, page in enumerate(pages):
        if not isinstance(page, Page):
            raise ArgumentTypeError(
                f"pages[{index}] must be a digitscan Page (from imageio.load_pages), got {_shown(page)}; "
                "to read files, arrays or bytes use Reader.read"
            )
        yield page


def _pages_of(sources: list[object], max_pages: int = MAX_PAGES) -> Iterator[Page]:
    for source in sources:
        if isinstance(source, np.ndarray):
            yield _array_page(source, "<array>")
        elif _is_picture(source):
            yield _picture_page(source)
        elif isinstance(source, memoryview):
            yield from iter_decoded(source.tobytes(), "<bytes>", max_pages)
        elif hasattr(source, "read") and not isinstance(source, str | bytes | bytearray | os.PathLike):
            yield from _file_object_pages(source, max_pages)
        else:
            yield from load_pages([source], max_pages)  # type: ignore[list-item]


def _picture_page(picture: object) -> Page:
    try:
        return Page("<image>", 1, picture_to_array(picture))
    except ValueError as exc:
        return Page("<image>", 1, None, str(exc))


def _file_object_pages(handle: object, max_pages: int) -> Iterator[Page]:
    """An open file read as one file (never line by line), up to the size limit."""
    name = getattr(handle, "name", None)
    name = name if isinstance(name, str) and name else "<file>"
    data = handle.read(MAX_FILE_BYTES + 1)  # type: ignore[attr-defined]
    if isinstance(data, str):
        raise ArgumentTypeError(f"{name} is open in text mode: open it with open(path, 'rb')")
    if not isinstance(data, bytes | bytearray | memoryview):
        raise ArgumentTypeError(f"{name}: read() gave {_shown(data)}, expected bytes")
    if len(data) > MAX_FILE_BYTES:
        yield Page(name, 1, None, f"file is above the limit of {MAX_FILE_BYTES // (1024 * 1024)} MB")
        return
    yield from iter_decoded(bytes(data), name, max_pages)


def _array_page(image: np.ndarray, name: str) -> Page:
    array = np.asarray(image)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        return Page(name, 1, None, f"expected a grey (H, W) or colour (H, W, 3) array, "
                                   f"got shape {array.shape}")
    if min(array.shape[:2]) < 2:
        return Page(name, 1, None, f"image is {array.shape[1]}x{array.shape[0]} pixels, "
                                   "too small to hold a digit")
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
        return Page(name, 1, None, f"expected a numeric image array (uint8 0..255, or float 0..1), "
                                   f"got dtype {array.dtype}")
    if array.dtype != np.uint8:
        try:
            array = scale_to_uint8(array)
        except ValueError as exc:
            return Page(name, 1, None, str(exc))
    if array.ndim == 3:
        array = array[..., :3]
    return Page(name, 1, np.ascontiguousarray(array))
