"""What a lab report is made of, independent of HTML or Markdown: sections of paragraphs,
tables, pictures and code. ``report_sections`` fills them from a run; ``report_render``
turns them into a page.

>>> Section(1, "Aim", [Paragraph("To train the lab's network on MNIST.")])   # doctest: +SKIP
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "Block",
    "Code",
    "Facts",
    "Figure",
    "LabReport",
    "Paragraph",
    "Picture",
    "Row",
    "Section",
    "Steps",
    "Subheading",
    "Table",
    "picture_from_array",
]


@dataclass(frozen=True)
class Picture:
    """A PNG picture: ``name`` is its file name when the report keeps pictures beside it.

    ``pixelated`` asks the page to enlarge it without smoothing (28x28 network inputs)."""

    name: str
    png: bytes
    alt: str
    width: int  # CSS pixels it is shown at, at most
    pixelated: bool = False
    print_height: float = 7.0  # centimetres it may take on a printed page, at most

    @property
    def print_width(self) -> float:
        """Centimetres wide on paper: ``width`` CSS pixels, narrowed to keep within
        ``print_height`` at the picture's own proportions."""
        pixels_wide, pixels_high = struct.unpack(">II", self.png[16:24])  # the PNG's IHDR
        screen_cm = self.width * 2.54 / 96
        return min(screen_cm, self.print_height * pixels_wide / max(1, pixels_high))


@dataclass(frozen=True)
class Paragraph:
    text: str


@dataclass(frozen=True)
class Steps:
    """A numbered list: the design steps, in the order the run did them."""

    items: list[str]


@dataclass(frozen=True)
class Facts:
    """Name-value pairs shown as a two-column table (versions, settings, hardware)."""

    rows: list[tuple[str, str]]
    caption: str = ""
    pairs_per_row: int = 1  # 2 or 3: a long list as a compact grid of pairs


Cell = str | Picture


@dataclass(frozen=True)
class Table:
    """A table; ``numeric`` columns are right-aligned. Cells are text or small pictures."""

    columns: list[str]
    rows: list[list[Cell]]
    caption: str = ""
    numeric: set[int] = field(default_factory=set)


@dataclass(frozen=True)
class Figure:
    picture: Picture
    caption: str


@dataclass(frozen=True)
class Code:
    """Text shown exactly as it is, in a monospaced font (commands, printed tables)."""

    text: str
    caption: str = ""


@dataclass(frozen=True)
class Subheading:
    """A sub-part of a section (level 3: "6.1 Loss"; level 4: one sample picture)."""

    text: str
    level: int = 3


@dataclass(frozen=True)
class Row:
    """Blocks side by side where the page is wide enough (a picture and its table, two
    plots), one under the other on a phone."""

    blocks: list[Paragraph | Facts | Table | Figure]


Block = Paragraph | Steps | Facts | Table | Figure | Code | Subheading | Row


@dataclass(frozen=True)
class Section:
    """A numbered section of the lab's template."""

    number: int
    title: str
    blocks: list[Block]

    @property
    def anchor(self) -> str:
        return f"s{self.number}"


@dataclass(frozen=True)
class LabReport:
    """The whole report: a title, a few lines on where it came from, the sections."""

    title: str
    about: list[str]
    sections: list[Section]
    # The title block a teacher expects: (label, value) pairs such as ("Author", "A. Student").
    credits: list[tuple[str, str]] = field(default_factory=list)


def picture_from_array(
    image: np.ndarray, name: str, alt: str, width: int, pixelated: bool = False, print_height: float = 7.0
) -> Picture:
    """A Picture of a uint8 (or [0, 1] float) grey or RGB array, as PNG."""
    from PIL import Image

    pixels = image
    if pixels.dtype != np.uint8:
        pixels = (np.clip(pixels, 0.0, 1.0) * 255).round().astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return Picture(name, buffer.getvalue(), alt, width, pixelated, print_height)
