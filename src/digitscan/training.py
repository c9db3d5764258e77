"""Training: MNIST (or a labelled folder) -> a run directory with weights, ONNX, history,
metrics and pictures. Reads top to bottom in the order the lab does things.

    digitscan train --model default --epochs 6 --out runs/default

The run directory holds config.json, history.csv (loss, accuracy, val_loss, val_accuracy),
model.safetensors, model.onnx, metrics.json and the pictures. ``checkpoint.safetensors``
plus ``checkpoint.json`` hold the last complete epoch so ``--resume`` continues exactly.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from .errors import DigitscanError
from .files import write_bytes, write_json, write_text

__all__ = ["TrainConfig", "TrainResult", "train"]

HISTORY_COLUMNS = ["epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr", "seconds"]


@dataclass
class TrainConfig:
    """Everything that decides a run. Saved as config.json; the same values, seed and machine
    give the same numbers."""

    model: str = "default"  # a name in models.MODEL_CONFIGS
    epochs: int = 6
    batch_size: int = 128
    max_lr: float = 4e-3  # peak of the one-cycle schedule
    weight_decay: float = 5e-4
    warmup_fraction: float = 0.2  # share of steps spent ramping the learning rate up
    label_smoothing: float = 0.05  # keeps confidences honest, which `unsure` relies on
    augment: bool = True
    seed: int = 0
    data: str = "mnist"  # "mnist" or a folder of labelled images
    data_dir: str | None = None
    precision: str = "auto"  # "auto", "fp32" or "bf16"
    device: str = "auto"  # "auto", "cpu" or "cuda"
    threads: int = 0  # 0: PyTorch's default
    limit: int = 0  # train on the first N training images only (quick runs, tests); 0: all

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise DigitscanError(f"--epochs must be at least 1, got {self.epochs}")
        if self.limit < 0:
            raise DigitscanError(f"--limit must be 0 (all) or more, got {self.limit}")
        if self.batch_size < 1:
            raise DigitscanError(f"--batch-size must be at least 1, got {self.batch_size}")
        if self.precision not in ("auto", "fp32", "bf16"):
            raise DigitscanError(f"--precision must be auto, fp32 or bf16, not {self.precision!r}")
        if self.device not in ("auto", "cpu", "cuda"):
            raise DigitscanError(f"--device must be auto, cpu or cuda, not {self.device!r}")


@dataclass
class TrainResult:
    run_dir: Path
    history: list[dict[str, float]]
    metrics: dict[str, Any]
    interrupted: bool = False
    train_seconds: float = 0.0


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
    import torch
    import torch.nn.functional as F

    from . import export, models
    from .augment import AugmentConfig, augment_batch

    run_dir = Path(out)
    config = _prepare_run_dir(run_dir, config, resume=resume, overwrite=overwrite)

    # ---- device, precision, threads -----------------------------------------------------
    device = _pick_device(config.device, torch)
    if config.threads:
        torch.set_num_threads(config.threads)
    use_bf16 = _use_bf16(config.precision, device, torch)
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
    decay = [p for p in model.parameters() if p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.ndim <= 1]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=config.max_lr,
    )
    steps_per_epoch = math.ceil(n_train / config.batch_size)
    total_steps = steps_per_epoch * config.epochs

    def learning_rate(step: int) -> float:
        # One cycle: a linear ramp up, then a cosine down to nearly zero.
        warmup = max(1, int(total_steps * config.warmup_fraction))
        if step < warmup:
            return config.max_lr * (0.04 + 0.96 * step / warmup)
        progress_ = (step - warmup) / max(1, total_steps - warmup)
        return config.max_lr * (0.002 + 0.998 * 0.5 * (1 + math.cos(math.pi * progress_)))

    augment_config = AugmentConfig() if config.augment else None
    # Low-resolution scans of the training digits are made once, before the first epoch
    # (they go through the reader's per-image normalisation), then swapped in at random.
    scanned_x, prepare_seconds = None, 0.0
    if augment_config is not None and augment_config.scan_probability > 0:
        from .augment import scanned_copies

        if progress:
            print(f"preparing low-resolution scans of {len(data['train_images']):,} training digits ...", flush=True)
        prepare_start = time.perf_counter()
        scanned_x = _to_tensor(scanned_copies(data["train_images"], config.seed), device, torch)
        prepare_seconds = time.perf_counter() - prepare_start
    history: list[dict[str, float]] = []
    start_epoch = 0
    if resume:
        start_epoch, history = _load_checkpoint(run_dir, model, optimizer, torch)

    # ---- the loop ------------------------------------------------------------------------
    bar = _Progress(enabled=progress, total_steps=total_steps, done_steps=start_epoch * steps_per_epoch)
    train_seconds = sum(row["seconds"] for row in history)
    interrupted = False
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
                for batch_index in range(steps_per_epoch):
                    step = epoch * steps_per_epoch + batch_index
                    for group in optimizer.param_groups:
                        group["lr"] = learning_rate(step)
                    index = order[batch_index * config.batch_size : (batch_index + 1) * config.batch_size]
                    images, labels = train_x[index], train_y[index]
                    if scanned_x is not None:
                        swap = torch.rand(len(index), generator=generator) < augment_config.scan_probability
                        images = torch.where(swap.to(device).view(-1, 1, 1, 1), scanned_x[index], images)
                    if augment_config is not None:
                        images = augment_batch(images, augment_config, generator)
                    images = images.contiguous(memory_format=torch.channels_last)
                    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_bf16):
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
                epoch_seconds = time.perf_counter() - epoch_start
                train_seconds += epoch_seconds
                val_loss, val_accuracy = _evaluate_tensor(model, val_x, val_y, use_bf16, device, torch)
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
                _save_checkpoint(run_dir, model, optimizer, epoch + 1, history, torch)
                _write_history(run_dir / "history.csv", history)
                if on_epoch:
                    on_epoch(row)
    except KeyboardInterrupt:
        interrupted = True
        if not history:
            raise DigitscanError(f"interrupted before the first epoch finished; nothing kept in {run_dir}") from None
        # Go back to the last complete epoch so what we export is what the checkpoint holds.
        _load_checkpoint(run_dir, model, optimizer, torch)

    # ---- calibrate, export and evaluate ---------------------------------------------------
    model.eval()
    calibration_images = train_x[-min(10_000, n_train) :]
    calibration_labels = train_y[-min(10_000, n_train) :]
    model.temperature.fill_(_fit_temperature(model, calibration_images, calibration_labels, torch))
    weights = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    export.save_weights(run_dir / "model.safetensors", weights, {"model": config.model})
    export.export_onnx(model, run_dir / "model.onnx")
    from .evaluation import evaluate_arrays  # numpy + ONNX Runtime from here on

    evaluation = evaluate_arrays(run_dir / "model.onnx", data["val_images"], data["val_labels"])
    metrics = evaluation.to_dict()
    metrics.update(
        {
            "data": data["val_name"],
            "epochs_completed": len(history),
            "train_seconds": round(train_seconds, 2),
            # Made once before the first epoch (augment.scanned_copies); not in train_seconds.
            "prepare_seconds": round(prepare_seconds, 2),
            "interrupted": interrupted,
            "device": str(device),
            "precision": "bf16" if use_bf16 else "fp32",
            "temperature": float(model.temperature),
        }
    )
    write_json(run_dir / "metrics.json", metrics)
    from . import plots

    plots.write_run_pictures(run_dir, history, evaluation)
    _update_config(
        run_dir,
        {
            "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "train_seconds": round(train_seconds, 2),
        },
    )
    return TrainResult(run_dir, history, metrics, interrupted, train_seconds)


# ---- run directory ---------------------------------------------------------------------


def _prepare_run_dir(run_dir: Path, config: TrainConfig, resume: bool, overwrite: bool) -> TrainConfig:
    if resume:
        config_path = run_dir / "config.json"
        if not config_path.is_file() or not (run_dir / "checkpoint.json").is_file():
            raise DigitscanError(f"{run_dir}: no checkpoint to resume from (not a training run)")
        saved = json.loads(config_path.read_text(encoding="utf-8"))["train"]
        # Resume continues the saved run; only the epoch count may be raised.
        saved["epochs"] = max(saved["epochs"], config.epochs)
        saved_config = TrainConfig(**saved)
        _update_config(run_dir, {"train": asdict(saved_config)})
        return saved_config
    if run_dir.exists() and not run_dir.is_dir():
        raise DigitscanError(f"{run_dir}: exists and is not a directory")
    if run_dir.is_dir() and any(run_dir.iterdir()) and not overwrite:
        raise DigitscanError(
            f"{run_dir}: already exists and is not empty; choose another --out, "
            "--resume it, or pass --overwrite to replace it"
        )
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DigitscanError(f"{run_dir}: cannot create the run directory ({exc.strerror})") from None
    if overwrite:
        for name in _RUN_FILES:
            (run_dir / name).unlink(missing_ok=True)
    write_json(run_dir / "config.json", _config_document(config))
    return config


_RUN_FILES = (
    "config.json",
    "history.csv",
    "model.safetensors",
    "model.onnx",
    "metrics.json",
    "checkpoint.safetensors",
    "checkpoint.json",
    "loss.png",
    "accuracy.png",
    "confusion_matrix.png",
    "misclassified.png",
    "calibration.png",
)


def _config_document(config: TrainConfig) -> dict[str, Any]:
    import torch

    from . import __version__, models

    return {
        "digitscan_version": __version__,
        "train": asdict(config),
        "model": models.MODEL_CONFIGS[config.model].to_dict() if config.model in models.MODEL_CONFIGS else None,
        "augment": _augment_dict(config),
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": _command_line(),
        "machine": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(),
            "threads": torch.get_num_threads(),
            "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        },
    }


def _augment_dict(config: TrainConfig) -> dict | None:
    from .augment import AugmentConfig

    return AugmentConfig().to_dict() if config.augment else None


def _command_line() -> str:
    import shlex
    import sys

    argv = list(sys.argv)
    if argv and argv[0].endswith(("digitscan", "digitscan.exe", "__main__.py")):
        argv[0] = "digitscan"
    return " ".join(shlex.quote(a) for a in argv)


def _update_config(run_dir: Path, values: dict[str, Any]) -> None:
    path = run_dir / "config.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    document.update(values)
    write_json(path, document)


def _write_history(path: Path, history: list[dict[str, float]]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=HISTORY_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in history:
        writer.writerow({k: (f"{v:.6f}" if isinstance(v, float) else v) for k, v in row.items()})
    write_text(path, buffer.getvalue())


# ---- checkpoints (safetensors only: nothing is ever unpickled) ----------------------------


def _save_checkpoint(run_dir: Path, model, optimizer, epochs_done: int, history, torch) -> None:
    from safetensors.torch import save

    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    for index, state in optimizer.state_dict()["state"].items():
        for name, value in state.items():
            tensors[f"optim.{index}.{name}"] = torch.as_tensor(value).detach().cpu().contiguous()
    write_bytes(run_dir / "checkpoint.safetensors", save(tensors))
    write_json(run_dir / "checkpoint.json", {"epochs_done": epochs_done, "history": history})


def _load_checkpoint(run_dir: Path, model, optimizer, torch) -> tuple[int, list[dict[str, float]]]:
    from safetensors.torch import load

    info = json.loads((run_dir / "checkpoint.json").read_text(encoding="utf-8"))
    tensors = load((run_dir / "checkpoint.safetensors").read_bytes())
    device = next(model.parameters()).device
    model.load_state_dict({k[6:]: v.to(device) for k, v in tensors.items() if k.startswith("model.")})
    state_dict = optimizer.state_dict()
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        if key.startswith("optim."):
            _, index, name = key.split(".", 2)
            state.setdefault(int(index), {})[name] = value.to(device) if name != "step" else value
    state_dict["state"] = state
    optimizer.load_state_dict(state_dict)
    return int(info["epochs_done"]), list(info["history"])


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
    tensor = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32) / 255.0)
    return tensor.unsqueeze(1).to(device)


def _pick_device(name: str, torch):
    if name == "cuda" or (name == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            raise DigitscanError("--device cuda asked for, but PyTorch sees no CUDA GPU")
        return torch.device("cuda")
    return torch.device("cpu")


def _use_bf16(precision: str, device, torch) -> bool:
    if precision == "fp32":
        return False
    if device.type == "cuda":
        supported = torch.cuda.is_bf16_supported()
    else:
        # Without native bf16 units (AVX512-BF16 or AMX) autocast emulates bf16 and runs
        # several times slower than fp32 (measured: 10x on an AVX2-only CPU).
        supported = bool(
            getattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)()
            or getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)()
        )
    if precision == "bf16" and not supported:
        raise DigitscanError("--precision bf16 asked for, but this device has no native bf16")
    return supported


def _evaluate_tensor(model, images, labels, use_bf16, device, torch) -> tuple[float, float]:
    import torch.nn.functional as F

    model.eval()
    loss_sum, correct = 0.0, 0
    with torch.no_grad(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_bf16):
        for start in range(0, len(labels), 2000):
            batch = images[start : start + 2000].contiguous(memory_format=torch.channels_last)
            logits = model(batch).float()
            loss_sum += F.cross_entropy(logits, labels[start : start + 2000], reduction="sum").item()
            correct += (logits.argmax(1) == labels[start : start + 2000]).sum().item()
    model.train()
    return loss_sum / len(labels), correct / len(labels)


def _fit_temperature(model, images, labels, torch) -> float:
    """The logit temperature with the lowest cross-entropy on clean (un-augmented) images.

    A grid search: one forward pass, then the loss for each candidate is cheap."""
    import torch.nn.functional as F

    model.temperature.fill_(1.0)
    with torch.no_grad():
        logits = torch.cat(
            [model(images[i : i + 2000].contiguous(memory_format=torch.channels_last)).float()
             for i in range(0, len(labels), 2000)]
        )
        candidates = torch.linspace(0.25, 2.0, 71)
        losses = torch.stack([F.cross_entropy(logits / t, labels) for t in candidates])
    return float(candidates[int(losses.argmin())])


# ---- progress ----------------------------------------------------------------------------


class _Progress:
    """A Rich progress bar with live loss and accuracy, or nothing when disabled."""

    def __init__(self, enabled: bool, total_steps: int, done_steps: int) -> None:
        self.enabled = enabled
        if not enabled:
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._progress = Progress(
            TextColumn("[bold]epoch {task.fields[epoch]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]:.4f}  acc {task.fields[acc]:.4f}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
        )
        self._task = self._progress.add_task(
            "train", total=total_steps, completed=done_steps, epoch="-", loss=0.0, acc=0.0
        )
        self._counter = 0

    def __enter__(self) -> _Progress:
        if self.enabled:
            self._progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            self._progress.__exit__(*exc)

    def step(self, epoch: int, epochs: int, loss: float, accuracy: float, advance: int = 1) -> None:
        if self.enabled:
            self._progress.update(self._task, advance=advance, epoch=f"{epoch}/{epochs}", loss=loss, acc=accuracy)

    def epoch_done(self, row: dict[str, float]) -> None:
        if self.enabled:
            self._progress.console.print(
                f"epoch {row['epoch']:>3}  loss {row['loss']:.4f}  accuracy {row['accuracy']:.4f}  "
                f"val_loss {row['val_loss']:.4f}  val_accuracy {row['val_accuracy']:.4f}  "
                f"({row['seconds']:.1f} s)"
            )
