"""The ``digitscan`` command: a thin shell over the Python API.

Every command turns a user's mistake (a ``DigitscanError``) into one line on stderr and a
non-zero exit; tracebacks are for bugs only.
"""

from __future__ import annotations

import gc
import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.markup import escape

from .errors import DigitscanError

if TYPE_CHECKING:
    from .reading.imageio import Page

# imageio.MAX_PAGES, written out so that `digitscan --help` need not import numpy (a test
# checks the two agree).
MAX_PAGES = 100

app = typer.Typer(
    name="digitscan",
    help="Train convolutional networks on handwritten digits and read digits from real scans.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# soft_wrap: off a terminal a long path or line is not broken at a guessed 80 columns.
console = Console(soft_wrap=True)
err_console = Console(stderr=True)

DataDirOption = typer.Option(
    None, "--data-dir", help="Folder with the MNIST IDX files (default: $DIGITSCAN_DATA or cache)."
)


# What each optional package is for, and the extra that brings it (pyproject.toml).
_EXTRA_FOR_MODULE = {
    "torch": ("PyTorch", "train"),
    "onnx": ("onnx", "train"),
    "onnxscript": ("onnxscript", "train"),
    "fastapi": ("FastAPI", "serve"),
    "uvicorn": ("uvicorn", "serve"),
    "multipart": ("python-multipart", "serve"),
    "python_multipart": ("python-multipart", "serve"),
    "playwright": ("Playwright", "report-pdf"),
    "pypdfium2": ("pypdfium2", "read-pdf"),
    "ray": ("Ray", "cluster"),
}


def _missing_extra(exc: ModuleNotFoundError) -> str | None:
    """One line naming the extra that brings a missing optional package, or None for a bug."""
    found = _EXTRA_FOR_MODULE.get((exc.name or "").split(".")[0])
    if found is None:
        return None
    package, extra = found
    command = next((arg for arg in sys.argv[1:] if not arg.startswith("-")), None)
    who = f"digitscan {command}" if command else "this command"
    return f"{who} needs {package}, which comes with the {extra} extra: pip install 'digitscan[{extra}]'"


def _print_error(message: str) -> None:
    # Messages are plain text: escaped so that "digitscan[serve]" is not taken for markup.
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)


def main() -> None:
    """Entry point: run the app, turning user errors into one line and exit status 2."""
    try:
        app()
    except DigitscanError as exc:
        _print_error(str(exc))
        sys.exit(2)
    except ModuleNotFoundError as exc:
        message = _missing_extra(exc)
        if message is None:
            raise
        _print_error(message)
        sys.exit(2)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
    finally:
        # Python's last garbage collections at exit walk every object torch created: 0.5 s
        # after a bare "import torch" and 1.2 s after a training run, measured on a 2-core
        # CPU. Frozen objects are skipped, and exit takes 0.1 s. Nothing needs collecting.
        gc.freeze()


@app.command()
def train(
    model: str = typer.Option("default", "--model", "-m",
                              help="Network to train: default or seed (digits), or lines (whole lines of digits)."),
    epochs: int = typer.Option(6, "--epochs", "-e", help="Passes over the training set."),
    batch_size: int = typer.Option(128, "--batch-size", "-b", help="Images per optimiser step."),
    seed: int = typer.Option(0, "--seed", help="Random seed: same seed, same machine, same numbers."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Run directory (default: runs/MODEL-TIME)."),
    data: str = typer.Option("mnist", "--data", help="mnist, or a folder of labelled images."),
    data_dir: Path | None = DataDirOption,
    augment: bool = typer.Option(True, "--augment/--no-augment", help="Distort training batches like real scans."),
    max_lr: float = typer.Option(4e-3, "--lr", help="Peak learning rate of the one-cycle schedule."),
    precision: str = typer.Option("auto", "--precision", help="auto, fp32 or bf16 (bf16 only where native)."),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out from its last checkpoint."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing run in --out."),
    limit: int = typer.Option(0, "--limit", help="Train on the first N images only (quick trials); 0: all."),
    lines: int = typer.Option(120_000, "--lines", help="--model lines: synthetic training lines to make."),
    init: str | None = typer.Option(None, "--init",
                                    help="--model lines: start from weights (a run directory, or 'shipped')."),
    hands: list[Path] = typer.Option(
        [], "--hands", help="--model lines: a folder of labelled single digits (images/ + labels.csv, "
        "or one subfolder per digit) whose handwriting joins MNIST's in the synthetic lines; repeatable."),
) -> None:
    """Train a network on MNIST (or your own labelled images) and write a run directory."""
    from datetime import datetime

    from .training.loop import TrainConfig
    from .training.loop import train as run_training

    if out is None:
        if resume:
            raise DigitscanError("--resume needs --out RUN_DIR, the run to continue")
        out = Path("runs") / f"{model}-{datetime.now():%Y%m%d-%H%M%S}"
    config = TrainConfig(
        model=model, epochs=epochs, batch_size=batch_size, seed=seed, data=data,
        data_dir=str(data_dir) if data_dir else None, augment=augment, max_lr=max_lr,
        precision=precision, device=device, limit=limit, lines=lines, init=init,
        hands=[str(folder) for folder in hands],
    )
    result = run_training(config, out, resume=resume, overwrite=overwrite)
    metrics = result.metrics
    if result.interrupted:
        console.print(f"[yellow]interrupted[/]: kept {metrics['epochs_completed']} complete epoch(s)")
    what = "lines read exactly" if model == "lines" else "test accuracy"
    console.print(
        f"{what} {metrics['accuracy']:.4f} on {escape(str(metrics['data']))} after "
        f"{metrics['epochs_completed']} epoch(s), {metrics['train_seconds']:.1f} s of training"
    )
    console.print(f"run directory: {result.run_dir}", markup=False)


@app.command()
def evaluate(
    model: str | None = typer.Argument(None, help="Run directory or .onnx file (default: the shipped model)."),
    data: str = typer.Option("mnist-test", "--data", help="mnist-test, or a folder of labelled images."),
    data_dir: Path | None = DataDirOption,
    as_json: bool = typer.Option(False, "--json", help="Print the results as JSON."),
    pictures: Path | None = typer.Option(
        None, "--pictures", help="Also write the confusion matrix, misclassified digits and calibration PNGs here."
    ),
) -> None:
    """Accuracy, classification report, confusion matrix and calibration of a model."""
    import json

    from .training.evaluation import evaluate as run_evaluation

    result = run_evaluation(model, data=data, data_dir=data_dir)
    if pictures is not None:
        from .training.plots import write_evaluation_pictures

        write_evaluation_pictures(pictures, result)
    if as_json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        console.print(result.to_text(), highlight=False, markup=False)


@app.command()
def summary(
    model: str = typer.Argument("default", help="Network name: default or seed."),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Folder for the diagram, MODEL.png and MODEL.svg (default: here)."
    ),
    no_diagram: bool = typer.Option(False, "--no-diagram", help="Print the table only."),
) -> None:
    """Print a Keras-style summary of a network and draw its diagram (PNG and SVG)."""
    from .training.models import build_model
    from .training.summary import draw_diagram, format_summary, summarise

    rows = summarise(build_model(model))
    console.print(format_summary(rows, model), highlight=False, markup=False)
    if not no_diagram:
        folder = out or Path(".")
        for suffix in ("png", "svg"):
            draw_diagram(rows, f"digitscan '{model}' network", folder / f"{model}.{suffix}")
        console.print(f"diagram: {folder / (model + '.png')}, {folder / (model + '.svg')}", markup=False)


# ----- read (issue: read handwritten digits from real scans) -------------------------------
@app.command()
def read(
    inputs: list[str] | None = typer.Argument(
        None, help="Image files, PDFs, folders (read recursively), or - for standard input."
    ),
    layout: str = typer.Option(
        "auto", "--layout", "-l",
        help="digit, line, page, grid (a table of ruled cells, read cell by cell), or auto (crops up to "
             "64x64 are digits; a crop at least twice as wide as tall and at most 400 px tall is one line "
             "if it holds one; anything else a page).",
    ),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per page per line."),
    annotate: Path | None = typer.Option(
        None, "--annotate", help="Folder to write each input to, with boxes and digits drawn."
    ),
    min_confidence: float = typer.Option(
        0.9, "--min-confidence", help="Digits the model is less sure of are marked unsure "
        "(0.9 flags about half the wrong digits and 1 in 200 right ones)."
    ),
    model: str | None = typer.Option(
        None, "--model", "-m", help="An .onnx file or a training run (default: shipped model)."
    ),
    example: bool = typer.Option(
        False, "--example", help="Read the example scans bundled with digitscan."
    ),
    max_pages: int = typer.Option(
        MAX_PAGES, "--max-pages", min=1, help="Pages read from each PDF or TIFF; the rest are reported, not read."
    ),
    overwrite: bool = typer.Option(
        False, "--overwrite", help="With --annotate: replace annotated pictures already in the folder; "
        "with --out: replace the results in the file."
    ),
    jobs: int | None = typer.Option(
        None, "--jobs", "-j", min=1,
        help="Worker processes for --json, --csv or --out output (default: the cores available).",
    ),
    as_csv: bool = typer.Option(
        False, "--csv", help="One CSV row per line of writing: file, page, line, text, confidences, unsure, error."
    ),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Write JSON Lines (or --csv) to this file, each file's lines as it is read; "
        "with --ray, a folder.",
    ),
    resume: bool = typer.Option(False, "--resume", help="Skip the inputs already in --out and append the rest."),
    ray: bool = typer.Option(
        False, "--ray", help="Read on Ray (the cluster extra) into --out FOLDER: a Ray instance started on this "
        "machine, or the cluster in $RAY_ADDRESS or --ray-address.",
    ),
    ray_address: str | None = typer.Option(
        None, "--ray-address", metavar="ADDRESS",
        help="The Ray cluster to read on (ray://HEAD:10001, or HEAD:6379 from a node); implies --ray.",
    ),
    parquet: bool = typer.Option(False, "--parquet", help="With --ray: write Parquet files (default: JSON Lines)."),
) -> None:
    """Read handwritten digits from scans and photos.

    Text output: one line per page ("file: text"; pages of several lines are indented below
    the file name); an unsure digit is followed by "?". Each file's lines are printed as soon
    as it is read. Only regular files are read (not pipes or devices; use - for standard
    input). Exit status 1 if any input failed.

    With --json, --csv or --out, files are read by --jobs worker processes and written in
    input order as they finish; --out FILE --resume goes on from where a run stopped.

    A file whose name starts with a dash goes after --, as in: digitscan read -- -scan.png
    """
    import json

    from .reading.imageio import load_pages
    from .reading.reader import Reader, bundled_examples
    from .reading.readout import annotation_name, marked_text, write_annotation

    sources = list(inputs or [])
    if "" in sources:
        raise DigitscanError('an empty file name ("") was given: name a file or folder (. for this folder)')
    if example:
        sources += [str(path) for path in bundled_examples()]
    if not sources:
        raise DigitscanError("nothing to read: give image files, folders or -, or --example")
    if ray or ray_address:
        _read_on_ray(sources, ray_address, out, layout, as_csv, parquet, model, min_confidence, max_pages)
        return
    if annotate is None and (as_json or as_csv or out or resume):
        _read_in_batch(sources, out, jobs, as_csv, resume, overwrite, layout, model, min_confidence, max_pages)
        return
    if as_csv or out or resume or jobs:
        raise DigitscanError("--jobs, --csv, --out and --resume are for reading many files to JSON Lines or CSV; "
                             "text output and --annotate read in one process (add --json or --csv)")
    if annotate is not None:
        annotate = _check_annotate_dir(annotate, sources)
    reader = Reader(model, min_confidence=min_confidence)
    failed = False
    used_names: set[str] = set()
    for pages, several in _file_batches(load_pages(sources, max_pages=max_pages)):
        # One file (or a run of its pages) at a time, printed and flushed at once: a slow
        # input never holds back what was read before it.
        readings = reader.read_pages(pages, layout)
        out = []
        for reading in readings:
            failed = failed or reading.error is not None
            if as_json:
                out.append(json.dumps(reading.to_dict()))
                continue
            label = _display_name(reading.file) + (f" page {reading.page}" if several else "")
            if reading.error is not None:
                out.append(f"{label}: error: {reading.error}")
                continue
            text = marked_text(reading)
            if "\n" in text:
                out.append(f"{label}:")
                out.extend(f"  {line}" for line in text.split("\n"))
            else:
                out.append(f"{label}: {text}")
        sys.stdout.write("".join(line + "\n" for line in out))
        sys.stdout.flush()
        if annotate is None:
            continue
        for page, reading in zip(pages, readings, strict=True):
            if page.image is None or reading.error is not None:
                continue
            name = _unused(annotation_name(page.file, page.page, 2 if several else 1), used_names)
            try:
                written = write_annotation(page.image, reading, annotate / name, overwrite)
            except DigitscanError as exc:
                failed = True
                err_console.print(f"annotation not written: {exc}", highlight=False, markup=False, soft_wrap=True)
            else:
                err_console.print(f"annotated: {written}", highlight=False, markup=False, soft_wrap=True)
    if failed:
        raise typer.Exit(1)


# Pages of one file read together (the classifier is called once for them), few enough
# that a long PDF's first readings are printed while the rest is rendered.
_PAGES_PER_PRINT = 16


def _file_batches(pages: Iterator[Page]) -> Iterator[tuple[list[Page], bool]]:
    """The pages of each file in runs of at most ``_PAGES_PER_PRINT``, each with whether
    its file has several pages (so the label says which page)."""
    batch: list[Page] = []
    several = False  # the batch continues a file whose earlier pages were printed
    for page in pages:
        new_file = not batch or page.file != batch[-1].file or page.page <= batch[-1].page
        if batch and (new_file or len(batch) >= _PAGES_PER_PRINT):
            yield batch, several or not new_file or len(batch) > 1
            several = not new_file
            batch = []
        batch.append(page)
    if batch:
        yield batch, several or len(batch) > 1


def _unused(name: str, used: set[str]) -> str:
    """``name``, or ``name`` with -2, -3 ... when an input of the same name came before."""
    base, count = name, 2
    while name in used:
        name = base.replace(".read.png", f"-{count}.read.png")
        count += 1
    used.add(name)
    return name


def _check_annotate_dir(folder: Path, sources: list[str]) -> Path:
    if folder.is_symlink() and not folder.is_dir():
        raise DigitscanError(f"--annotate {folder}: is a broken symbolic link")
    if folder.exists() and not folder.is_dir():
        raise DigitscanError(f"--annotate {folder}: exists and is not a folder")
    target = folder.resolve()
    for source in sources:
        path = Path(source)
        home = path.resolve() if path.is_dir() else path.resolve().parent
        if source != "-" and path.exists() and home == target:
            # Annotated pictures never overwrite an input, but writing them beside the
            # inputs mixes the two; a separate folder is asked for.
            raise DigitscanError(
                f"--annotate {folder}: is the folder of input {source}; choose another folder "
                "so no input can be overwritten"
            )
    return folder
def _display_name(file: str) -> str:
    """The bundled examples by their short name (digitscan/examples/x.png), not the
    site-packages path they happen to be installed at."""
    package = Path(__file__).parent
    try:
        return str(Path(file).resolve().relative_to(package.parent))
    except ValueError:
        return file


def _read_in_batch(sources: list[str], out: Path | None, jobs: int | None, as_csv: bool, resume: bool,
                   overwrite: bool, layout: str, model: str | None, min_confidence: float, max_pages: int) -> None:
    """--json, --csv, --out: every core, results streamed in input order (reading.batch)."""
    from .reading.batch import read_batch
    from .reading.readout import BatchProgress

    if resume and out is None:
        raise DigitscanError("--resume needs --out FILE, the output of the run to continue")
    # Progress goes to stderr: a bar on a terminal, a line now and then in a log, and none
    # when the readings themselves scroll past on the same terminal.
    readings_on_terminal = out is None and sys.stdout.isatty()
    live = err_console.is_terminal and not readings_on_terminal
    quiet = err_console.is_terminal and readings_on_terminal
    with BatchProgress(sources, err_console, live=live, quiet=quiet) as progress:
        summary = read_batch(sources, out, format="csv" if as_csv else "jsonl", resume=resume, overwrite=overwrite,
                             jobs=jobs, layout=layout, model=model, min_confidence=min_confidence,
                             max_pages=max_pages, progress=progress.update)
    if out is not None:
        skipped = f", {summary.skipped:,} already in {out} skipped" if summary.skipped else ""
        err_console.print(f"read {summary.files:,} files ({summary.pages:,} pages, {summary.failed:,} failed) in "
                          f"{summary.seconds:.1f} s, {summary.files_per_second:,.1f} files/s{skipped}: {out}",
                          highlight=False, markup=False, soft_wrap=True)
    if summary.failed:
        raise typer.Exit(1)


def _read_on_ray(sources: list[str], address: str | None, out: Path | None, layout: str, as_csv: bool, parquet: bool,
                 model: str | None, min_confidence: float, max_pages: int) -> None:
    """--ray: the same reading as a Ray Dataset, on this machine or an existing cluster."""
    if out is None:
        raise DigitscanError("--ray needs --out FOLDER (or a storage URI such as s3://bucket/readings/)")
    if as_csv and parquet:
        raise DigitscanError("choose one of --csv and --parquet")
    try:
        from .reading.cluster import read_on_ray
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] not in ("ray", "pyarrow", "pandas"):
            raise
        raise DigitscanError("--ray needs Ray, which comes with the cluster extra: "
                             "pip install 'digitscan[cluster]'") from None
    format = "csv" if as_csv else "parquet" if parquet else "jsonl"
    summary = read_on_ray(sources, str(out), address=address, format=format,
                          layout=layout, model=model, min_confidence=min_confidence, max_pages=max_pages)
    err_console.print(f"read {summary.files:,} files ({summary.rows:,} rows, {summary.failed:,} failed) on Ray in "
                      f"{summary.seconds:.1f} s, {summary.files_per_second:,.1f} files/s: {out}",
                      highlight=False, markup=False, soft_wrap=True)
    if summary.failed:
        raise typer.Exit(1)


# ----- end read ------------------------------------------------------------------------------


# ----- serve (issue: web page and HTTP API) --------------------------------------------------
@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", help="Port to listen on."),
    workers: int = typer.Option(1, "--workers", help="Worker processes (each loads the model once)."),
    model: str | None = typer.Option(None, "--model", "-m", help="An .onnx file or a training run."),
) -> None:
    """Serve the web page and the HTTP API for reading digits."""
    if not 1 <= port <= 65535:
        raise DigitscanError(f"--port must be between 1 and 65535, got {port}")
    if workers < 1:
        raise DigitscanError(f"--workers must be at least 1, got {workers}")
    try:
        from .service.app import serve as run_server
    except ImportError as exc:
        raise DigitscanError(
            f"serving needs the serve extra: pip install 'digitscan[serve]' ({exc.name} missing)"
        ) from None
    from .reading.classifier import resolve_model

    resolve_model(model)  # a bad --model is one line here, not a traceback in a worker
    console.print(f"digitscan serving on http://{host}:{port}/ (API docs at /docs)", markup=False)
    run_server(host=host, port=port, workers=workers, model=model)
# ----- end serve -----------------------------------------------------------------------------


# ----- report (issue: the lab report) --------------------------------------------------------
SamplesOption = typer.Option(
    None, "--samples", "-s",
    help="A picture (or folder) of your own handwriting to read in the report; repeat for more. "
    "Default: the examples shipped with digitscan.",
)
# Lets `--samples *.jpg` work: the shell's second and later names arrive as arguments.
MoreSamplesArgument = typer.Argument(None, help="More sample pictures, as with --samples.", show_default=False)
# The report's title block, as a teacher expects it on a hand-in.
AuthorOption = typer.Option(None, "--author", help="Your name, for the report's title block.")
StudentIdOption = typer.Option(None, "--id", help="Your student or register number, for the title block.")
TitleOption = typer.Option(None, "--title", help="The report's title (default: names the network).")
InstitutionOption = typer.Option(None, "--institution", help="School, university or course, for the title block.")


def _credits(author: str | None, student_id: str | None, institution: str | None) -> list[tuple[str, str]]:
    named = [("Author", author), ("ID", student_id), ("Institution", institution)]
    return [(label, value) for label, value in named if value]


ReportFormatOption = typer.Option(
    None, "--format", "-f", help="html (one self-contained file), md (pictures beside it) or pdf (needs Chromium)."
)


@app.command()
def report(
    run_dir: Path = typer.Argument(..., help="A run directory written by `digitscan train`."),
    more_samples: list[Path] | None = MoreSamplesArgument,
    samples: list[Path] | None = SamplesOption,
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Report file (default: RUN_DIR/report.FORMAT); its suffix sets the format."
    ),
    format: str | None = ReportFormatOption,
    data_dir: Path | None = DataDirOption,
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing report file."),
    author: str | None = AuthorOption,
    student_id: str | None = StudentIdOption,
    title: str | None = TitleOption,
    institution: str | None = InstitutionOption,
) -> None:
    """Write the lab report of a training run: aim, dataset, model, design steps, program,
    output (curves, classification report, confusion matrix, mistakes, your samples read)
    and result, every number taken from the run."""
    from .report.writer import write_report

    pictures = [*(samples or []), *(more_samples or [])]
    with console.status("writing the lab report (reading MNIST again to verify it, reading the samples)"):
        path = write_report(run_dir, samples=pictures or None, out=out, format=format, data_dir=data_dir,
                            overwrite=overwrite, title=title, credits=_credits(author, student_id, institution))
    console.print(f"report: {path}", markup=False)


@app.command()
def lab(
    more_samples: list[Path] | None = MoreSamplesArgument,
    model: str = typer.Option("seed", "--model", "-m", help="seed (the lab's network) or default (digitscan's)."),
    epochs: int = typer.Option(5, "--epochs", "-e", help="Passes over the training set (the lab did 5)."),
    batch_size: int = typer.Option(64, "--batch-size", "-b", help="Images per optimiser step (the lab used 64)."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Run directory (default: runs/lab-MODEL-TIME)."),
    samples: list[Path] | None = SamplesOption,
    data_dir: Path | None = DataDirOption,
    format: str = typer.Option("html", "--format", "-f", help="Report format: html, md or pdf."),
    seed: int = typer.Option(0, "--seed", help="Random seed: same seed, same machine, same numbers."),
    augment: bool = typer.Option(True, "--augment/--no-augment", help="Distort training batches like real scans."),
    limit: int = typer.Option(0, "--limit", help="Train on the first N images only (quick trials); 0: all."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing run in --out."),
    author: str | None = AuthorOption,
    student_id: str | None = StudentIdOption,
    title: str | None = TitleOption,
    institution: str | None = InstitutionOption,
) -> None:
    """Run the whole lab in one go: train, evaluate, read the samples, write the report."""
    from datetime import datetime

    from .report.facts import check_samples
    from .report.writer import report_target, write_report
    from .training.loop import TrainConfig
    from .training.loop import train as run_training

    if out is None:
        out = Path("runs") / f"lab-{model}-{datetime.now():%Y%m%d-%H%M%S}"
    pictures = [*(samples or []), *(more_samples or [])]
    # Everything that can be wrong with the request is found before minutes of training.
    config = TrainConfig(model=model, epochs=epochs, batch_size=batch_size, seed=seed, augment=augment,
                         data_dir=str(data_dir) if data_dir else None, limit=limit)
    check_samples(pictures)
    report_target(out, None, format, overwrite=True)
    if importlib.util.find_spec("torch") is None:
        raise ModuleNotFoundError("No module named 'torch'", name="torch")
    if format == "pdf":
        from .report.pdf import check_pdf_tools

        check_pdf_tools()
    console.print(f"[bold]1/2[/] training the '{escape(model)}' network: {epochs} epoch(s), batch size {batch_size}")
    result = run_training(config, out, overwrite=overwrite)
    metrics = result.metrics
    what = "lines read exactly" if model == "lines" else "test accuracy"
    console.print(
        f"{what} {metrics['accuracy']:.4f} on {escape(str(metrics['data']))} after "
        f"{metrics['epochs_completed']} epoch(s), {metrics['train_seconds']:.1f} s of training"
    )
    which = f"{len(pictures)} sample(s)" if pictures else "the bundled example scans"
    console.print(f"[bold]2/2[/] reading {which} and writing the report")
    with console.status("writing the lab report"):
        path = write_report(result.run_dir, samples=pictures or None, format=format, data_dir=data_dir,
                            overwrite=True, title=title, credits=_credits(author, student_id, institution))
    console.print(f"run directory: {result.run_dir}", markup=False)
    console.print(f"report: {path}", markup=False)
# ----- end report ----------------------------------------------------------------------------


if __name__ == "__main__":
    main()
