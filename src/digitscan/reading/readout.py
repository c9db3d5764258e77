"""Turning readings into what the command line shows and writes.

* ``marked_text``        the text read, each unsure digit followed by ``?``
* ``write_annotation``   one page drawn with its boxes and digits, as a PNG file
* ``write_annotations``  each input drawn with its boxes and digits, as PNG files

Nothing already there is replaced unless asked (``overwrite``), and never a folder or a
symbolic link: an annotated picture must not clobber a user's file.

>>> marked_text(reading)                             # doctest: +SKIP
'1247?673'
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from ..errors import DigitscanError
from ..files import write_bytes
from .annotate import draw_reading
from .imageio import load_pages
from .results import Reading

__all__ = ["annotation_name", "marked_text", "write_annotation", "write_annotations"]

UNSURE_MARK = "?"


def marked_text(reading: Reading) -> str:
    """The reading's text with ``?`` after every digit marked unsure."""
    lines = []
    for line in reading.lines:
        digits = iter(line.digits)
        marked = []
        for char in line.text:
            if char.isdigit():
                digit = next(digits)
                marked.append(char + (UNSURE_MARK if digit.unsure else ""))
            else:
                marked.append(char)
        lines.append("".join(marked))
    return "\n".join(lines)


def annotation_name(file: str, page: int, pages: int) -> str:
    """``scan.read.png``, or ``scan.p2.read.png`` for page 2 of a multi-page file."""
    stem = "stdin" if file == "-" else Path(file).stem or "picture"
    return f"{stem}.p{page}.read.png" if pages > 1 else f"{stem}.read.png"


def write_annotation(image: np.ndarray, reading: Reading, path: Path, overwrite: bool = False) -> Path:
    """Write ``image`` with ``reading`` drawn on it to ``path`` as PNG; return ``path``.

    Raises ``DigitscanError`` when ``path`` is a folder or a symbolic link, or a file and
    ``overwrite`` is not set.
    """
    from PIL import Image

    if path.is_symlink():
        raise DigitscanError(f"{path} is a symbolic link; not replaced (remove it first)")
    if path.is_dir():
        raise DigitscanError(f"{path} is a folder; not replaced (remove it or choose another --annotate folder)")
    if path.exists() and not overwrite:
        raise DigitscanError(f"{path} already exists; pass --overwrite to replace it")
    buffer = io.BytesIO()
    Image.fromarray(draw_reading(image, reading)).save(buffer, format="PNG")
    write_bytes(path, buffer.getvalue())
    return path


def write_annotations(readings: list[Reading], folder: Path, overwrite: bool = False) -> list[Path]:
    """Write every readable input with its reading drawn on it; return the files written.

    Pictures from standard input cannot be loaded a second time and are skipped.
    """
    by_file: dict[str, list[Reading]] = {}
    for reading in readings:
        by_file.setdefault(reading.file, []).append(reading)
    written: list[Path] = []
    used: set[str] = set()
    for file, file_readings in by_file.items():
        if file in ("-", "<bytes>", "<array>"):
            continue
        pages = {page.page: page for page in load_pages([file])}
        for reading in file_readings:
            page = pages.get(reading.page)
            if page is None or page.image is None:
                continue
            name = annotation_name(file, reading.page, len(file_readings))
            base, count = name, 2
            while name in used:  # two inputs with one name in different folders
                name = base.replace(".read.png", f"-{count}.read.png")
                count += 1
            used.add(name)
            written.append(write_annotation(page.image, reading, folder / name, overwrite))
    return written
