"""What decides a training run (``TrainConfig``) and what it returns (``TrainResult``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import DigitscanError

__all__ = ["HISTORY_COLUMNS", "TrainConfig", "TrainResult"]

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
    threads: int = 0  # 0: one per core found free when the run starts (training.cores)
    limit: int = 0  # train on the first N training images only (quick runs, tests); 0: all
    lines: int = 120_000  # line model: synthetic lines made from MNIST's training digits
    init: str | None = None  # start from these weights (a run directory, .safetensors or "shipped")
    # line model: folders of labelled single digits (other hands, other scanners) mixed into
    # the synthetic lines beside MNIST's training digits
    hands: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise DigitscanError(f"--epochs must be at least 1, got {self.epochs}")
        if self.lines < 1:
            raise DigitscanError(f"--lines must be at least 1, got {self.lines}")
        if self.hands and self.model != "lines":
            raise DigitscanError("--hands is for --model lines (digits of other hands drawn into lines)")
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
