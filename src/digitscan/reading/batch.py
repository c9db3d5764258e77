"""Reading many files on one machine: every core, results in input order, resumable.

Files are spread over worker processes, each with its own ``Reader`` (ONNX Runtime and
OpenCV on one thread each, so workers do not fight over cores), and the results come back
in input order as soon as every file before them is done. Only a few chunks of paths are
in flight at a time and nothing keeps the results, so memory stays flat however many
files there are; folders are walked lazily, one directory listing at a time.

Output is JSON Lines (one ``Reading.to_dict()`` per page, as ``digitscan read --json``) or
CSV (``CSV_COLUMNS``: one row per line of writing). Each file's lines are appended and
flushed as soon as it is read, so a crash leaves every finished line intact; ``resume``
skips the files already in the output, ignoring a partial last line.

>>> from digitscan.reading.batch import read_batch
>>> summary = read_batch(["scans/"], "readings.jsonl", jobs=4, resume=True)  # doctest: +SKIP
>>> summary.files, summary.failed                                              # doctest: +SKIP
(120000, 3)
"""

from __future__ import annotations

import csv
import io
import json
import multiprocessing
import os
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from itertools import islice
from pathlib import Path
from typing import IO, Any

from ..errors import DigitscanError
from .imageio import IMAGE_SUFFIXES, MAX_PAGES, load_pages
from .results import Reading

__all__ = [
    "CSV_COLUMNS",
    "FORMATS",
    "BatchSummary",
    "FileResult",
    "csv_rows",
    "default_jobs",
    "done_files",
    "iter_files",
    "read_batch",
    "read_files",
]

FORMATS = ("jsonl", "csv", "readings")
# One row per line of writing; a page with no writing, or that could not be read, has one
# row with line 0.
CSV_COLUMNS = ("file", "page", "line", "text", "mean_confidence", "lowest_confidence", "unsure", "error")
# Fewer files than this are read in this process: starting workers (each imports numpy,
# OpenCV and ONNX Runtime and loads the model) costs more than it saves.
_SMALL_RUN = 16
# A chunk of files is sized to take about this long, so that a worker's answer is worth
# the trip between processes and the last chunks still share out evenly.
_SECONDS_PER_CHUNK = 0.25
_MAX_CHUNK = 64
# Chunks in flight per worker: enough to keep every worker busy while the oldest chunk is
# waited for, few enough that memory does not grow with the number of files.
_CHUNKS_PER_WORKER = 3


@dataclass(frozen=True)
class FileResult:
    """What one input gave: its output ``lines`` (JSON or CSV text, no newline) or, with
    format ``"readings"``, its ``readings``; ``pages`` read and whether any ``failed``."""

    file: str
    lines: tuple[str, ...]
    pages: int
    failed: bool
    readings: tuple[Reading, ...] = ()


@dataclass(frozen=True)
class BatchSummary:
    """How a ``read_batch`` run went: files read now, files skipped as already done, pages,
    files with an error, and the wall-clock seconds."""

    files: int
    skipped: int
    pages: int
    failed: int
    seconds: float

    @property
    def files_per_second(self) -> float:
        return self.files / self.seconds if self.seconds > 0 else 0.0


def default_jobs() -> int:
    """The cores this process may run on (a container's or ``taskset``'s limit included)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def iter_files(inputs: Iterable[str | os.PathLike[str]]) -> Iterator[str]:
    """The files to read, folders expanded recursively in the order ``imageio.list_inputs``
    gives (sorted by full path), but one directory listing at a time, so ten million files
    are never held in one list. A folder with no images is yielded as itself (its reading
    then says so); ``"-"`` and names that do not exist are yielded as they are."""
    for item in inputs:
        name = os.fspath(item)
        if name != "-" and os.path.isdir(name):
            found = False
            for path in _walk_sorted(name):
                found = True
                yield path
            if not found:
                yield name
        else:
            yield name


def _walk_sorted(folder: str) -> Iterator[str]:
    # A folder's entries sorted by name, a subfolder's name with "/" after it: that is the
    # order of sorting every full path as a string, which is what list_inputs does.
    try:
        with os.scandir(folder) as listing:
            entries = [(entry.name + "/" if _is_dir(entry) else entry.name, entry.path) for entry in listing]
    except OSError:
        return
    for key, path in sorted(entries):
        if key.endswith("/"):
            yield from _walk_sorted(path)
        elif Path(key).suffix.lower() in IMAGE_SUFFIXES and os.path.isfile(path):
            yield path


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def csv_rows(reading: Reading) -> list[tuple[Any, ...]]:
    """The ``CSV_COLUMNS`` rows of one page: one per line of writing, with the mean and the
    lowest confidence of its digits (rounded as in the JSON) and how many are unsure; None
    where there is no value (written as an empty CSV field)."""
    if reading.error is not None or not reading.lines:
        return [(reading.file, reading.page, 0, "", None, None, 0, reading.error)]
    rows = []
    for number, line in enumerate(reading.lines, start=1):
        confidences = [round(digit.confidence, 4) for digit in line.digits]
        mean = round(sum(confidences) / len(confidences), 4) if confidences else None
        lowest = min(confidences) if confidences else None
        unsure = sum(digit.unsure for digit in line.digits)
        rows.append((reading.file, reading.page, number, line.text, mean, lowest, unsure, None))
    return rows


def csv_line(row: Iterable[Any]) -> str:
    """One CSV record as text, without its line ending."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(row)
    return buffer.getvalue()[:-1]


# --- reading chunks of files: the same code in a worker and in this process --------------

_reader = None  # the worker's Reader, made once by _start_worker


def _start_worker(model: str | None, min_confidence: float) -> None:
    global _reader
    import signal

    import cv2

    from .reader import Reader

    # Ctrl-C is for the main process, which stops the workers; not a traceback from each.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # One thread each: the parallelism is the worker processes.
    cv2.setNumThreads(1)
    _reader = Reader(model, min_confidence=min_confidence, threads=1)


def _read_chunk(names: list[str], layout: str, max_pages: int, format: str,
                reader: Any = None) -> tuple[list[FileResult], float]:
    """Read ``names`` (one ``read_pages`` call, so their digits are classified together) and
    format each file's pages; also the seconds it took."""
    started = time.perf_counter()
    reader = reader or _reader
    owners: list[int] = []  # for each page read, the index in ``names`` of its file

    def pages() -> Iterator[Any]:
        for index, name in enumerate(names):
            for page in load_pages([name], max_pages):
                owners.append(index)
                yield page

    readings = reader.read_pages(pages(), layout)
    by_file: list[list[Reading]] = [[] for _ in names]
    for index, reading in zip(owners, readings, strict=True):
        by_file[index].append(reading)
    results = [_file_result(name, file_readings, format) for name, file_readings in zip(names, by_file, strict=True)]
    return results, time.perf_counter() - started


def _file_result(name: str, readings: list[Reading], format: str) -> FileResult:
    failed = any(reading.error is not None for reading in readings)
    if format == "jsonl":
        lines = tuple(json.dumps(reading.to_dict()) for reading in readings)
        return FileResult(name, lines, len(readings), failed)
    if format == "csv":
        lines = tuple(csv_line(row) for reading in readings for row in csv_rows(reading))
        return FileResult(name, lines, len(readings), failed)
    # The 28x28 pictures the network saw stay behind: they are most of a Reading's weight.
    light = tuple(_without_pictures(reading) for reading in readings)
    return FileResult(name, (), len(readings), failed, light)


def _without_pictures(reading: Reading) -> Reading:
    digits = {id(d): replace(d, network_input=None) for d in reading.digits}
    lines = [replace(line, digits=[digits.get(id(d), replace(d, network_input=None)) for d in line.digits])
             for line in reading.lines]
    return replace(reading, lines=lines, digits=list(digits.values()))


def read_files(inputs: Iterable[str | os.PathLike[str]], *, jobs: int | None = None, format: str = "jsonl",
               layout: str = "auto", model: str | os.PathLike[str] | None = None,
               min_confidence: float = 0.5, max_pages: int = MAX_PAGES,
               skip: Callable[[str], bool] | None = None) -> Iterator[FileResult]:
    """Read every file of ``inputs`` (files and folders; ``"-"`` for standard input) with
    ``jobs`` worker processes (default: the cores available) and yield one ``FileResult``
    per file, in input order, each as soon as it and every file before it are read.

    ``format``: ``"jsonl"`` or ``"csv"`` (the lines to write, made in the workers) or
    ``"readings"`` (the ``Reading`` objects, without the 28x28 network inputs). ``skip``:
    files for which it returns True are not read (``read_batch`` passes those already done).
    Fewer than 16 files, or standard input, are read in this process. A script that starts
    workers needs the usual ``if __name__ == "__main__":`` guard of multiprocessing.

    >>> for result in read_files(["scans/"], jobs=2):            # doctest: +SKIP
    ...     print(result.file, result.lines[0][:40])
    """
    from .reader import LAYOUTS, Reader

    if format not in FORMATS:
        raise DigitscanError(f"unknown format {format!r}: expected one of {', '.join(FORMATS)}")
    if layout not in LAYOUTS:
        raise DigitscanError(f"unknown layout {layout!r}: expected one of {', '.join(LAYOUTS)}")
    jobs = default_jobs() if jobs is None else jobs
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise DigitscanError(f"jobs must be a whole number >= 1, got {jobs!r}")
    model = None if model is None else os.fspath(model)
    inputs = list(inputs) if isinstance(inputs, list | tuple) else inputs
    names = (name for name in iter_files(inputs) if skip is None or not skip(name))
    head = list(islice(names, _SMALL_RUN))
    if jobs == 1:
        # One core, as asked: ONNX Runtime and OpenCV on one thread each.
        import cv2

        threads = cv2.getNumThreads()
        cv2.setNumThreads(1)
        try:
            reader = Reader(model, min_confidence=min_confidence, threads=1)
            yield from _read_here(_chain(head, names), reader, layout, max_pages, format)
        finally:
            cv2.setNumThreads(threads)
        return
    if len(head) < _SMALL_RUN or (isinstance(inputs, list) and "-" in inputs):
        # A small run is not worth starting workers; standard input can only be read here.
        reader = Reader(model, min_confidence=min_confidence)
        yield from _read_here(_chain(head, names), reader, layout, max_pages, format)
        return
    yield from _read_in_workers(_chain(head, names), jobs, model, min_confidence, layout, max_pages, format)


def _chain(head: list[str], rest: Iterator[str]) -> Iterator[str]:
    yield from head
    yield from rest


def _read_here(names: Iterator[str], reader: Any, layout: str, max_pages: int,
               format: str) -> Iterator[FileResult]:
    chunk_size = 1
    while True:
        chunk = list(islice(names, chunk_size))
        if not chunk:
            return
        results, seconds = _read_chunk(chunk, layout, max_pages, format, reader)
        yield from results
        chunk_size = _next_chunk_size(len(chunk), seconds)


def _next_chunk_size(files: int, seconds: float) -> int:
    per_file = max(seconds / max(files, 1), 1e-5)
    return max(1, min(_MAX_CHUNK, round(_SECONDS_PER_CHUNK / per_file)))


def _read_in_workers(names: Iterator[str], jobs: int, model: str | None, min_confidence: float,
                     layout: str, max_pages: int, format: str) -> Iterator[FileResult]:
    # forkserver where there is one (a clean process forked per worker, quick to start);
    # never plain fork: ONNX Runtime's and OpenCV's threads do not survive it.
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    pool = ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context(method),
                               initializer=_start_worker, initargs=(model, min_confidence))
    in_flight: deque[tuple[list[str], Future[tuple[list[FileResult], float]]]] = deque()
    chunk_size = 2
    try:
        while True:
            while len(in_flight) < jobs * _CHUNKS_PER_WORKER:
                chunk = list(islice(names, chunk_size))
                if not chunk:
                    break
                in_flight.append((chunk, pool.submit(_read_chunk, chunk, layout, max_pages, format)))
            if not in_flight:
                return
            chunk, future = in_flight.popleft()
            try:
                results, seconds = future.result()
            except BrokenProcessPool:
                raise DigitscanError(
                    f"a worker process died reading one of {chunk[0]} ... {chunk[-1]} "
                    "(out of memory, or a decoder crashed); what was written before is kept: "
                    "run again with --resume to go on"
                ) from None
            chunk_size = _next_chunk_size(len(chunk), seconds)
            yield from results
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


# --- writing: append and flush each file, resume from what is there ----------------------

def done_files(path: str | os.PathLike[str], format: str) -> set[str]:
    """The files already in the output ``path`` (JSON Lines or CSV), after cutting off a
    partial last line that a crash may have left. An empty or missing file gives none."""
    target = Path(path)
    if not target.is_file() or target.stat().st_size == 0:
        return set()
    _cut_partial_last_line(target)
    done: set[str] = set()
    with open(target, encoding="utf-8", newline="") as handle:
        if format == "csv":
            rows = csv.reader(handle)
            header = next(rows, None)
            if header is not None and tuple(header) != CSV_COLUMNS:
                raise DigitscanError(f"--resume {path}: not a digitscan CSV (its first line is not the header "
                                     f"{','.join(CSV_COLUMNS)}); choose the --out file of an earlier --csv run")
            done.update(row[0] for row in rows if row)
            return done
        for number, line in enumerate(handle, start=1):
            try:
                done.add(json.loads(line)["file"])
            except (ValueError, KeyError, TypeError):
                raise DigitscanError(f"--resume {path}: line {number} is not a digitscan JSON reading; "
                                     "choose the --out file of an earlier --json run (or add --csv)") from None
    return done


def _cut_partial_last_line(path: Path) -> None:
    with open(path, "rb+") as handle:
        size = handle.seek(0, os.SEEK_END)
        position = size
        while position > 0:
            step = min(65536, position)
            handle.seek(position - step)
            block = handle.read(step)
            newline = block.rfind(b"\n")
            if newline >= 0:
                position = position - step + newline + 1
                break
            position -= step
        if position != size:
            handle.truncate(position)


def read_batch(inputs: Iterable[str | os.PathLike[str]], out: str | os.PathLike[str] | IO[str] | None = None,
               *, format: str = "jsonl", resume: bool = False, overwrite: bool = False,
               jobs: int | None = None, layout: str = "auto", model: str | os.PathLike[str] | None = None,
               min_confidence: float = 0.5, max_pages: int = MAX_PAGES,
               progress: Callable[[int, int, int], None] | None = None) -> BatchSummary:
    """Read every file of ``inputs`` with ``jobs`` worker processes and write the results
    to ``out`` (a path, a text stream, or None for standard output) as JSON Lines or CSV,
    in input order, each file's lines flushed as soon as it is read.

    A path that already holds results is continued with ``resume=True`` (files in it are
    skipped), replaced with ``overwrite=True``, and otherwise refused. ``progress`` is
    called after each file with (files read, files failed, files skipped).

    >>> read_batch(["scans/"], "readings.csv", format="csv", resume=True)  # doctest: +SKIP
    BatchSummary(files=20000, skipped=0, pages=20000, failed=0, seconds=14.2)
    """
    if format not in ("jsonl", "csv"):
        raise DigitscanError(f"unknown output format {format!r}: expected jsonl or csv")
    done: set[str] = set()
    if out is None or hasattr(out, "write"):
        if resume:
            raise DigitscanError("--resume needs --out FILE, the output of the run to continue")
        stream: IO[str] = out if out is not None else sys.stdout  # type: ignore[assignment]
        fresh, handle = True, None
    else:
        target = Path(out)
        if target.is_dir():
            raise DigitscanError(f"--out {target}: is a folder; name a file (readings.jsonl, readings.csv)")
        has_results = target.is_file() and target.stat().st_size > 0
        if has_results and not (resume or overwrite):
            raise DigitscanError(f"--out {target}: already holds results; pass --resume to go on from them "
                                 "or --overwrite to replace them")
        if resume and not overwrite:
            done = done_files(target, format)
        handle = open(target, "a" if resume and not overwrite else "w", encoding="utf-8", newline="")
        stream, fresh = handle, handle.tell() == 0
    skipped = 0

    def already_done(name: str) -> bool:
        nonlocal skipped
        if name in done:
            skipped += 1
            return True
        return False

    files = pages = failed = 0
    started = time.perf_counter()
    try:
        if format == "csv" and fresh:
            stream.write(csv_line(CSV_COLUMNS) + "\n")
            stream.flush()
        for result in read_files(inputs, jobs=jobs, format=format, layout=layout, model=model,
                                 min_confidence=min_confidence, max_pages=max_pages,
                                 skip=already_done if done else None):
            # One write per file: a crash leaves whole files' lines, or a partial last line.
            stream.write("".join(line + "\n" for line in result.lines))
            stream.flush()
            files += 1
            pages += result.pages
            failed += result.failed
            if progress is not None:
                progress(files, failed, skipped)
    finally:
        if handle is not None:
            handle.close()
    return BatchSummary(files, skipped, pages, failed, time.perf_counter() - started)
