"""Shared fixtures. Tests read MNIST and the real scans from ../shared beside the checkout
(CI clones the project with shared/ beside it); nothing is downloaded."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"

# No test downloads anything: commands run by the tests find MNIST in ../shared.
if (SHARED / "data" / "mnist").is_dir():
    os.environ.setdefault("DIGITSCAN_DATA", str(SHARED / "data" / "mnist"))


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip("../shared (MNIST and the real scans) is not beside this checkout")
    return SHARED


@pytest.fixture(scope="session")
def mnist_dir(shared_dir: Path) -> Path:
    return shared_dir / "data" / "mnist"


@pytest.fixture(scope="session")
def real_scans_dir(shared_dir: Path) -> Path:
    return shared_dir / "data" / "real-scans"


@pytest.fixture()
def mnist_env(mnist_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """DIGITSCAN_DATA pointed at the shared MNIST files."""
    monkeypatch.setenv("DIGITSCAN_DATA", str(mnist_dir))
    return mnist_dir


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory, mnist_dir: Path) -> Path:
    """A real (short) training run of the lab's seed network, shared by the tests that read
    a run directory. One epoch on a 6,000-image subset keeps it to a few seconds."""
    pytest.importorskip("torch")
    from digitscan.training.loop import TrainConfig, train

    out = tmp_path_factory.mktemp("runs") / "seed"
    os.environ.setdefault("DIGITSCAN_DATA", str(mnist_dir))
    train(
        TrainConfig(model="seed", epochs=2, batch_size=64, data_dir=str(mnist_dir), augment=False, limit=6000),
        out,
        progress=False,
    )
    return out
