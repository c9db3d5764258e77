"""Turning readings into what the command line shows and writes.

* ``marked_text``        the text read, each unsure digit followed by ``?``
* ``write_annotation``   one page drawn with its boxes and digits, as a PNG file
* ``write_annotations``  each input drawn with its boxes and digits, as PNG files
* ``BatchProgress``      files read, files/s and time left while reading many files

Nothing already there is replaced unless asked (``overwrite``), and never a folder or a
symbolic link: an annotated picture must not clobber a user's file.

>>> marked_text(reading)                             # doctest: +SKIP
'1247?673'
"""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DigitscanError
from ..files import write_bytes
from .annotate import draw_reading
from .imageio import load_pages
from .results import Reading

__all__ = ["BatchProgress", "annotation_name", "marked_text", "write_annotation", "write_annotations"]

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


class BatchProgress:
    """Progress of a batch read on ``console`` (stderr): a Rich bar with files/s and the
    time left when ``live`` (a terminal), otherwise a plain line every ``every`` seconds
    that a log keeps readable; nothing at all when ``quiet``. The inputs are counted in a
    background thread, so the time left appears once the count is known.

    >>> with BatchProgress(["scans/"], console, live=True) as progress:   # doctest: +SKIP
    ...     read_batch(["scans/"], "out.jsonl", progress=progress.update)
    """

    def __init__(self, inputs: list[str], console: Any, live: bool, quiet: bool = False,
                 every: float = 10.0) -> None:
        self.console, self.live, self.quiet, self.every = console, live, quiet, every
        self.inputs = list(inputs)
        self.total: int | None = None
        self.skipped = 0
        self._started = self._last_line = time.monotonic()
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> BatchProgress:
        if self.quiet:
            return self
        threading.Thread(target=self._count, daemon=True, name="digitscan-count").start()
        if self.live:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._bar = Progress(TextColumn("reading"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[rate]} files/s"), TextColumn("{task.fields[failed]}"),
                                 TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                                 console=self.console, transient=False)
            self._bar.__enter__()
            self._task = self._bar.add_task("reading", total=None, rate="-", failed="")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)

    def _count(self) -> None:
        from .batch import iter_files

        self.total = sum(1 for _ in iter_files(self.inputs))

    def update(self, files: int, failed: int, skipped: int) -> None:
        """Called by ``read_batch`` after each file."""
        if self.quiet:
            return
        now = time.monotonic()
        rate = files / max(now - self._started, 1e-9)
        left = None if self.total is None else max(self.total - skipped - files, 0)
        if self._bar is not None:
            total = None if self.total is None else self.total - skipped
            self._bar.update(self._task, completed=files, total=total, rate=f"{rate:,.0f}",
                             failed=f"{failed:,} failed" if failed else "")
        elif now - self._last_line >= self.every:
            self._last_line = now
            of = f" of {self.total - skipped:,}" if self.total is not None else ""
            eta = f", about {_duration(left / rate)} left" if left is not None and rate > 0 else ""
            self.console.print(f"read {files:,}{of} files ({failed:,} failed), {rate:,.1f} files/s{eta}",
                               highlight=False, markup=False, soft_wrap=True)


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"
