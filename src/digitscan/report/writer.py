"""The lab report, written by the program from a training run.

The lab digitscan grew from ends with a report template (Aim; Problem statement and
dataset; Neural network model; Design steps; Program; Output; Result) that students fill by
hand with screenshots. ``write_report`` fills it from a run directory instead, with the
run's own numbers and pictures, and reads sample pictures with the run's model:

>>> write_report("runs/seed", samples=["my_digits.jpg"])             # doctest: +SKIP
PosixPath('runs/seed/report.html')
>>> write_report("runs/seed", out="lab.pdf")                          # doctest: +SKIP
PosixPath('lab.pdf')

Formats: ``html`` (one self-contained file), ``md`` (Markdown, pictures in a folder
beside it named ``<stem>_files``) and ``pdf`` (the HTML printed by headless Chromium).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ..errors import DigitscanError
from ..files import write_bytes, write_text

__all__ = ["REPORT_FORMATS", "report_target", "write_report"]

REPORT_FORMATS = ("html", "md", "pdf")
_SUFFIXES = {".html": "html", ".htm": "html", ".md": "md", ".markdown": "md", ".pdf": "pdf"}


def report_target(
    run_dir: str | os.PathLike[str],
    out: str | os.PathLike[str] | None = None,
    format: str | None = None,
    overwrite: bool = False,
) -> tuple[Path, str]:
    """Where the report goes and in which format, checked before any work is done.

    The format is ``format``, else the suffix of ``out``, else HTML; the file is
    ``out``, else ``RUN_DIR/report.<format>``. An existing file is kept unless ``overwrite``.
    """
    if format is not None and format not in REPORT_FORMATS:
        raise DigitscanError(f"--format must be one of {', '.join(REPORT_FORMATS)}, not {format!r}")
    if out is None:
        chosen = format or "html"
        path = Path(run_dir) / f"report.{chosen}"
    else:
        path = Path(out)
        implied = _SUFFIXES.get(path.suffix.lower())
        if format and implied and implied != format:
            raise DigitscanError(f"--out {path} has a .{path.suffix.lstrip('.')} name but --format is {format}")
        chosen = format or implied or "html"
    if path.is_dir():
        raise DigitscanError(f"--out {path}: is a folder; give a file name such as {path / ('report.' + chosen)}")
    if path.exists() and not overwrite:
        raise DigitscanError(f"{path}: already exists; choose another --out or pass --overwrite to replace it")
    return path, chosen


def write_report(
    run_dir: str | os.PathLike[str],
    samples: Sequence[str | os.PathLike[str]] | None = None,
    out: str | os.PathLike[str] | None = None,
    format: str | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
    title: str | None = None,
    credits: Sequence[tuple[str, str]] | None = None,
) -> Path:
    """Write the lab report of the run in ``run_dir`` and return its path.

    ``samples``: pictures (or folders of them) of handwriting to read with the run's model;
    none: the examples shipped with digitscan. ``data_dir``: where MNIST is, when not where
    the run found it. ``title`` and ``credits`` (("Author", "A. Student"), ("ID", "12345"),
    ("Institution", "...")) make the title block; the date is added.
    """
    from .facts import check_samples, describe_dataset, load_run, read_samples
    from .render import render_html, render_markdown
    from .sections import build_report

    run = load_run(run_dir)
    path, chosen = report_target(run.run_dir, out, format, overwrite)
    if samples:
        check_samples(list(samples))  # a mistyped path is a mistake, not a page that failed
    if chosen == "pdf":
        from .pdf import check_pdf_tools

        check_pdf_tools()  # before the minute of work that goes into the report
    dataset = describe_dataset(run, data_dir)
    readings, bundled = read_samples(run.run_dir, list(samples) if samples else None)
    report = build_report(run, dataset, readings, bundled, title=title, credits=list(credits or []))
    if chosen == "md":
        folder_name = f"{path.stem}_files"
        markdown, pictures = render_markdown(report, folder_name)
        for name, png in pictures.items():
            write_bytes(path.parent / folder_name / name, png)
        write_text(path, markdown)
    elif chosen == "pdf":
        from .pdf import html_to_pdf

        write_bytes(path, html_to_pdf(render_html(report)))
    else:
        write_text(path, render_html(report))
    return path
