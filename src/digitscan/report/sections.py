"""The seven sections of the lab's report template, each filled from a run's own files.

Every number in the report is read from config.json, history.csv, metrics.json, the
dataset or the sample readings here; nothing is typed in by hand, so a report can never
disagree with the run it describes.
"""

from __future__ import annotations

import inspect
import math
import re
import shlex
import tempfile
import textwrap
from dataclasses import fields
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from ..training.plots import SPARSE_BIN
from .blocks import (
    Block,
    Cell,
    Code,
    Facts,
    Figure,
    LabReport,
    Paragraph,
    Picture,
    Row,
    Section,
    Steps,
    Subheading,
    Table,
    picture_from_array,
)
from .facts import DatasetFacts, RunRecord, SampleReading

__all__ = ["build_report"]

# The most confident mistakes listed as numbers under the picture of them.
_MISTAKES_LISTED = 10
# Sample pictures are shrunk to this width for the report; the boxes stay readable.
_SAMPLE_WIDTH = 900
# Digits listed per sample page; a full form can hold hundreds.
_DIGITS_LISTED = 60
# Digits side by side in a row of the per-sample table.
_DIGITS_PER_ROW = 4
# Mistakes side by side in a row of their table.
_MISTAKES_PER_ROW = 2


def build_report(
    run: RunRecord, dataset: DatasetFacts, samples: list[SampleReading], bundled_samples: bool,
    title: str | None = None, credits: list[tuple[str, str]] | None = None,
) -> LabReport:
    """The lab report of ``run`` as sections of blocks, ready to render; ``title`` and
    ``credits`` (("Author", "A. Student"), ("ID", "12345"), ...) make its title block."""
    model_rows = _model_rows(run)
    parameters = sum(row.parameters for row in model_rows)
    model_name = run.train["model"]
    sections = [
        _aim(run, dataset, parameters),
        _problem_and_dataset(run, dataset),
        _model(run, model_rows, parameters),
        _design_steps(run, dataset, parameters),
        _program(run),
        _output(run, samples, bundled_samples),
        _result(run, dataset, samples, bundled_samples),
    ]
    today = datetime.now().astimezone()
    return LabReport(
        title=title or f"Lab report: recognising handwritten digits with the '{model_name}' network",
        about=[
            f"Written by digitscan {__version__} from the run {run.run_dir.name}; the run started "
            f"{_human_time(run.config.get('started'))} and finished {_human_time(run.config.get('finished'))}.",
        ],
        sections=sections,
        credits=[*(credits or []), ("Date", f"{today.day} {today:%B %Y}")],
    )


def _human_time(stamp: str | None) -> str:
    """'2026-11-24T19:41:29+00:00' as '24 November 2026, 19:41 UTC'."""
    if not stamp:
        return "at an unrecorded time"
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return stamp
    zone = moment.tzname() or ""
    return f"{moment.day} {moment:%B %Y}, {moment:%H:%M} {'UTC' if zone in ('UTC', 'UTC+00:00') else zone}".rstrip()


# Absolute paths name a folder on one machine; the report shows their last part only.
_ABSOLUTE_PATH = re.compile(r"(?<![\w.~])/(?:[^\s/'\"]+/)*([^\s/'\"]+)")


def _portable(text: str) -> str:
    """``text`` with every absolute path shortened to its last part."""
    return _ABSOLUTE_PATH.sub(lambda match: match.group(1), text)


def _setting_text(value: Any) -> str:
    if value is None:
        return "not set"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return _portable(str(value))


# ---- 1. Aim ------------------------------------------------------------------------------


def _aim(run: RunRecord, dataset: DatasetFacts, parameters: int) -> Section:
    model = run.train["model"]
    origin = "the network of the original lab" if model == "seed" else "digitscan's own design"
    return Section(1, "Aim", [
        Paragraph(
            f"To build a convolutional neural network that recognises handwritten digits (0 to 9), train it on "
            f"{dataset.name}, measure how well it recognises digits it never saw while training, and use it to "
            f"read new handwritten digits from pictures. This run trained the '{model}' network ({origin}, "
            f"{parameters:,} parameters) for {_epochs(len(run.history))}."
        )
    ])


# ---- 2. Problem statement and dataset ------------------------------------------------------


def _problem_and_dataset(run: RunRecord, dataset: DatasetFacts) -> Section:
    n_train, n_test = len(dataset.train_labels), len(dataset.test_labels)
    height, width = dataset.train_images.shape[1:3]
    blocks: list[Block] = [
        Paragraph(
            f"Given a {height}×{width} grey picture of one handwritten digit, say which digit it is: a "
            "classification problem with ten classes. The network gives a probability for each digit; the "
            "most probable one is its answer and that probability its confidence."
        ),
    ]
    if dataset.checksums:  # MNIST
        blocks.append(Paragraph(
            f"{dataset.name} holds {n_train:,} training pictures and {n_test:,} test pictures, each {height}×{width} "
            f"pixels of {dataset.train_images.dtype} grey levels "
            f"({int(dataset.train_images.min())} to {int(dataset.train_images.max())}), white ink on black, "
            f"read from the folder {_portable(str(dataset.source))}."
        ))
        if dataset.used < n_train:
            blocks.append(Paragraph(
                f"This run trained on the first {dataset.used:,} training pictures only (--limit "
                f"{run.train['limit']}). As in the lab, the {n_test:,} test pictures served as the validation set: "
                "they were only measured, never used to choose anything, so they remain a fair test."
            ))
        else:
            blocks.append(Paragraph(
                f"This run trained on all {n_train:,} training pictures. As in the lab, the {n_test:,} test "
                "pictures served as the validation set: they were only measured, never used to choose "
                "anything, so they remain a fair test."
            ))
    else:
        blocks.append(Paragraph(
            f"The run trained on the labelled folder {_portable(str(dataset.source))}: {n_train + n_test:,} "
            f"pictures normalised to {height}×{width} like MNIST, of which {n_test:,}, drawn with the run's seed, "
            f"were held out for validation and {n_train:,} trained on."
        ))
    used_images = dataset.train_images[: dataset.used]
    used_labels = dataset.train_labels[: dataset.used]
    balance, balance_text = _class_balance(dataset)
    blocks.append(Row([
        Figure(
            _samples_grid(used_images, used_labels),
            "Ten training pictures of each digit, one row per class from 0 at the top to 9 at the bottom, "
            "as the network receives them.",
        ),
        balance,
    ]))
    blocks.append(balance_text)
    if dataset.checksums:
        all_match = all(check.ok for check in dataset.checksums)
        blocks.append(Table(
            ["file", "MD5 computed now", "MD5 published", "verdict"],
            [[c.file, c.found, c.published, "matches" if c.ok else "DIFFERS"] for c in dataset.checksums],
            caption="Checksums of the uncompressed files, computed when this report was written.",
        ))
        blocks.append(Paragraph(
            f"All {len(dataset.checksums)} files match the MD5 sums published with MNIST: the data is the "
            "original, neither truncated nor altered." if all_match else
            "Some files do NOT match the published MD5 sums: the data is not the original MNIST."
        ))
    else:
        blocks.append(Paragraph(
            "Published checksums exist for MNIST only; a labelled folder has none to verify against."
        ))
    return Section(2, "Problem statement and dataset", blocks)


def _samples_grid(images: np.ndarray, labels: np.ndarray, per_class: int = 10) -> Picture:
    """Row d holds the first ``per_class`` training pictures of digit d.

    Tiled in numpy rather than with plots.plot_samples: a hundred matplotlib axes took
    3.6 s per report, the tiling takes milliseconds and shows the pixels unsmoothed."""
    gap, side = 2, images.shape[1]
    grid = np.full((10 * (side + gap) + gap, per_class * (side + gap) + gap), 96, np.uint8)
    for digit in range(10):
        for column, index in enumerate(np.flatnonzero(labels == digit)[:per_class]):
            top, left = gap + digit * (side + gap), gap + column * (side + gap)
            grid[top : top + side, left : left + side] = images[index]
    return picture_from_array(
        np.kron(grid, np.ones((2, 2), np.uint8)), "dataset_samples.png",
        "A grid of training digits, one row per class, 0 at the top", 2 * grid.shape[1], pixelated=True,
        print_height=5,
    )


def _class_balance(dataset: DatasetFacts) -> tuple[Table, Paragraph]:
    train_counts = np.bincount(dataset.train_labels.astype(int), minlength=10)
    used_counts = np.bincount(dataset.train_labels[: dataset.used].astype(int), minlength=10)
    test_counts = np.bincount(dataset.test_labels.astype(int), minlength=10)
    limited = dataset.used < len(dataset.train_labels)
    columns = ["digit", "training pictures", "share"]
    if limited:
        columns += ["used by this run", "share"]
    if len(dataset.test_labels):
        columns += ["test pictures" if dataset.checksums else "held-out pictures", "share"]
    rows = []
    for digit in range(10):
        row = [str(digit), f"{train_counts[digit]:,}", _share(train_counts[digit], train_counts.sum())]
        if limited:
            row += [f"{used_counts[digit]:,}", _share(used_counts[digit], used_counts.sum())]
        if len(dataset.test_labels):
            row += [f"{test_counts[digit]:,}", _share(test_counts[digit], test_counts.sum())]
        rows.append(row)
    total = ["all", f"{train_counts.sum():,}", "100%"]
    if limited:
        total += [f"{used_counts.sum():,}", "100%"]
    if len(dataset.test_labels):
        total += [f"{test_counts.sum():,}", "100%"]
    rows.append(total)
    rarest, commonest = int(train_counts.argmin()), int(train_counts.argmax())
    extremes = (
        f"the rarest training digit is {rarest} ({train_counts[rarest]:,}, "
        f"{_share(train_counts[rarest], train_counts.sum())}) and the most common is {commonest} "
        f"({train_counts[commonest]:,}, {_share(train_counts[commonest], train_counts.sum())})"
    )
    # Within a factor of 1.5 (MNIST's is 1.24), accuracy weighs every digit about alike.
    if train_counts[commonest] <= 1.5 * max(1, train_counts[rarest]):
        balance = f"The classes are close to balanced: {extremes}, so plain accuracy is a fair summary."
    else:
        balance = (
            f"The classes are not balanced: {extremes}, so read the per-digit recall in the classification "
            "report, not the accuracy alone."
        )
    return (
        Table(columns, rows, caption="Class balance: pictures of each digit.", numeric=set(range(1, len(columns)))),
        Paragraph(balance),
    )


# ---- 3. Neural network model ---------------------------------------------------------------


def _model_rows(run: RunRecord) -> list:
    from ..errors import DigitscanError

    try:
        from ..training.models import ModelConfig, build_model
        from ..training.summary import summarise
    except ImportError:
        raise DigitscanError(
            "the report's model section needs PyTorch: pip install 'digitscan[train]'"
        ) from None
    saved = run.config.get("model")
    if saved:
        config = ModelConfig(**{**saved, "stages": tuple(tuple(stage) for stage in saved.get("stages", ()))})
        return summarise(build_model(config))
    return summarise(build_model(run.train["model"]))


def _model(run: RunRecord, rows: list, parameters: int) -> Section:
    from ..training.summary import draw_diagram

    model = run.train["model"]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.png"
        draw_diagram(rows, f"digitscan '{model}' network", path)
        diagram = Picture("model_diagram.png", path.read_bytes(), f"Diagram of the '{model}' network", 460,
                          print_height=8.5)
    layers = [row for row in rows if row.kind not in ("Identity",)]
    weighted = [row for row in rows if row.parameters]
    table_rows = [
        [f"{row.name} ({row.kind})", row.shape_text, f"{row.parameters:,}"] for row in layers
    ]
    table_rows.append(["Total", "", f"{parameters:,}"])
    return Section(3, "Neural network model", [
        Paragraph(
            f"The '{model}' network takes a 28×28×1 picture with pixels scaled to [0, 1] and gives ten scores, one "
            f"per digit, turned into probabilities by softmax. It has {len(layers)} layers, {len(weighted)} of them "
            f"with weights, and {parameters:,} trainable parameters."
        ),
        Row([
            Figure(diagram, "The network, input at the top; each box gives the layer, its output shape and "
                   "parameters."),
            Table(
                ["Layer (type)", "Output shape", "Param #"], table_rows,
                caption="Summary, as Keras' model.summary() printed it in the lab (shapes without the batch size).",
                numeric={2},
            ),
        ]),
    ])


# ---- 4. Design steps -------------------------------------------------------------------------


def _design_steps(run: RunRecord, dataset: DatasetFacts, parameters: int) -> Section:
    train, machine = run.train, run.config.get("machine") or {}
    steps_per_epoch = math.ceil(dataset.used / train["batch_size"])
    total_steps = steps_per_epoch * len(run.history)
    augment = run.config.get("augment")
    seconds = [row["seconds"] for row in run.history]
    hardware = (
        f"{machine.get('processor', 'an unrecorded processor')} with {machine.get('cpu_count', '?')} CPU cores "
        f"({machine.get('threads', '?')} PyTorch threads)"
    )
    if machine.get("cuda"):
        hardware += f" and the GPU {machine['cuda']}"
    items = [
        f"Data preparation: {dataset.used:,} {dataset.name} training pictures, pixel values divided by 255 to "
        f"lie in [0, 1], white ink on black as {dataset.name} stores them; "
        + (f"{len(dataset.test_labels):,} test pictures for validation." if dataset.checksums else
           f"{len(dataset.test_labels):,} pictures of the folder, drawn with the seed, held out for validation."),
        "Augmentation: " + (_augmentation_text(augment) if augment else
                            "none; every epoch saw the training pictures exactly as stored."),
        f"Model: the '{train['model']}' network of section 3, {parameters:,} parameters, initialised at random "
        f"from seed {train['seed']}.",
        f"Optimiser: AdamW with weight decay {train['weight_decay']:g} (on weights, not on biases or "
        f"normalisation), cross-entropy loss with label smoothing {train['label_smoothing']:g}.",
        f"Learning-rate schedule: one cycle over {total_steps:,} steps ({steps_per_epoch:,} per epoch); the rate "
        f"rises linearly over the first {train['warmup_fraction']:.0%} of the steps to {train['max_lr']:g}, then "
        f"falls along a cosine to {run.history[-1]['lr']:.2g} at the last step.",
        f"Training: {_epochs(len(run.history))} of batch size {train['batch_size']}, seed {train['seed']}, "
        f"{run.metrics.get('precision', train['precision'])} arithmetic on the {run.metrics.get('device', '?')}.",
        "Calibration: after training, one temperature dividing the scores was fitted on clean training pictures "
        f"(it came out at {run.metrics['temperature']:g}) so that confidences mean what they say."
        if "temperature" in run.metrics else
        "Calibration: none recorded for this run.",
        f"Evaluation: the exported ONNX model ({Path(str(run.metrics.get('model', 'model.onnx'))).name}) classified "
        f"all {run.metrics['count']:,} pictures of {run.metrics['data']} with ONNX Runtime.",
        f"Hardware: {hardware}, on {machine.get('platform', 'an unrecorded platform')}.",
        f"Time: {run.metrics['train_seconds']:.1f} s of training ("
        + ", ".join(f"{s:.1f} s" for s in seconds) + " per epoch).",
    ]
    return Section(4, "Design steps", [Paragraph("What this run did, in order:"), Steps(items)])


def _augmentation_text(augment: dict[str, Any]) -> str:
    scale, aspect = augment.get("scale", (1, 1)), augment.get("aspect", (1, 1))
    return (
        f"every training batch was distorted afresh, as scans and photos distort digits: rotation up to "
        f"±{augment.get('rotation_deg', 0):g}°, scale {scale[0]:g} to {scale[1]:g}, width/height {aspect[0]:g} to "
        f"{aspect[1]:g}, shear up to {augment.get('shear', 0):g}, shift up to {augment.get('shift_px', 0):g} px; "
        f"thicker or thinner strokes for {augment.get('stroke_probability', 0):.0%} of pictures, blur for "
        f"{augment.get('blur_probability', 0):.0%}, noise (σ {augment.get('noise_std', 0):g}) for "
        f"{augment.get('noise_probability', 0):.0%}, hard black-and-white for "
        f"{augment.get('binarise_probability', 0):.0%}"
        + (f"; {augment['scan_probability']:.0%} of pictures were replaced by a low-resolution black-and-white "
           "scan of themselves, normalised as the reader normalises what it reads." if augment.get("scan_probability")
           else ".")
    )


# ---- 5. Program ------------------------------------------------------------------------------


def _program(run: RunRecord) -> Section:
    import platform

    train, machine = run.train, run.config.get("machine") or {}
    blocks: list[Block] = [
        Paragraph(
            "The network, as its PyTorch module is written in digitscan/training/models.py (the layer "
            "sizes come from the model's configuration, shown first):"
        ),
        Code(_network_source(run)),
        Paragraph(
            "One training step, from the training loop in digitscan/training/loop.py: a batch is drawn, "
            "distorted like a real scan, passed through the network, and the weights are moved against "
            "the gradient of the loss:"
        ),
        Code(_training_step_source()),
        Paragraph("The run was made with this command:"),
        Code(_portable(run.config.get("command") or "(not recorded)")),
        Paragraph(
            "The same run with every setting spelled out, so that defaults changing in a later version do not "
            "change it (the same seed on the same machine gives the same numbers):"
        ),
        Code(_full_command(train, run.run_dir)),
    ]
    api_only = _api_only_settings(train)
    if api_only:
        blocks.append(Paragraph(
            "Settings the command line does not offer, set through the Python API (TrainConfig): "
            + ", ".join(f"{name} = {value}" for name, value in api_only) + "."
        ))
    blocks.append(Facts(
        [
            ("digitscan (training)", str(run.config.get("digitscan_version", "?"))),
            ("Python (training)", str(machine.get("python", "?"))),
            ("PyTorch (training)", str(machine.get("torch", "?"))),
            ("platform (training)", _portable(str(machine.get("platform", "?")))),
            ("digitscan (this report)", __version__),
            ("Python (this report)", platform.python_version()),
            ("NumPy (this report)", np.__version__),
            ("ONNX Runtime (this report)", _version_of("onnxruntime")),
        ],
        caption="Versions",
        pairs_per_row=2,
    ))
    settings = [(name, _setting_text(value)) for name, value in train.items()]
    blocks.append(Facts(settings, caption="Training settings (config.json)", pairs_per_row=3))
    return Section(5, "Program", blocks)


def _full_command(train: dict[str, Any], run_dir: Path) -> str:
    words = [
        "digitscan", "train", "--model", train["model"], "--epochs", str(train["epochs"]),
        "--batch-size", str(train["batch_size"]), "--seed", str(train["seed"]), "--lr", f"{train['max_lr']:g}",
        "--augment" if train["augment"] else "--no-augment", "--precision", train["precision"],
        "--device", train["device"],
    ]
    if train.get("data", "mnist") != "mnist":
        words += ["--data", str(train["data"])]
    if train.get("data_dir"):
        words += ["--data-dir", Path(train["data_dir"]).name]
    if train.get("limit"):
        words += ["--limit", str(train["limit"])]
    words += ["--out", run_dir.name]
    return " ".join(shlex.quote(word) for word in words)


def _model_config(run: RunRecord):
    from ..training.models import MODEL_CONFIGS, ModelConfig

    saved = run.config.get("model")
    if saved:
        return ModelConfig(**{**saved, "stages": tuple(tuple(stage) for stage in saved.get("stages", ()))})
    return MODEL_CONFIGS[run.train["model"]]


def _network_source(run: RunRecord) -> str:
    from ..training.models import build_model

    config = _model_config(run)
    module = type(build_model(config))
    return f"config = {config!r}\nmodel = {module.__name__}(config)\n\n\n" + inspect.getsource(module).rstrip()


def _training_step_source() -> str:
    """The body of the training loop's inner loop, as the code is, not paraphrased."""
    from ..training import loop

    source = inspect.getsource(loop.train).splitlines()
    start = next((i for i, line in enumerate(source) if "for batch_index in range(" in line), None)
    end = next((i for i, line in enumerate(source) if start is not None and i > start
                and "optimizer.step()" in line), None)
    if start is None or end is None:
        return "(see train() in digitscan/training/loop.py)"
    return textwrap.dedent("\n".join(source[start:end + 1]))


def _api_only_settings(train: dict[str, Any]) -> list[tuple[str, Any]]:
    from ..training.loop import TrainConfig

    defaults = {field.name: field.default for field in fields(TrainConfig)}
    return [
        (name, train[name])
        for name in ("weight_decay", "warmup_fraction", "label_smoothing", "threads")
        if name in train and train[name] != defaults.get(name)
    ]


def _version_of(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


# ---- 6. Output -------------------------------------------------------------------------------


def _output(run: RunRecord, samples: list[SampleReading], bundled: bool) -> Section:
    metrics = run.metrics
    blocks: list[Block] = [
        Subheading("6.1 Training and validation loss and accuracy"),
        Row([
            Figure(Picture("loss.png", run.picture("loss.png"), "Loss per epoch", 420, print_height=4.8),
                   "Cross-entropy loss per epoch on the training pictures and on the validation (test) pictures."),
            Figure(Picture("accuracy.png", run.picture("accuracy.png"), "Accuracy per epoch", 420, print_height=4.8),
                   "Share of pictures classified correctly per epoch."),
        ]),
        Paragraph(_why_training_loss_is_higher(run)),
        _history_table(run.history),
        Subheading("6.2 Classification report"),
        _classification_table(metrics["classification_report"]),
        Subheading("6.3 Confusion matrix"),
        Row([
            Figure(Picture("confusion_matrix.png", run.picture("confusion_matrix.png"), "Confusion matrix heat map",
                           460, print_height=5.5),
                   "Confusion matrix: rows are the true digits, columns the network's answers (log colour scale)."),
            _confusion_table(np.asarray(metrics["confusion_matrix"])),
        ]),
        Subheading("6.4 Misclassified digits"),
        Paragraph(
            f"{metrics['errors']:,} of the {metrics['count']:,} test pictures were misclassified. The picture shows "
            "the mistakes the network was most confident about first."
        ),
        Figure(Picture("misclassified.png", run.picture("misclassified.png"), "Misclassified test digits", 700,
                       print_height=6),
               "Misclassified test digits: true digit → answer, and the confidence of the answer."),
        _mistakes_table(metrics.get("misclassified", [])),
        Subheading("6.5 Calibration"),
        Figure(Picture("calibration.png", run.picture("calibration.png"), "Calibration curve", 380, print_height=8),
               f"Above: accuracy against confidence, per confidence bin; below: how many test pictures fell in each "
               f"bin. A bin of fewer than {SPARSE_BIN} pictures is drawn hollow and left off the line: its accuracy "
               f"rests on too few pictures to mean much. Expected calibration error "
               f"{metrics['expected_calibration_error']:.4f}."),
        Subheading("6.6 New sample data prediction"),
    ]
    blocks += _sample_blocks(run, samples, bundled)
    return Section(6, "Output", blocks)


def _why_training_loss_is_higher(run: RunRecord) -> str:
    train = run.train
    reasons = []
    if train.get("augment"):
        reasons.append("the training pictures are distorted like real scans (rotated, stretched, blurred, "
                       "made noisy), which makes them harder than the clean test pictures")
    if _model_config(run).dropout > 0:
        reasons.append(f"dropout switches off {_model_config(run).dropout:.0%} of the dense layers' inputs while "
                       "training and none while validating")
    if train.get("label_smoothing"):
        reasons.append(f"label smoothing ({train['label_smoothing']:g}) keeps the network from becoming fully "
                       "confident on training pictures")
    reasons.append("the training figure is averaged over the epoch while the weights are still improving; the "
                   "validation figure is measured with the weights at the end of the epoch")
    return ("The training loss lies above the validation loss, which is expected here and not a sign of a "
            "problem: " + "; ".join(reasons) + ". Over-fitting would show the other way round: validation "
            "loss rising while training loss keeps falling.")


def _history_table(history: list[dict[str, float]]) -> Table:
    return Table(
        ["epoch", "loss", "validation loss", "accuracy", "validation accuracy", "learning rate", "seconds"],
        [[str(row["epoch"]), f"{row['loss']:.4f}", f"{row['val_loss']:.4f}", f"{row['accuracy']:.4f}",
          f"{row['val_accuracy']:.4f}", f"{row['lr']:.3g}", f"{row['seconds']:.1f}"] for row in history],
        caption="history.csv: the numbers behind the curves.",
        numeric=set(range(7)),
    )


def _classification_table(report: dict[str, dict[str, float]]) -> Table:
    rows = []
    for name, row in report.items():
        if name == "accuracy":
            rows.append(["accuracy", "", "", f"{row['value']:.4f}", f"{row['support']:,}"])
        else:
            rows.append([name, f"{row['precision']:.4f}", f"{row['recall']:.4f}", f"{row['f1-score']:.4f}",
                         f"{int(row['support']):,}"])
    return Table(["class", "precision", "recall", "f1-score", "support"], rows,
                 caption="Precision, recall and F1 per digit on the test pictures.", numeric={1, 2, 3, 4})


def _classification_text(report: dict[str, dict[str, float]]) -> str:
    from ..training.metrics import format_classification_report

    return format_classification_report(report)


def _confusion_table(matrix: np.ndarray) -> Table:
    rows = [[str(digit)] + [str(int(count)) for count in matrix[digit]] + [f"{int(matrix[digit].sum()):,}"]
            for digit in range(len(matrix))]
    rows.append(["all"] + [f"{int(count):,}" for count in matrix.sum(axis=0)] + [f"{int(matrix.sum()):,}"])
    return Table(
        ["true"] + [f"→ {digit}" for digit in range(len(matrix))] + ["all"], rows,
        caption="The confusion matrix as numbers: row = true digit, column = the network's answer.",
        numeric=set(range(1, len(matrix) + 2)),
    )


def _mistakes_table(mistakes: list[dict[str, Any]]) -> Table:
    cells = [[f"#{m['index']}", str(m["label"]), str(m["predicted"]), f"{m['confidence']:.1%}"]
             for m in mistakes[:_MISTAKES_LISTED]]
    return Table(
        ["test picture", "true digit", "answer", "confidence"] * _MISTAKES_PER_ROW,
        _side_by_side(cells, _MISTAKES_PER_ROW),
        caption=f"The {len(cells)} most confident mistakes (index into the test set), "
        "left to right, then down.",
        numeric={4 * i + 3 for i in range(_MISTAKES_PER_ROW)},
    )


def _side_by_side(cells: list[list[Cell]], per_row: int) -> list[list[Cell]]:
    """Groups of cells, ``per_row`` groups to a table row, the last row padded with blanks."""
    rows = []
    for start in range(0, len(cells), per_row):
        group = cells[start:start + per_row]
        group += [[""] * len(cells[0])] * (per_row - len(group))
        rows.append([cell for cells_of_one in group for cell in cells_of_one])
    return rows


def _sample_blocks(run: RunRecord, samples: list[SampleReading], bundled: bool) -> list[Block]:
    from ..reading.reader import DEFAULT_MIN_CONFIDENCE

    files = sorted({Path(sample.reading.file).name for sample in samples})
    if bundled:
        intro = (
            f"No --samples were given, so this section reads the example scans shipped with digitscan "
            f"({', '.join(files)}; simulated pages of handwritten digits whose true text is known). "
        )
    else:
        intro = f"The sample pictures given with --samples: {', '.join(files)}. "
    intro += (
        f"Each was read with this run's model (model.onnx in the run directory); a digit read with less than "
        f"{DEFAULT_MIN_CONFIDENCE:.0%} confidence is marked unsure. Green boxes are sure digits, orange ones unsure."
    )
    blocks: list[Block] = [Paragraph(intro)]
    for index, sample in enumerate(samples, start=1):
        blocks += _one_sample(index, sample)
    return blocks


def _one_sample(index: int, sample: SampleReading) -> list[Block]:
    reading = sample.reading
    title = Path(reading.file).name + (f", page {reading.page}" if reading.page > 1 else "")
    blocks: list[Block] = [Subheading(title, level=4)]
    if reading.error is not None or sample.picture is None:
        return blocks + [Paragraph(f"Could not be read: {reading.error}.")]
    from ..reading.annotate import draw_reading

    drawn = _shrink(draw_reading(sample.picture, reading), _SAMPLE_WIDTH)
    read_text = reading.text.replace("\n", " / ") or "nothing"
    caption = f"{reading.width}×{reading.height} pixels; read: {read_text}"
    if sample.expected is not None:
        expected = sample.expected.replace("\n", " / ")
        verdict = "exactly as written" if reading.text == sample.expected else "not exactly as written"
        caption += f"; written: {expected} ({verdict})"
    blocks.append(Figure(
        picture_from_array(drawn, f"sample{index}.png", f"{title} with the digits found boxed", 640,
                           print_height=5.5), caption
    ))
    if not reading.digits:
        return blocks + [Paragraph("No digits were found in this picture.")]
    cells: list[list[str | Picture]] = []
    for number, digit in enumerate(reading.digits[:_DIGITS_LISTED], start=1):
        seen: str | Picture = "(not kept)"
        if digit.network_input is not None:
            # Stored at twice its size, pixels kept square, so Markdown viewers that show a
            # picture at its own size still show something a person can see.
            seen = picture_from_array(
                np.kron(np.asarray(digit.network_input).reshape(28, 28), np.ones((2, 2))),
                f"sample{index}_digit{number}.png",
                f"28×28 input of digit {number}", 40, pixelated=True,
            )
        runners_up = ", ".join(f"{d} {p:.0%}" for d, p in digit.top[1:3])
        # Two short lines, so that several digits fit side by side.
        answer = f"{digit.digit} at {digit.confidence:.1%}{' (unsure)' if digit.unsure else ''}\nnext {runners_up}"
        cells.append([str(number), seen, answer])
    # A compact grid, several digits to a row: a page of digits is one short table, not pages.
    per_row = _DIGITS_PER_ROW
    rows = _side_by_side(cells, per_row)
    caption = ("Each digit found, in reading order: the 28×28 picture the network saw (input), its answer and "
               "confidence, and the next likeliest digits.")
    if len(reading.digits) > _DIGITS_LISTED:
        caption += f" The first {_DIGITS_LISTED} of {len(reading.digits)} digits are listed."
    blocks.append(Table(
        ["#", "input", "read"] * per_row, rows, caption=caption,
        numeric={3 * i for i in range(per_row)},
    ))
    return blocks


def _shrink(picture: np.ndarray, width: int) -> np.ndarray:
    import cv2

    if picture.shape[1] <= width:
        return picture
    height = max(1, round(picture.shape[0] * width / picture.shape[1]))
    return cv2.resize(picture, (width, height), interpolation=cv2.INTER_AREA)


# ---- 7. Result -------------------------------------------------------------------------------


def _result(run: RunRecord, dataset: DatasetFacts, samples: list[SampleReading], bundled: bool) -> Section:
    metrics, last = run.metrics, run.history[-1]
    report = metrics["classification_report"]
    matrix = np.asarray(metrics["confusion_matrix"])
    recalls = {digit: report[str(digit)]["recall"] for digit in range(10)}
    hardest = min(recalls, key=recalls.get)
    off_diagonal = matrix - np.diag(np.diag(matrix))
    true_digit, answer = np.unravel_index(int(off_diagonal.argmax()), matrix.shape)
    sentences = [
        f"The '{run.train['model']}' network, trained for {_epochs(len(run.history))} on {dataset.used:,} "
        f"{dataset.name} pictures in {metrics['train_seconds']:.1f} s, classified {metrics['accuracy']:.2%} of the "
        f"{metrics['count']:,} test digits correctly ({metrics['errors']:,} mistakes).",
        f"After the last epoch the training loss was {last['loss']:.4f} and the validation loss "
        f"{last['val_loss']:.4f}; the training accuracy (on distorted pictures) was {last['accuracy']:.2%}."
        + _validation_note(metrics["accuracy"], last["val_accuracy"]),
        f"The macro-average F1 score is {report['macro avg']['f1-score']:.4f}; the hardest digit was {hardest} "
        f"(recall {recalls[hardest]:.2%}), and the most common confusion was a {true_digit} read as {answer} "
        f"({int(off_diagonal[true_digit, answer]):,} times).",
    ]
    readable = [s for s in samples if s.reading.error is None]
    digits = [d for s in readable for d in s.reading.digits]
    if samples:
        which = "example pictures shipped with digitscan" if bundled else "sample pictures"
        sentence = (
            f"On the {len(samples)} {which} it found {len(digits)} digits, {sum(d.unsure for d in digits)} of them "
            "marked unsure"
        )
        known = [s for s in readable if s.expected is not None]
        if known:
            exact = sum(s.reading.text == s.expected for s in known)
            sentence += f"; {exact} of {len(known)} pictures were read exactly as written"
        failed = len(samples) - len(readable)
        if failed:
            sentence += f"; {failed} could not be read"
        sentences.append(sentence + ".")
    return Section(7, "Result", [Paragraph(" ".join(sentences))])


def _validation_note(accuracy: float, val_accuracy: float) -> str:
    if f"{accuracy:.2%}" == f"{val_accuracy:.2%}":
        return ""
    return (f" The training loop's own check on the same test digits after the last epoch gave {val_accuracy:.2%}; "
            f"the {accuracy:.2%} above is the exported ONNX model, the one digitscan reads with, measured again "
            "after training (small differences come from the export and, where used, bf16 arithmetic during "
            "training).")


def _epochs(count: int) -> str:
    return f"{count} epoch" if count == 1 else f"{count} epochs"


def _share(count: int | np.integer, total: int | np.integer) -> str:
    return f"{count / total:.1%}" if total else "0%"
