"""Reading on Ray: the batch reader as a Ray Dataset, for more files than one machine reads.

Files (local paths, or a directory URI such as ``s3://bucket/forms/`` that pyarrow or
fsspec can list) become a Dataset of their bytes (``ray.data.read_binary_files``); a pool
of actors, each holding one ``Reader``, reads them in batches (``map_batches``); the rows,
the same columns as ``digitscan read --csv`` (``batch.CSV_COLUMNS``), are written by the
cluster as JSON Lines, Parquet or CSV files into a folder or URI. Each file is read exactly
as ``Reader.read`` reads it, so the rows are the single-process reader's, file for file.

Needs the ``cluster`` extra (``pip install 'digitscan[cluster]'``), on every node of a
cluster, with the same digitscan version.

>>> from digitscan.reading.cluster import read_on_ray
>>> read_on_ray(["scans/"], "readings/")                       # doctest: +SKIP
RaySummary(files=20000, rows=20000, failed=0, seconds=16.1)
>>> read_on_ray(["s3://archive/forms/"], "s3://archive/readings/",
...             address="ray://head:10001", format="parquet")  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..errors import DigitscanError
from .batch import CSV_COLUMNS, csv_rows, iter_files
from .imageio import IMAGE_SUFFIXES, MAX_FILE_BYTES, MAX_PAGES, iter_decoded

__all__ = ["OUTPUT_FORMATS", "RaySummary", "read_on_ray"]

OUTPUT_FORMATS = ("jsonl", "parquet", "csv")
# Files handed to an actor at a time: as many as leaves each actor at least
# _BATCHES_PER_ACTOR batches (big pages spread over the actors), between these bounds (a
# crop takes under a millisecond: 32 at a time, Ray's trips cost more than the reading;
# measured on 20,000 crops, 2 cores: 724 files/s at 32, 895 at 128).
_FILES_PER_BATCH = 32
_MOST_FILES_PER_BATCH = 256
_BATCHES_PER_ACTOR = 8
# Ray counts CPUs to place work: the actors take most of a CPU each, and the tasks that
# load files (waiting on storage, mostly) the rest, so neither starves the other.
_BATCHES_PER_BLOCK = 4
_MAX_BLOCKS = 20_000
_ACTOR_CPUS = 0.9
_LOAD_CPUS = 0.1


@dataclass(frozen=True)
class RaySummary:
    """How a ``read_on_ray`` run went: files read, rows written, files with an error, and
    the wall-clock seconds (start-up of a local Ray instance included)."""

    files: int
    rows: int
    failed: int
    seconds: float

    @property
    def files_per_second(self) -> float:
        return self.files / self.seconds if self.seconds > 0 else 0.0


def _is_uri(name: str) -> bool:
    return "://" in name


class _ReadFiles:
    """One actor: a Reader loaded once, reading a batch of files' bytes per call."""

    def __init__(self, roots: list[tuple[str, str]], layout: str, model: str | None, min_confidence: float,
                 max_pages: int) -> None:
        import cv2

        from .reader import Reader

        cv2.setNumThreads(1)  # the parallelism is the actors
        self.reader = Reader(model, min_confidence=min_confidence, threads=1)
        # Longest first, so that a file inside two of the inputs is named by the nearer one.
        self.roots = sorted(roots, key=lambda root: len(root[0]), reverse=True)
        self.layout, self.max_pages = layout, max_pages

    def name(self, path: str) -> str:
        """A local file by the name the user's input gives it (as the single-process reader
        names it), from the absolute path Ray reads it by; a URI's file by Ray's path."""
        for absolute, given in self.roots:
            if path == absolute:
                return given
            if path.startswith(absolute + "/"):
                return given.rstrip("/") + path[len(absolute):] if given.rstrip("/") else path
        return path

    def __call__(self, batch: dict[str, Any]) -> Any:
        import pyarrow as pa

        def pages() -> Iterable[Any]:
            for data, path in zip(batch["bytes"], batch["path"], strict=True):
                name = self.name(str(path))
                if len(data) > MAX_FILE_BYTES:
                    from .imageio import Page

                    yield Page(name, 1, None, f"file is {len(data):,} bytes, above the limit of "
                                              f"{MAX_FILE_BYTES // (1024 * 1024)} MB")
                    continue
                yield from iter_decoded(bytes(data), name, self.max_pages)

        rows = [row for reading in self.reader.read_pages(pages(), self.layout) for row in csv_rows(reading)]
        return pa.Table.from_pylist([dict(zip(CSV_COLUMNS, row, strict=True)) for row in rows], schema=_schema())


def _schema() -> Any:
    import pyarrow as pa

    return pa.schema([("file", pa.string()), ("page", pa.int32()), ("line", pa.int32()), ("text", pa.string()),
                      ("mean_confidence", pa.float64()), ("lowest_confidence", pa.float64()),
                      ("unsure", pa.int32()), ("error", pa.string())])


def read_on_ray(inputs: Iterable[str | os.PathLike[str]], out: str | os.PathLike[str], *,
                address: str | None = None, format: str = "jsonl", actors: int | None = None,
                layout: str = "auto", model: str | os.PathLike[str] | None = None,
                min_confidence: float = 0.5, max_pages: int = MAX_PAGES) -> RaySummary:
    """Read every file of ``inputs`` on Ray and write one row per line of writing
    (``CSV_COLUMNS``) as ``format`` files (``jsonl``, ``parquet`` or ``csv``) into ``out``.

    ``inputs``: local files and folders (named in the rows as given here, as
    ``digitscan read`` names them), or URIs of files or folders (``s3://``, ``gs://``, ...:
    named by Ray's path). ``out``: a local folder or a URI. ``address``: the cluster to
    join (``ray://head:10001``); None joins the one Ray is already connected to, the one
    in ``$RAY_ADDRESS``, or starts one on this machine. ``actors``: how many Readers
    (default: one per CPU of the cluster). A local folder or a model file must be
    reachable at the same path on every node.
    """
    import ray

    if format not in OUTPUT_FORMATS:
        raise DigitscanError(f"unknown output format {format!r}: expected one of {', '.join(OUTPUT_FORMATS)}")
    from .reader import LAYOUTS

    if layout not in LAYOUTS:
        raise DigitscanError(f"unknown layout {layout!r}: expected one of {', '.join(LAYOUTS)}")
    started = time.perf_counter()
    paths, roots = _dataset_paths(inputs)
    out = os.fspath(out)
    if not _is_uri(out) and os.path.isfile(out):
        raise DigitscanError(f"--out {out}: is a file; Ray writes a folder of files (name a folder)")
    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    import ray.data

    # Ray Data's own progress bars on a terminal; in a log, only its warnings.
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = sys.stderr.isatty()
    logging.getLogger("ray.data").setLevel(logging.INFO if sys.stderr.isatty() else logging.WARNING)

    cpus = int(ray.cluster_resources().get("CPU", 1))
    size = actors or max(1, cpus)
    extensions = sorted({suffix.lstrip(".") for suffix in IMAGE_SUFFIXES}
                        | {suffix.lstrip(".").upper() for suffix in IMAGE_SUFFIXES})
    # Blocks of a few batches each, so that actors start on the first files while the rest
    # load (left to Ray, a few thousand small files are one block per CPU, read before any
    # is handed on). A directory URI's files are counted by Ray, which then decides.
    batch = min(max(len(paths) // (size * _BATCHES_PER_ACTOR), _FILES_PER_BATCH), _MOST_FILES_PER_BATCH)
    blocks = None if any(_is_uri(path) for path in paths) else max(
        size * 4, min(len(paths) // (batch * _BATCHES_PER_BLOCK), _MAX_BLOCKS))
    files = ray.data.read_binary_files(paths, include_paths=True, file_extensions=extensions, num_cpus=_LOAD_CPUS,
                                       override_num_blocks=blocks)
    rows = files.map_batches(
        _ReadFiles, fn_constructor_args=(roots, layout, None if model is None else os.fspath(model),
                                         float(min_confidence), int(max_pages)),
        batch_size=batch, batch_format="numpy", compute=ray.data.ActorPoolStrategy(size=size),
        num_cpus=_ACTOR_CPUS,
    )
    {"jsonl": rows.write_json, "parquet": rows.write_parquet, "csv": rows.write_csv}[format](out)
    # What was written, counted from the written files (a small read: one row per line).
    written = {"jsonl": ray.data.read_json, "parquet": ray.data.read_parquet, "csv": ray.data.read_csv}[format](out)
    counts = written.select_columns(["file", "error"]).to_pandas()
    failed_files = counts.loc[counts["error"].notna() & (counts["error"] != ""), "file"].nunique()
    return RaySummary(int(counts["file"].nunique()), len(counts), int(failed_files), time.perf_counter() - started)


def _dataset_paths(inputs: Iterable[str | os.PathLike[str]]) -> tuple[list[str], list[tuple[str, str]]]:
    """The paths to hand to Ray (local folders listed here, as the single-process reader
    lists them), and each local input's absolute path with the name the user gave it."""
    paths: list[str] = []
    roots: list[tuple[str, str]] = []
    for item in inputs:
        name = os.fspath(item)
        if _is_uri(name):
            paths.append(name)
            continue
        if name == "-":
            raise DigitscanError("--ray reads files and folders, not standard input")
        roots.append((os.path.abspath(name), name))
        for file in iter_files([name]):
            if not os.path.isfile(file):
                raise DigitscanError(f"{file}: no such file, or a folder with no images "
                                     "(--ray reads only what exists)")
            paths.append(os.path.abspath(file))
    if not paths:
        raise DigitscanError("nothing to read")
    return paths, roots
