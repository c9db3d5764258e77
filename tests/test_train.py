"""Training writes a complete, reproducible run directory; ONNX matches PyTorch."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from digitscan.errors import DigitscanError  # noqa: E402
from digitscan.training.loop import TrainConfig, train  # noqa: E402

RUN_FILES = {
    "config.json",
    "history.csv",
    "model.safetensors",
    "model.onnx",
    "metrics.json",
    "loss.png",
    "accuracy.png",
    "confusion_matrix.png",
    "misclassified.png",
    "calibration.png",
    "checkpoint.safetensors",
    "checkpoint.json",
}


def test_run_directory_is_complete(tiny_run: Path) -> None:
    assert RUN_FILES <= {p.name for p in tiny_run.iterdir()}
    assert not [p for p in tiny_run.iterdir() if p.name.endswith(".part")]
    with open(tiny_run / "history.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 2
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(rows[0])
    metrics = json.loads((tiny_run / "metrics.json").read_text())
    # 2 epochs of the lab's network on 6,000 images: well above chance, below a full run.
    assert 0.85 < metrics["accuracy"] < 1.0
    assert metrics["count"] == 10000 and metrics["data"] == "mnist-test"
    assert abs(float(rows[-1]["val_accuracy"]) - metrics["accuracy"]) < 2e-3
    config = json.loads((tiny_run / "config.json").read_text())
    assert config["train"]["model"] == "seed" and config["train"]["seed"] == 0
    for picture in ("loss.png", "accuracy.png", "confusion_matrix.png", "misclassified.png"):
        assert (tiny_run / picture).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_onnx_export_matches_pytorch(tiny_run: Path, mnist_dir: Path) -> None:
    from digitscan.training.export import load_weights, max_difference_onnx_vs_torch
    from digitscan.training.mnist import load_mnist
    from digitscan.training.models import build_model

    model = build_model("seed")
    model.load_state_dict(load_weights(tiny_run / "model.safetensors"))
    images = load_mnist("test", mnist_dir).images[:500].astype(np.float32) / 255
    assert max_difference_onnx_vs_torch(model, tiny_run / "model.onnx", images) < 1e-3


def test_default_model_onnx_matches_pytorch(tmp_path: Path) -> None:
    from digitscan.training.export import export_onnx, max_difference_onnx_vs_torch
    from digitscan.training.models import build_model

    torch.manual_seed(1)
    model = build_model("default")
    model.eval()
    export_onnx(model, tmp_path / "m.onnx")
    images = np.random.default_rng(0).random((64, 28, 28), dtype=np.float32)
    assert max_difference_onnx_vs_torch(model, tmp_path / "m.onnx", images) < 1e-3


def _short(**overrides) -> TrainConfig:
    values = dict(model="seed", epochs=2, batch_size=128, limit=2000, seed=3)
    values.update(overrides)
    return TrainConfig(**values)


def test_same_seed_same_numbers(tmp_path: Path, mnist_env: Path) -> None:
    first = train(_short(epochs=1), tmp_path / "a", progress=False)
    second = train(_short(epochs=1), tmp_path / "b", progress=False)
    strip = [{k: v for k, v in row.items() if k != "seconds"} for row in first.history]
    assert strip == [{k: v for k, v in row.items() if k != "seconds"} for row in second.history]
    assert (tmp_path / "a" / "model.safetensors").read_bytes() == (tmp_path / "b" / "model.safetensors").read_bytes()


def test_interrupt_keeps_last_epoch_and_resume_matches(tmp_path: Path, mnist_env: Path) -> None:
    straight = train(_short(), tmp_path / "straight", progress=False)

    def interrupt_after_first_epoch(row) -> None:
        if row["epoch"] == 1:
            raise KeyboardInterrupt

    stopped = train(_short(), tmp_path / "stopped", progress=False, on_epoch=interrupt_after_first_epoch)
    assert stopped.interrupted and len(stopped.history) == 1
    assert (tmp_path / "stopped" / "model.onnx").is_file()

    resumed = train(_short(), tmp_path / "stopped", resume=True, progress=False)
    assert len(resumed.history) == 2
    assert resumed.history[-1]["val_loss"] == pytest.approx(straight.history[-1]["val_loss"], abs=1e-6)
    assert resumed.metrics["accuracy"] == straight.metrics["accuracy"]


def test_refuses_to_overwrite_a_run(tmp_path: Path, mnist_env: Path) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("precious")
    with pytest.raises(DigitscanError, match="already exists"):
        train(_short(epochs=1), out, progress=False)
    assert (out / "notes.txt").read_text() == "precious"


def test_resume_needs_a_run(tmp_path: Path) -> None:
    with pytest.raises(DigitscanError, match="no checkpoint to resume"):
        train(_short(), tmp_path, resume=True, progress=False)


def test_augmentation_keeps_shape_range_and_is_seeded() -> None:
    from digitscan.training.augment import AugmentConfig, augment_batch

    images = torch.zeros(16, 1, 28, 28)
    images[:, :, 8:20, 12:16] = 1.0
    a = augment_batch(images, AugmentConfig(), torch.Generator().manual_seed(5))
    b = augment_batch(images, AugmentConfig(), torch.Generator().manual_seed(5))
    assert a.shape == images.shape and float(a.min()) >= 0 and float(a.max()) <= 1
    assert torch.equal(a, b)
    assert not torch.equal(a, images)
    # The ink survives: distortions move and reshape strokes, they do not erase them.
    assert (a.sum(dim=(1, 2, 3)) > 0.3 * images[0].sum()).all()


def test_low_resolution_scans_are_normalised_like_the_reader_does(mnist_dir: Path) -> None:
    from digitscan.training.augment import scanned_copies
    from digitscan.training.mnist import load_mnist

    digits = load_mnist("test", mnist_dir, download=False).images[:40]
    scanned = scanned_copies(digits, seed=3)
    assert scanned.shape == digits.shape and scanned.dtype == np.uint8
    assert np.array_equal(scanned, scanned_copies(digits, seed=3))
    assert not np.array_equal(scanned, digits)
    for picture in scanned:
        rows = np.flatnonzero(picture.max(axis=1) > 0.15 * picture.max())
        cols = np.flatnonzero(picture.max(axis=0) > 0.15 * picture.max())
        assert 19 <= max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 <= 23


def test_bf16_autocast_does_not_change_answers(tiny_run: Path, mnist_dir: Path) -> None:
    """bf16 is used where the hardware has it; check numerically that it reads the same."""
    from digitscan.training.export import load_weights
    from digitscan.training.mnist import load_mnist
    from digitscan.training.models import build_model

    model = build_model("seed")
    model.load_state_dict(load_weights(tiny_run / "model.safetensors"))
    model.eval()
    images = torch.from_numpy(load_mnist("test", mnist_dir).images[:1000].astype(np.float32) / 255).unsqueeze(1)
    with torch.no_grad():
        fp32 = model(images).argmax(1)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            bf16 = model(images).float().argmax(1)
    assert (fp32 == bf16).float().mean().item() >= 0.995


def test_fast_3x3_max_equals_max_pool() -> None:
    from digitscan.training.augment import _max_3x3

    images = torch.rand(8, 1, 28, 28, generator=torch.Generator().manual_seed(2))
    assert torch.equal(_max_3x3(images), torch.nn.functional.max_pool2d(images, 3, stride=1, padding=1))


def test_low_resolution_scans_are_the_same_however_many_workers_make_them(
    mnist_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from digitscan.training import augment
    from digitscan.training.mnist import load_mnist

    monkeypatch.setattr(augment, "_SCAN_CHUNK", 8)  # 40 digits: five chunks
    digits = load_mnist("test", mnist_dir, download=False).images[:40]
    assert np.array_equal(augment.scanned_copies(digits, seed=3), augment.scanned_copies(digits, seed=3, workers=2))


def test_a_short_run_prepares_only_the_scans_it_can_use(tmp_path: Path, mnist_env: Path, capsys) -> None:
    # An epoch swaps in 30% of the digits: one epoch needs copies of 30% of them, four of all.
    for epochs, prepared in ((1, 300), (4, 1000)):
        train(TrainConfig(model="seed", epochs=epochs, batch_size=128, limit=1000, seed=3), tmp_path / str(epochs))
        assert f"preparing low-resolution scans of {prepared:,} training digits" in capsys.readouterr().out


def test_fused_adamw_updates_exactly_as_torch_adamw() -> None:
    # Training uses its own AdamW (torch.optim's imports the compiler on first use): the
    # weights after a few steps, with a changing learning rate and a group without weight
    # decay, must be torch's to the bit, and a state_dict round trip must carry on the same.
    import torch

    from digitscan.training.schedule import FusedAdamW

    def net():
        torch.manual_seed(3)
        return torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.ReLU(), torch.nn.Linear(5, 3))

    def groups(model):
        return [{"params": [p for p in model.parameters() if p.ndim > 1], "weight_decay": 0.05},
                {"params": [p for p in model.parameters() if p.ndim <= 1], "weight_decay": 0.0}]

    ours_model, torch_model = net(), net()
    ours = FusedAdamW(groups(ours_model), lr=0.01, torch=torch)
    reference = torch.optim.AdamW(groups(torch_model), lr=0.01, fused=True)
    inputs, targets = torch.randn(16, 6), torch.randint(0, 3, (16,))
    for step in range(6):
        for model, optimizer in ((ours_model, ours), (torch_model, reference)):
            for group in optimizer.param_groups:
                group["lr"] = 0.01 / (step + 1)
            optimizer.zero_grad(set_to_none=True)
            torch.nn.functional.cross_entropy(model(inputs), targets).backward()
            optimizer.step()
        if step == 2:  # as a resumed run would: a fresh optimiser loaded from the saved state
            saved = ours.state_dict()
            ours = FusedAdamW(groups(ours_model), lr=0.5, torch=torch)
            ours.load_state_dict(saved)
    for mine, theirs in zip(ours_model.parameters(), torch_model.parameters(), strict=True):
        assert torch.equal(mine, theirs)
    assert set(ours.state_dict()["state"][0]) == {"step", "exp_avg", "exp_avg_sq"}
    assert float(ours.state_dict()["state"][0]["step"]) == 6


def test_augmentation_grid_and_blur_equal_torch_s_own() -> None:
    import torch
    import torch.nn.functional as F

    from digitscan.training.augment import _affine_grid, _blur_3x3

    theta = torch.randn(8, 2, 3, generator=torch.Generator().manual_seed(1))
    expected = F.affine_grid(theta, [8, 1, 28, 30], align_corners=False)
    assert torch.allclose(_affine_grid(theta, 28, 30), expected, atol=1e-5)
    images = torch.rand(8, 1, 28, 28, generator=torch.Generator().manual_seed(2))
    kernel = torch.tensor([1.0, 2.0, 1.0])
    kernel = (kernel[:, None] * kernel[None, :]).view(1, 1, 3, 3) / 16
    assert torch.allclose(_blur_3x3(images), F.conv2d(images, kernel, padding=1), atol=1e-6)
