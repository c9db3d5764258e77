"""What reading a page gives back: digits, lines and the page's reading.

``Reading.to_dict()`` is the JSON object ``digitscan read --json`` prints, one per page:

    {"file": "form.png", "page": 1, "width": 900, "height": 600, "text": "1247\\n89",
     "lines": [{"text": "1247", "box": [x, y, w, h], "digits": [...]}, ...],
     "digits": [{"digit": 7, "confidence": 0.998, "unsure": false, "box": [x, y, w, h],
                 "top": [[7, 0.998], [1, 0.001], [2, 0.0005]]}, ...],
     "error": null}

A grid (``--layout grid``) adds ``"cells"``: rows of ``{"text": "7", "box": [x, y, w, h],
"notes": false}``, ``""`` for a blank cell, the digits of candidate notes with ``"notes":
true``; its ``"text"`` is the grid as rows (see ``reading.grid``).

Boxes are (x, y, width, height) in the input picture's pixels (PDF pages: pixels of the
page rendered at 200 dpi).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Cell", "Digit", "Line", "Reading"]

Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class Digit:
    """One digit read: the answer, how sure the model is, where it is, and the runners-up.

    ``network_input`` is the 28x28 picture the classifier saw, or would see (white ink on
    black, [0, 1]); it is left out of ``to_dict`` and of comparisons. It may be given as a
    function of no arguments that makes the picture, called when the picture is first
    read: a line's digits that the line recogniser is sure of never go to the classifier,
    and making their pictures only for the report or the web page that shows them saves
    0.7 ms of a line's 6-7 ms of CPU.
    """

    digit: int
    confidence: float
    unsure: bool
    box: Box
    top: list[tuple[int, float]]
    network_input: np.ndarray | Callable[[], np.ndarray] | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "digit": self.digit,
            "confidence": round(self.confidence, 4),
            "unsure": self.unsure,
            "box": list(self.box),
            "top": [[digit, round(p, 4)] for digit, p in self.top],
        }


def _network_input(digit: Digit) -> np.ndarray | None:
    value = digit.__dict__["_network_input"]
    if callable(value):
        value = digit.__dict__["_network_input"] = value()
    return value


def _set_network_input(digit: Digit, value: np.ndarray | Callable[[], np.ndarray] | None) -> None:
    digit.__dict__["_network_input"] = value


# A property in place of the dataclass's attribute (the generated __init__ still takes
# ``network_input``): reading it makes the picture once, if it was given as a function.
Digit.network_input = property(_network_input, _set_network_input)  # type: ignore[assignment]


@dataclass(frozen=True)
class Line:
    """A line of writing: its text (numbers separated by one space), box and digits."""

    text: str
    box: Box
    digits: list[Digit]

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "box": list(self.box),
            "digits": [d.to_dict() for d in self.digits],
        }


@dataclass(frozen=True)
class Cell:
    """One cell of a grid (``--layout grid``): what it holds, ``""`` when blank, else the
    digits read (a number, or the small digits of candidate notes, ``notes`` True), and
    its box."""

    text: str
    box: Box
    digits: list[Digit]
    notes: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "box": list(self.box), "notes": self.notes}


@dataclass(frozen=True)
class Reading:
    """Everything read from one page of one file, or why it could not be read (``error``)."""

    file: str
    page: int
    width: int
    height: int
    text: str
    lines: list[Line]
    digits: list[Digit]
    error: str | None = None
    # What the reader wants a person to know about how it read the page (a picture given
    # as one line that held several, say).
    notes: list[str] = field(default_factory=list)
    # A grid read with ``layout="grid"``: rows of cells, top to bottom, each left to right;
    # None for every other layout.
    cells: list[list[Cell]] | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        grid = {} if self.cells is None else {
            "cells": [[cell.to_dict() for cell in row] for row in self.cells]}
        return {
            "file": self.file,
            "page": self.page,
            "width": self.width,
            "height": self.height,
            "text": self.text,
            "lines": [line.to_dict() for line in self.lines],
            "digits": [d.to_dict() for d in self.digits],
            "error": self.error,
            "notes": list(self.notes),
            **grid,
        }

    @classmethod
    def failed(cls, file: str, page: int, error: str, width: int = 0,
               height: int = 0) -> Reading:
        return cls(file, page, width, height, "", [], [], error)
