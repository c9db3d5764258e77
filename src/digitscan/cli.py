"""The ``digitscan`` command: a thin shell over the Python API.

Every command turns a user's mistake (a ``DigitscanError``) into one line on stderr and a
non-zero exit; tracebacks are for bugs only.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from .errors import DigitscanError

app = typer.Typer(
    name="digitscan",
    help="Train convolutional networks on handwritten digits and read digits from real scans.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)

DataDirOption = typer.Option(
    None, "--data-dir", help="Folder with the MNIST IDX files (default: $DIGITSCAN_DATA or cache)."
)


def main() -> None:
    """Entry point: run the app, turning user errors into one line and exit status 2."""
    try:
        app()
    except DigitscanError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)


@app.command()
def train(
    model: str = typer.Option("default", "--model", "-m", help="Network to train: default or seed."),
    epochs: int = typer.Option(6, "--epochs", "-e", help="Passes over the training set."),
    batch_size: int = typer.Option(128, "--batch-size", "-b", help="Images per optimiser step."),
    seed: int = typer.Option(0, "--seed", help="Random seed: same seed, same machine, same numbers."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Run directory (default: runs/MODEL-TIME)."),
    data: str = typer.Option("mnist", "--data", help="mnist, or a folder of labelled images."),
    data_dir: Optional[Path] = DataDirOption,
    augment: bool = typer.Option(True, "--augment/--no-augment", help="Distort training batches like real scans."),
    max_lr: float = typer.Option(4e-3, "--lr", help="Peak learning rate of the one-cycle schedule."),
    precision: str = typer.Option("auto", "--precision", help="auto, fp32 or bf16 (bf16 only where native)."),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out from its last checkpoint."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing run in --out."),
    limit: int = typer.Option(0, "--limit", help="Train on the first N images only (quick trials); 0: all."),
) -> None:
    """Train a network on MNIST (or your own labelled images) and write a run directory."""
    from datetime import datetime

    from .train import TrainConfig
    from .train import train as run_training

    if out is None:
        if resume:
            raise DigitscanError("--resume needs --out RUN_DIR, the run to continue")
        out = Path("runs") / f"{model}-{datetime.now():%Y%m%d-%H%M%S}"
    config = TrainConfig(
        model=model, epochs=epochs, batch_size=batch_size, seed=seed, data=data,
        data_dir=str(data_dir) if data_dir else None, augment=augment, max_lr=max_lr,
        precision=precision, device=device, limit=limit,
    )
    result = run_training(config, out, resume=resume, overwrite=overwrite)
    metrics = result.metrics
    if result.interrupted:
        console.print(f"[yellow]interrupted[/]: kept {metrics['epochs_completed']} complete epoch(s)")
    console.print(
        f"test accuracy {metrics['accuracy']:.4f} on {metrics['data']} after "
        f"{metrics['epochs_completed']} epoch(s), {metrics['train_seconds']:.1f} s of training"
    )
    console.print(f"run directory: {result.run_dir}")


@app.command()
def evaluate(
    model: Optional[str] = typer.Argument(None, help="Run directory or .onnx file (default: the shipped model)."),
    data: str = typer.Option("mnist-test", "--data", help="mnist-test, or a folder of labelled images."),
    data_dir: Optional[Path] = DataDirOption,
    as_json: bool = typer.Option(False, "--json", help="Print the results as JSON."),
    pictures: Optional[Path] = typer.Option(None, "--pictures", help="Also write the confusion matrix, misclassified digits and calibration as PNGs to this folder."),
) -> None:
    """Accuracy, classification report, confusion matrix and calibration of a model."""
    import json

    from .evaluate import evaluate as run_evaluation

    result = run_evaluation(model, data=data, data_dir=data_dir)
    if pictures is not None:
        _write_evaluation_pictures(result, data, data_dir, pictures)
    if as_json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        console.print(result.to_text(), highlight=False, markup=False)


def _write_evaluation_pictures(result, data: str, data_dir: Optional[Path], folder: Path) -> None:
    from . import plots

    if data in ("mnist-test", "mnist"):
        from .mnist import load_mnist

        images = load_mnist("test", data_dir).images
    else:
        from .datasets import load_labelled_folder

        images, _ = load_labelled_folder(data)
    plots.plot_confusion(result.confusion, folder / "confusion_matrix.png")
    plots.plot_misclassified(images, result, folder / "misclassified.png")
    plots.plot_calibration(result, folder / "calibration.png")


@app.command()
def summary(
    model: str = typer.Argument("default", help="Network name: default or seed."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Folder for the diagram (MODEL.png and MODEL.svg); default: current folder."),
    no_diagram: bool = typer.Option(False, "--no-diagram", help="Print the table only."),
) -> None:
    """Print a Keras-style summary of a network and draw its diagram (PNG and SVG)."""
    from .models import build_model
    from .summary import draw_diagram, format_summary, summarise

    rows = summarise(build_model(model))
    console.print(format_summary(rows, model), highlight=False, markup=False)
    if not no_diagram:
        folder = out or Path(".")
        for suffix in ("png", "svg"):
            draw_diagram(rows, f"digitscan '{model}' network", folder / f"{model}.{suffix}")
        console.print(f"diagram: {folder / (model + '.png')}, {folder / (model + '.svg')}")


# ----- read (issue: read handwritten digits from real scans) -------------------------------
# (the `read` command goes here)
# ----- end read ------------------------------------------------------------------------------


if __name__ == "__main__":
    main()
