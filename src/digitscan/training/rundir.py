"""The run directory: config.json, history.csv and the checkpoint that ``--resume`` continues.

Everything is written whole or not at all (``files.write_*``); checkpoints are safetensors,
so nothing is ever unpickled.
"""

from __future__ import annotations

import csv
import io
import json
import os
import platform
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import DigitscanError
from ..files import write_bytes, write_json, write_text
from .config import HISTORY_COLUMNS, TrainConfig

__all__ = [
    "RUN_FILES", "load_checkpoint", "prepare_run_dir", "record_machine", "save_checkpoint", "update_config",
    "write_history",
]


def prepare_run_dir(run_dir: Path, config: TrainConfig, resume: bool, overwrite: bool) -> TrainConfig:
    if resume:
        config_path = run_dir / "config.json"
        if not config_path.is_file() or not (run_dir / "checkpoint.json").is_file():
            raise DigitscanError(f"{run_dir}: no checkpoint to resume from (not a training run)")
        saved = json.loads(config_path.read_text(encoding="utf-8"))["train"]
        # Resume continues the saved run; only the epoch count may be raised.
        saved["epochs"] = max(saved["epochs"], config.epochs)
        saved_config = TrainConfig(**saved)
        update_config(run_dir, {"train": asdict(saved_config)})
        return saved_config
    if run_dir.exists() and not run_dir.is_dir():
        raise DigitscanError(f"{run_dir}: exists and is not a directory")
    if run_dir.is_dir() and any(run_dir.iterdir()) and not overwrite:
        raise DigitscanError(
            f"{run_dir}: already exists and is not empty; choose another --out, "
            "--resume it, or pass --overwrite to replace it"
        )
    if overwrite and run_dir.is_dir() and any(run_dir.iterdir()) and not _is_run_dir(run_dir):
        # --overwrite replaces a previous run; a folder of anything else is the user's.
        raise DigitscanError(
            f"{run_dir}: is not empty and is not a digitscan run (no config.json written by "
            "digitscan train); --overwrite only replaces a previous run: choose another --out"
        )
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DigitscanError(f"{run_dir}: cannot create the run directory ({exc.strerror})") from None
    if overwrite:
        for name in RUN_FILES:
            (run_dir / name).unlink(missing_ok=True)
    write_json(run_dir / "config.json", config_document(config))
    return config


def _is_run_dir(run_dir: Path) -> bool:
    try:
        document = json.loads((run_dir / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(document, dict) and "digitscan_version" in document and "train" in document


RUN_FILES = (
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


def config_document(config: TrainConfig) -> dict[str, Any]:
    import torch

    from .. import __version__
    from . import models
    from .line_model import LINE_MODEL_CONFIGS

    if config.model in LINE_MODEL_CONFIGS:
        architecture = LINE_MODEL_CONFIGS[config.model].to_dict()
    else:
        architecture = models.MODEL_CONFIGS[config.model].to_dict() if config.model in models.MODEL_CONFIGS else None
    return {
        "digitscan_version": __version__,
        "train": asdict(config),
        "model": architecture,
        "augment": None if config.model in LINE_MODEL_CONFIGS else _augment_dict(config),
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


def update_config(run_dir: Path, values: dict[str, Any]) -> None:
    path = run_dir / "config.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    document.update(values)
    write_json(path, document)


def record_machine(run_dir: Path, **values: Any) -> None:
    """Correct config.json's machine facts (e.g. the threads chosen after it was written)."""
    path = run_dir / "config.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    document["machine"] = {**document.get("machine", {}), **values}
    write_json(path, document)


def write_history(path: Path, history: list[dict[str, float]]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=HISTORY_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in history:
        writer.writerow({k: (f"{v:.6f}" if isinstance(v, float) else v) for k, v in row.items()})
    write_text(path, buffer.getvalue())


# ---- checkpoints ----------------------------------------------------------------------------


def save_checkpoint(run_dir: Path, model, optimizer, epochs_done: int, history, torch) -> None:
    from safetensors.torch import save

    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    for index, state in optimizer.state_dict()["state"].items():
        for name, value in state.items():
            tensors[f"optim.{index}.{name}"] = torch.as_tensor(value).detach().cpu().contiguous()
    write_bytes(run_dir / "checkpoint.safetensors", save(tensors))
    write_json(run_dir / "checkpoint.json", {"epochs_done": epochs_done, "history": history})


def load_checkpoint(run_dir: Path, model, optimizer, torch) -> tuple[int, list[dict[str, float]]]:
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
