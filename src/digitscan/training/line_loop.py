"""Training the line recogniser: synthetic lines (or your labelled line images) -> a run
directory with weights, ONNX, history and metrics on held-apart lines.

    digitscan train --model lines --epochs 4 --out runs/lines
    digitscan train --model lines --data my-lines/ --init shipped --epochs 3 --out runs/mine

The loop is the digit model's (one-cycle AdamW, bf16 where native, checkpoints that
``--resume`` continues), with CTC's loss in place of cross-entropy, and batches of lines of
similar width padded with paper. Validation lines are drawn from MNIST's *test* digits, so
they share no handwriting with the training lines.
"""

from __future__ import annotations

import csv
import math
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DigitscanError
from .config import TrainConfig, TrainResult
from .cores import CoreWatch, quiet_openmp
from .device import choose_setup
from .finish import model_weights
from .progress import Progress
from .rundir import load_checkpoint, prepare_run_dir, record_machine, save_checkpoint, update_config, write_history
from .schedule import adamw, one_cycle

__all__ = ["edit_distance", "load_line_folder", "make_calibration_lines", "score_lines", "train_lines",
           "validation_lines"]

# Lines held apart for validation (from MNIST's test digits, another seed).
VALIDATION_LINES = 2000
_VALIDATION_SEED = 1_000_003


def train_lines(config: TrainConfig, out: str | os.PathLike[str], resume: bool = False,
                overwrite: bool = False, progress: bool = True) -> TrainResult:
    quiet_openmp()  # before torch is imported, or its OpenMP never reads the setting
    import torch
    import torch.nn.functional as F

    from . import export
    from .line_model import LINE_MODEL_CONFIGS, build_line_model

    # A mistyped --init or --hands fails here, before a run directory is made that a second
    # try with the same --out would then find in its way.
    initial_weights = _initial_weights(config.init) if config.init else None
    for folder in config.hands:
        if not Path(folder).is_dir():
            raise DigitscanError(f"--hands {folder}: not a folder of labelled images")
    if config.data != "mnist":
        _labels_table(config.data)
    run_dir = Path(out)
    config = prepare_run_dir(run_dir, config, resume=resume, overwrite=overwrite)

    # ---- device, precision, threads -----------------------------------------------------
    setup = choose_setup(config, torch)
    device, bf16 = setup.device, setup.bf16
    record_machine(run_dir, threads=setup.threads)
    if progress:
        print(setup.line(), flush=True)
    torch.manual_seed(config.seed)

    # ---- data: lines as float16 arrays (32, W) with their texts ---------------------------
    prepare_start = time.perf_counter()
    train_lines_, train_texts, val_lines, val_texts, val_name = _load_data(config, progress)
    prepare_seconds = time.perf_counter() - prepare_start
    widths = np.array([line.shape[1] for line in train_lines_])

    # ---- model and optimiser ---------------------------------------------------------------
    model = build_line_model(LINE_MODEL_CONFIGS["lines"]).to(device)
    if initial_weights is not None:
        model.load_state_dict(initial_weights, strict=True)
    model = model.to(memory_format=torch.channels_last)
    optimizer = adamw(model, config, torch)
    steps_per_epoch = math.ceil(len(train_lines_) / config.batch_size)
    total_steps = steps_per_epoch * config.epochs
    learning_rate = one_cycle(config, total_steps)

    history: list[dict[str, float]] = []
    start_epoch = 0
    if resume:
        start_epoch, history = load_checkpoint(run_dir, model, optimizer, torch)

    # ---- the loop ------------------------------------------------------------------------
    bar = Progress(enabled=progress, total_steps=total_steps, done_steps=start_epoch * steps_per_epoch)
    # Threads follow the free cores: a program started beside a long run takes one back.
    watch = CoreWatch(setup.threads) if not config.threads else None
    train_seconds = sum(row["seconds"] for row in history)
    interrupted = False
    try:
        with bar:
            for epoch in range(start_epoch, config.epochs):
                epoch_start = time.perf_counter()
                rng = np.random.default_rng(config.seed * 1000 + epoch)
                model.train()
                loss_sum, exact, seen = 0.0, 0, 0
                for batch_index, index in enumerate(_batches(widths, config.batch_size, rng)):
                    step = epoch * steps_per_epoch + batch_index
                    for group in optimizer.param_groups:
                        group["lr"] = learning_rate(step)
                    images, targets, input_lengths, target_lengths = _batch(
                        [train_lines_[i] for i in index], [train_texts[i] for i in index], rng, torch)
                    images = images.to(device).contiguous(memory_format=torch.channels_last)
                    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
                        logits = model.logits(images)
                    log_probs = logits.float().log_softmax(-1)
                    loss = F.ctc_loss(log_probs.transpose(0, 1), targets.to(device), input_lengths,
                                      target_lengths, blank=0, zero_infinity=True)
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
                    optimizer.step()
                    loss_sum += loss.item() * len(index)
                    seen += len(index)
                    if batch_index % 25 == 24 or batch_index == steps_per_epoch - 1:
                        decoded = _decoded_texts(log_probs.detach(), input_lengths)
                        exact_batch = sum(a == b for a, b in zip(decoded, (train_texts[i] for i in index), strict=True))
                        exact += exact_batch * 25  # an estimate from every 25th batch
                        bar.step(epoch + 1, config.epochs, loss_sum / seen, exact_batch / len(index),
                                 advance=batch_index % 25 + 1)
                        if watch and watch.changed():
                            torch.set_num_threads(watch.threads)
                epoch_seconds = time.perf_counter() - epoch_start
                train_seconds += epoch_seconds
                val_loss, val_exact, _ = _validate(model, val_lines, val_texts, bf16, device, torch)
                row = {
                    "epoch": epoch + 1,
                    "loss": loss_sum / seen,
                    "accuracy": min(1.0, exact / max(seen, 1)),
                    "val_loss": val_loss,
                    "val_accuracy": val_exact,
                    "lr": learning_rate(step),
                    "seconds": epoch_seconds,
                }
                history.append(row)
                bar.epoch_done(row)
                save_checkpoint(run_dir, model, optimizer, epoch + 1, history, torch)
                write_history(run_dir / "history.csv", history)
    except KeyboardInterrupt:
        interrupted = True
        if not history:
            raise DigitscanError(f"interrupted before the first epoch finished; nothing kept in {run_dir}") from None
        load_checkpoint(run_dir, model, optimizer, torch)

    # ---- export, and evaluate the ONNX model as reading will run it -----------------------
    model.eval()
    export.save_weights(run_dir / "model.safetensors", model_weights(model), {"model": "lines"})
    export.export_line_onnx(model, run_dir / "model.onnx")
    # The 8-bit copy that reading uses where the CPU has VNNI, calibrated on training lines.
    export.quantize_line_onnx(run_dir / "model.onnx", run_dir / "model.int8.onnx",
                              [train_lines_[i].astype(np.float32) for i in range(min(256, len(train_lines_)))])
    from ..files import write_json
    from ..reading.lines import LineRecogniser

    decoded = LineRecogniser(run_dir / "model.onnx").read_lines([v.astype(np.float32) for v in val_lines])
    exact, cer = score_lines(val_texts, [d.text for d in decoded])
    metrics: dict[str, Any] = {
        "data": val_name,
        "lines": len(val_texts),
        "exact": exact,
        "accuracy": exact,
        "cer": cer,
        "epochs_completed": len(history),
        "train_lines": len(train_texts),
        "train_seconds": round(train_seconds, 2),
        "prepare_seconds": round(prepare_seconds, 2),
        "interrupted": interrupted,
        **setup.facts(),
    }
    write_json(run_dir / "metrics.json", metrics)
    from . import plots

    plots.plot_loss(history, run_dir / "loss.png")
    plots.plot_accuracy(history, run_dir / "accuracy.png")
    update_config(run_dir, {"train_seconds": round(train_seconds, 2)})
    return TrainResult(run_dir, history, metrics, interrupted, train_seconds)


# ---- data --------------------------------------------------------------------------------


def _load_data(config: TrainConfig, progress: bool):
    from .mnist import load_mnist

    if config.data != "mnist":
        lines, texts = load_line_folder(config.data)
        rng = np.random.default_rng(config.seed)
        order = rng.permutation(len(texts))
        n_val = max(1, len(texts) // 10)
        if len(texts) - n_val < 1:
            raise DigitscanError(f"{config.data}: too few line images to train on ({len(texts)})")
        held = order[:n_val]
        kept = order[n_val:]
        return ([lines[i] for i in kept], [texts[i] for i in kept], [lines[i] for i in held],
                [texts[i] for i in held], f"{config.data} (10% held out)")
    test = load_mnist("test", config.data_dir)
    # A quick trial run (a few hundred lines) is validated on fewer lines to stay quick.
    n_val = min(VALIDATION_LINES, max(100, config.lines // 4))
    val_lines, val_texts = validation_lines(test.images, test.labels, n_val)
    train = load_mnist("train", config.data_dir)
    images, labels = _with_other_hands(train.images, train.labels, config.hands)
    if progress:
        other = f" and {len(images) - len(train.images):,} of other hands" if config.hands else ""
        print(f"synthesising {config.lines:,} training lines from MNIST's training digits{other} ...", flush=True)
    lines, texts = _synthesise(config.lines, config.seed, images, labels, os.cpu_count() or 1)
    return lines, texts, val_lines, val_texts, f"{n_val:,} synthetic lines of MNIST test digits"


# A digit of another hand is drawn this many times as often as one of MNIST's: there are
# far fewer of them, and they are what MNIST's American schoolchildren and clerks lack.
_OTHER_HANDS_WEIGHT = 3


def _with_other_hands(images: np.ndarray, labels: np.ndarray, folders: list[str]
                      ) -> tuple[np.ndarray, np.ndarray]:
    """MNIST's training digits joined by the labelled digits in ``folders`` (normalised the
    way MNIST is), each of those repeated ``_OTHER_HANDS_WEIGHT`` times."""
    from .datasets import load_labelled_folder

    parts_images, parts_labels = [images], [labels]
    for folder in folders:
        extra_images, extra_labels = load_labelled_folder(folder)
        parts_images += [extra_images] * _OTHER_HANDS_WEIGHT
        parts_labels += [extra_labels] * _OTHER_HANDS_WEIGHT
    return np.concatenate(parts_images), np.concatenate(parts_labels)


def validation_lines(images: np.ndarray, labels: np.ndarray, count: int = VALIDATION_LINES
                     ) -> tuple[list[np.ndarray], list[str]]:
    """The held-apart lines a line model is measured on: made from MNIST's *test* digits
    with their own seed, so they share no handwriting with any training line. A run and
    ``scripts/ship_model.py`` both measure on exactly these."""
    return _synthesise(count, _VALIDATION_SEED, images, labels, 1)


_CALIBRATION_SEED = 2_000_003


def make_calibration_lines(images: np.ndarray, labels: np.ndarray, count: int = 256) -> list[np.ndarray]:
    """Lines to measure the int8 model's activation ranges on, from the *training* digits
    with a seed of their own (the validation lines stay unseen)."""
    lines, _texts = _synthesise(count, _CALIBRATION_SEED, images, labels, 1)
    return [line.astype(np.float32) for line in lines]


def _synthesise(count: int, seed: int, images: np.ndarray, labels: np.ndarray, workers: int):
    """``count`` synthetic lines, made in chunks over ``workers`` processes; the chunks are
    seeded from ``seed`` so the set is the same however many processes make it."""
    from .lines import make_line_set

    chunk = 2000
    jobs = [(min(chunk, count - start), seed * 7919 + start // chunk) for start in range(0, count, chunk)]
    lines: list[np.ndarray] = []
    texts: list[str] = []
    if workers <= 1 or len(jobs) == 1:
        for size, chunk_seed in jobs:
            part_lines, part_texts = make_line_set(size, chunk_seed, images, labels)
            lines += part_lines
            texts += part_texts
        return lines, texts
    # The digits go to each worker once, not with every chunk.
    with ProcessPoolExecutor(workers, initializer=_hold_digits, initargs=(images, labels)) as pool:
        for part_lines, part_texts in pool.map(_make_chunk, jobs):
            lines += part_lines
            texts += part_texts
    return lines, texts


_DIGITS: tuple[np.ndarray, np.ndarray] | None = None


def _hold_digits(images: np.ndarray, labels: np.ndarray) -> None:
    global _DIGITS
    _DIGITS = (images, labels)


def _make_chunk(job: tuple[int, int]):
    from .lines import make_line_set

    assert _DIGITS is not None
    return make_line_set(job[0], job[1], *_DIGITS)


def load_line_folder(folder: str | os.PathLike[str]) -> tuple[list[np.ndarray], list[str]]:
    """Labelled line images: ``images/`` and ``labels.csv`` with columns ``file,text`` (the
    digits, numbers separated by a space), read exactly as ``--layout line`` reads."""
    from ..reading.imageio import load_pages
    from ..reading.lines import band_of, line_band, line_input
    from ..reading.preprocess import ink_is_dark, ink_strength, to_grey

    root = Path(folder)
    table = _labels_table(root)
    lines, texts = [], []
    with table.open(newline="", encoding="utf-8") as handle:
        for row_number, row in enumerate(csv.DictReader(handle), start=2):
            if "file" not in row or "text" not in row:
                raise DigitscanError(f"{table}: needs the columns file,text")
            text = " ".join(row["text"].split())
            if not all(ch.isdigit() or ch == " " for ch in text):
                raise DigitscanError(
                    f"{table} line {row_number}: text {row['text']!r} holds more than digits and spaces")
            pages = list(load_pages([root / "images" / row["file"]]))
            if not pages or pages[0].image is None:
                reason = pages[0].error if pages else "not found"
                raise DigitscanError(f"{table} line {row_number}: {row['file']}: {reason}")
            grey = to_grey(pages[0].image)
            ink = ink_strength(grey, ink_is_dark(grey))
            top, bottom = line_band(ink)
            lines.append(line_input(band_of(ink, top, bottom)).astype(np.float16))
            texts.append(text)
    if not texts:
        raise DigitscanError(f"{table}: no rows")
    return lines, texts


def _labels_table(folder: str | os.PathLike[str]) -> Path:
    """A line folder's ``labels.csv``; a clear error when there is none."""
    table = Path(folder) / "labels.csv"
    if not table.is_file():
        raise DigitscanError(f"{folder}: no labels.csv (expected images/ and labels.csv with columns file,text)")
    return table


def _initial_weights(init: str) -> dict:
    from .export import load_weights

    if init == "shipped":
        path = Path(__file__).parent.parent / "model" / "lines.safetensors"
    else:
        path = Path(init)
        if path.is_dir():
            path = path / "model.safetensors"
    if not path.is_file():
        raise DigitscanError(f"--init {init}: no line model weights at {path}")
    return load_weights(path)


def _batches(widths: np.ndarray, batch_size: int, rng: np.random.Generator):
    """Batches of lines of similar width (little padding), in random order."""
    order = rng.permutation(len(widths))
    pool = batch_size * 32
    batches = []
    for start in range(0, len(order), pool):
        part = order[start: start + pool]
        part = part[np.argsort(widths[part], kind="stable")]
        batches += [part[i: i + batch_size] for i in range(0, len(part), batch_size)]
    for index in rng.permutation(len(batches)):
        yield batches[index]


# Batches are padded to a multiple of this width: a handful of shapes instead of hundreds,
# so oneDNN reuses its compiled kernels instead of making new ones for nearly every batch.
_WIDTH_STEP = 32


def _batch(lines: list[np.ndarray], texts: list[str], rng: np.random.Generator, torch):
    from ..reading.lines import COLUMNS_PER_STEP, SYMBOLS

    widest = -(-max(line.shape[1] for line in lines) // _WIDTH_STEP) * _WIDTH_STEP
    images = np.zeros((len(lines), 1, lines[0].shape[0], widest), np.float32)
    for row, line in enumerate(lines):
        images[row, 0, :, : line.shape[1]] = line
    codes = [SYMBOLS.index(ch) for text in texts for ch in text]
    targets = torch.tensor(codes, dtype=torch.long)
    input_lengths = torch.tensor([line.shape[1] // COLUMNS_PER_STEP for line in lines], dtype=torch.long)
    target_lengths = torch.tensor([len(text) for text in texts], dtype=torch.long)
    return torch.from_numpy(images), targets, input_lengths, target_lengths


def _decoded_texts(log_probs, lengths) -> list[str]:
    from ..reading.lines import decode

    probabilities = log_probs.exp().cpu().numpy()
    return [decode(p, int(n)).text for p, n in zip(probabilities, lengths, strict=True)]


def _validate(model, lines, texts, bf16, device, torch) -> tuple[float, float, float]:
    import torch.nn.functional as F

    model.eval()
    decoded: list[str] = []
    loss_sum = 0.0
    order = np.argsort([line.shape[1] for line in lines], kind="stable")
    rng = np.random.default_rng(0)
    with torch.no_grad(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
        results: dict[int, str] = {}
        for start in range(0, len(order), 128):
            index = order[start: start + 128]
            images, targets, input_lengths, target_lengths = _batch(
                [lines[i] for i in index], [texts[i] for i in index], rng, torch)
            log_probs = model.logits(images.to(device).contiguous(memory_format=torch.channels_last)
                                     ).float().log_softmax(-1)
            loss_sum += float(F.ctc_loss(log_probs.transpose(0, 1), targets.to(device), input_lengths,
                                         target_lengths, zero_infinity=True, reduction="sum"))
            for i, text in zip(index, _decoded_texts(log_probs, input_lengths), strict=True):
                results[int(i)] = text
        decoded = [results[i] for i in range(len(lines))]
    model.train()
    exact, cer = score_lines(texts, decoded)
    return loss_sum / len(lines), exact, cer


def score_lines(truths: list[str], readings: list[str]) -> tuple[float, float]:
    """(share of lines read exactly, character error rate over the truths' characters)."""
    exact = sum(a == b for a, b in zip(truths, readings, strict=True)) / max(len(truths), 1)
    errors = sum(edit_distance(a, b) for a, b in zip(truths, readings, strict=True))
    return exact, errors / max(sum(len(t) for t in truths), 1)


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance: insertions, deletions and substitutions to turn a into b."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]
