"""Training: MNIST (or a labelled folder) -> a run directory with weights, ONNX, history,
metrics and pictures. Reads top to bottom in the order the lab does things.

    digitscan train --model default --epochs 6 --out runs/default

The run directory holds config.json, history.csv (loss, accuracy, val_loss, val_accuracy),
model.safetensors, model.onnx, metrics.json and the pictures. ``checkpoint.safetensors``
plus ``checkpoint.json`` hold the last complete epoch so ``--resume`` continues exactly.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DigitscanError
from .config import TrainConfig, TrainResult
from .cores import CoreWatch, quiet_openmp
from .device import choose_setup, fastest_threads
from .finish import EVAL_BATCH, calibrate, finish_run, model_weights
from .progress import Progress
from .rundir import load_checkpoint, prepare_run_dir, record_machine, save_checkpoint, write_history
from .schedule import adamw, one_cycle

__all__ = ["TrainConfig", "TrainResult", "train"]


def train(
    config: TrainConfig,
    out: str | os.PathLike[str],
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = True,
    on_epoch: Callable[[dict[str, float]], None] | None = None,
) -> TrainResult:
    """Train ``config.model`` and write the run directory ``out``.

    >>> result = train(TrainConfig(model="seed", epochs=5, batch_size=64), "runs/seed")  # doctest: +SKIP
    >>> result.metrics["accuracy"]                                                       # doctest: +SKIP
    0.98...
    """
    quiet_openmp()  # before torch is imported, or its OpenMP never reads the setting
    if config.model == "lines":
        from .line_loop import train_lines

        return train_lines(config, out, resume=resume, overwrite=overwrite, progress=progress)
    import torch
    import torch.nn.functional as F

    from . import export, models
    from .augment import AugmentConfig, augment_batch

    run_dir = Path(out)
    config = prepare_run_dir(run_dir, config, resume=resume, overwrite=overwrite)

    # ---- device, precision, threads -----------------------------------------------------
    setup = choose_setup(config, torch)
    device, bf16 = setup.device, setup.bf16
    torch.manual_seed(config.seed)
    np.random.seed(config.seed)

    # ---- data: the whole set as one tensor in memory ------------------------------------
    data = _load_data(config)
    if config.limit:
        data["train_images"] = data["train_images"][: config.limit]
        data["train_labels"] = data["train_labels"][: config.limit]
    train_x = _to_tensor(data["train_images"], device, torch)
    train_y = torch.from_numpy(data["train_labels"].astype(np.int64)).to(device)
    val_x = _to_tensor(data["val_images"], device, torch)
    val_y = torch.from_numpy(data["val_labels"].astype(np.int64)).to(device)
    n_train = len(train_y)

    # ---- model and optimiser -------------------------------------------------------------
    model_config = models.MODEL_CONFIGS.get(config.model)
    if model_config is None:
        raise DigitscanError(f"unknown model {config.model!r}: choose one of {', '.join(models.MODEL_CONFIGS)}")
    model = models.build_model(model_config).to(device).to(memory_format=torch.channels_last)
    optimizer = adamw(model, config, torch)
    steps_per_epoch = math.ceil(n_train / config.batch_size)
    total_steps = steps_per_epoch * config.epochs
    learning_rate = one_cycle(config, total_steps)
    setup = fastest_threads(setup, model, train_x[: config.batch_size], train_y[: config.batch_size], torch)
    record_machine(run_dir, threads=setup.threads)
    if progress:
        print(setup.line(), flush=True)

    augment_config = AugmentConfig() if config.augment else None
    # Low-resolution scans of the training digits are made once, before the first epoch
    # (they go through the reader's per-image normalisation), then swapped in at random.
    # An epoch swaps in about scan_probability of the digits, so a run of fewer epochs than
    # 1 / scan_probability never meets most copies: it prepares only the share it can use (a
    # random one) and swaps those in more often, the same number of scans in all. From four
    # epochs on every digit is prepared, as before.
    scanned_x, prepare_seconds, swap_probability = None, 0.0, 0.0
    if augment_config is not None and augment_config.scan_probability > 0:
        from .augment import scanned_copies

        share = min(1.0, augment_config.scan_probability * config.epochs)
        chosen = np.arange(n_train)
        if share < 1.0:
            chosen = np.sort(np.random.default_rng(config.seed).choice(n_train, round(share * n_train), replace=False))
        swap_probability = augment_config.scan_probability / share
        if progress:
            print(f"preparing low-resolution scans of {len(chosen):,} training digits ...", flush=True)
        prepare_start = time.perf_counter()
        # Only the prepared scans are kept, with each digit's row among them (-1: none).
        scanned_x = _to_tensor(scanned_copies(data["train_images"][chosen], config.seed, setup.threads), device, torch)
        scan_row = torch.full((n_train,), -1, dtype=torch.long)
        scan_row[torch.from_numpy(chosen)] = torch.arange(len(chosen))
        scan_row = scan_row.to(device)
        prepare_seconds = time.perf_counter() - prepare_start
    history: list[dict[str, float]] = []
    start_epoch = 0
    if resume:
        start_epoch, history = load_checkpoint(run_dir, model, optimizer, torch)

    # ---- the loop ------------------------------------------------------------------------
    bar = Progress(enabled=progress, total_steps=total_steps, done_steps=start_epoch * steps_per_epoch)
    # Threads follow the free cores: a program started beside a long run takes one back
    # (not where one thread measured fastest: there is nothing to give back).
    watch = CoreWatch(setup.threads) if not config.threads and setup.threads > 1 else None
    train_seconds = sum(row["seconds"] for row in history)
    interrupted = False
    distorted = augment_config is not None or scanned_x is not None
    batches = ThreadPoolExecutor(1, thread_name_prefix="digitscan-batches") if distorted else None
    try:
        with bar:
            for epoch in range(start_epoch, config.epochs):
                epoch_start = time.perf_counter()
                # A generator per epoch, seeded from (seed, epoch): a resumed run draws
                # exactly the batches and distortions the uninterrupted run would have.
                generator = torch.Generator().manual_seed(config.seed * 1000 + epoch)
                order = torch.randperm(n_train, generator=generator).to(device)
                model.train()
                # Running totals stay tensors: reading them back every step costs more than
                # a small model's step on a CPU; the bar is refreshed every few steps.
                loss_sum, correct, seen = torch.zeros((), device=device), torch.zeros((), device=device), 0

                def batch(batch_index: int, order=order, generator=generator):
                    index = order[batch_index * config.batch_size : (batch_index + 1) * config.batch_size]
                    images, labels = train_x[index], train_y[index]
                    if scanned_x is not None:
                        rows = scan_row[index]
                        swap = (torch.rand(len(index), generator=generator) < swap_probability).to(device)
                        swap &= rows >= 0
                        images = torch.where(swap.view(-1, 1, 1, 1), scanned_x[rows.clamp(min=0)], images)
                    if augment_config is not None:
                        images = augment_batch(images, augment_config, generator)
                    return images.contiguous(memory_format=torch.channels_last), labels

                # The next batch is cut and distorted in a worker thread while this one
                # trains: the distortions are many small tensor operations that keep one
                # core half idle. Each batch is asked for only once the one before it is
                # made, so the generator draws in the same order as before and a resumed
                # run still repeats the uninterrupted one. The default network's steps at
                # batch 128 in bf16, 2 threads: 19.9 -> 17.7 ms; 1 thread: 28.3 -> 25.6 ms.
                # Undistorted batches are only gathered: handing them over costs more than
                # it saves (the lab's network, 5 epochs: 21.6-21.9 -> 22.3-22.5 s).
                pending = batches.submit(batch, 0) if batches is not None else None
                for batch_index in range(steps_per_epoch):
                    step = epoch * steps_per_epoch + batch_index
                    for group in optimizer.param_groups:
                        group["lr"] = learning_rate(step)
                    if pending is None:
                        images, labels = batch(batch_index)
                    else:
                        images, labels = pending.result()
                        if batch_index + 1 < steps_per_epoch:
                            pending = batches.submit(batch, batch_index + 1)
                    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
                        logits = model(images)
                        loss = F.cross_entropy(logits.float(), labels, label_smoothing=config.label_smoothing)
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    optimizer.step()
                    with torch.no_grad():
                        # History reports plain cross-entropy, comparable with val_loss; the
                        # smoothed loss being optimised sits higher by construction.
                        loss_sum += F.cross_entropy(logits.float(), labels, reduction="sum")
                        correct += (logits.argmax(1) == labels).sum()
                    seen += len(labels)
                    if batch_index % 25 == 24 or batch_index == steps_per_epoch - 1:
                        bar.step(epoch + 1, config.epochs, loss_sum.item() / seen, correct.item() / seen,
                                 advance=batch_index % 25 + 1)
                        if watch and watch.changed():
                            torch.set_num_threads(watch.threads)
                epoch_seconds = time.perf_counter() - epoch_start
                train_seconds += epoch_seconds
                val_loss, val_accuracy = _evaluate_tensor(model, val_x, val_y, bf16, device, torch)
                row = {
                    "epoch": epoch + 1,
                    "loss": loss_sum.item() / seen,
                    "accuracy": correct.item() / seen,
                    "val_loss": val_loss,
                    "val_accuracy": val_accuracy,
                    "lr": learning_rate(step),
                    "seconds": epoch_seconds,
                }
                history.append(row)
                bar.epoch_done(row)
                save_checkpoint(run_dir, model, optimizer, epoch + 1, history, torch)
                write_history(run_dir / "history.csv", history)
                if on_epoch:
                    on_epoch(row)
    except KeyboardInterrupt:
        interrupted = True
        if not history:
            raise DigitscanError(f"interrupted before the first epoch finished; nothing kept in {run_dir}") from None
        # Go back to the last complete epoch so what we export is what the checkpoint holds.
        load_checkpoint(run_dir, model, optimizer, torch)
    finally:
        if batches is not None:
            batches.shutdown(wait=True, cancel_futures=True)

    # ---- calibrate, export and evaluate ---------------------------------------------------
    n_calibration = min(10_000, n_train)
    calibrate(model, train_x[-n_calibration:], train_y[-n_calibration:], torch, bf16)
    export.save_weights(run_dir / "model.safetensors", model_weights(model), {"model": config.model})
    export.export_onnx(model, run_dir / "model.onnx")
    metrics = finish_run(run_dir, data, history, {
        "train_seconds": round(train_seconds, 2),
        # Made once before the first epoch (augment.scanned_copies); not in train_seconds.
        "prepare_seconds": round(prepare_seconds, 2),
        "interrupted": interrupted,
        **setup.facts(),
        "temperature": float(model.temperature),
    })
    return TrainResult(run_dir, history, metrics, interrupted, train_seconds)


# ---- data --------------------------------------------------------------------------------


def _load_data(config: TrainConfig) -> dict[str, Any]:
    if config.data == "mnist":
        from .mnist import load_mnist

        train_split = load_mnist("train", config.data_dir)
        test_split = load_mnist("test", config.data_dir)
        # As in the lab, validation is MNIST's test set. It is only reported, never used
        # to choose anything (no early stopping, no best-epoch pick), so it stays a test.
        return {
            "train_images": train_split.images,
            "train_labels": train_split.labels,
            "val_images": test_split.images,
            "val_labels": test_split.labels,
            "val_name": "mnist-test",
        }
    from .datasets import load_labelled_folder

    images, labels = load_labelled_folder(config.data)
    rng = np.random.default_rng(config.seed)
    order = rng.permutation(len(labels))
    n_val = max(1, len(labels) // 10)
    val, tr = order[:n_val], order[n_val:]
    if len(tr) == 0:
        raise DigitscanError(f"{config.data}: too few images to train on ({len(labels)})")
    return {
        "train_images": images[tr],
        "train_labels": labels[tr],
        "val_images": images[val],
        "val_labels": labels[val],
        "val_name": f"{config.data} (10% held out)",
    }


def _to_tensor(images: np.ndarray, device, torch):
    # uint8 -> float in [0, 1] by torch, in place and on all its threads: numpy's one-thread
    # conversion of MNIST's 47 million training pixels took 0.6 s of a 25 s one-epoch run.
    # (MNIST's arrays are read-only views of the file's bytes: torch wants its own copy.)
    source = np.require(images, requirements=["C_CONTIGUOUS", "WRITEABLE"])
    tensor = torch.from_numpy(source).to(device=device, dtype=torch.float32)
    return tensor.div_(255.0).unsqueeze(1)


def _evaluate_tensor(model, images, labels, bf16, device, torch) -> tuple[float, float]:
    import torch.nn.functional as F

    model.eval()
    loss_sum, correct = 0.0, 0
    with torch.no_grad(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
        for start in range(0, len(labels), EVAL_BATCH):
            batch = images[start : start + EVAL_BATCH].contiguous(memory_format=torch.channels_last)
            batch_labels = labels[start : start + EVAL_BATCH]
            logits = model(batch).float()
            loss_sum += F.cross_entropy(logits, batch_labels, reduction="sum").item()
            correct += (logits.argmax(1) == batch_labels).sum().item()
    model.train()
    return loss_sum / len(labels), correct / len(labels)
