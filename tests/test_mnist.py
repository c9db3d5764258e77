"""MNIST loading: verified reads, clear errors, and downloads from (local) mirrors."""

from __future__ import annotations

import gzip
import shutil
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from digitscan.errors import DigitscanError
from digitscan.training.mnist import MNIST_FILES, ensure_mnist_files, load_mnist, resolve_data_dir


def test_loads_both_splits_verified(mnist_dir: Path) -> None:
    train = load_mnist("train", mnist_dir, download=False)
    test = load_mnist("test", mnist_dir, download=False)
    assert train.images.shape == (60000, 28, 28) and train.images.dtype == np.uint8
    assert test.images.shape == (10000, 28, 28)
    assert test.labels[:5].tolist() == [7, 2, 1, 0, 4]
    assert np.bincount(train.labels).tolist()[1] == 6742


def test_data_dir_may_be_the_parent_of_mnist(mnist_dir: Path, monkeypatch) -> None:
    monkeypatch.setenv("DIGITSCAN_DATA", str(mnist_dir.parent))
    assert resolve_data_dir() == mnist_dir


def test_truncated_file_is_named(tmp_path: Path, mnist_dir: Path) -> None:
    for name in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        shutil.copy(mnist_dir / f"{name}.gz", tmp_path / f"{name}.gz")
    raw = gzip.decompress((tmp_path / "t10k-images-idx3-ubyte.gz").read_bytes())
    (tmp_path / "t10k-images-idx3-ubyte.gz").unlink()
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(DigitscanError, match="t10k-images-idx3-ubyte: checksum mismatch"):
        load_mnist("test", tmp_path, download=False)


def test_corrupt_gzip_is_named(tmp_path: Path, mnist_dir: Path) -> None:
    shutil.copy(mnist_dir / "t10k-labels-idx1-ubyte.gz", tmp_path)
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(b"\x1f\x8b not really gzip")
    with pytest.raises(DigitscanError, match="t10k-images-idx3-ubyte.gz: not a valid gzip"):
        load_mnist("test", tmp_path, download=False)


def test_missing_files_without_download(tmp_path: Path) -> None:
    with pytest.raises(DigitscanError, match="is missing"):
        load_mnist("test", tmp_path, download=False)


@pytest.fixture()
def mirrors(tmp_path: Path, mnist_dir: Path):
    """Two HTTP mirrors on 127.0.0.1: one serving a corrupted t10k-images file, one good."""
    good = tmp_path / "good"
    bad = tmp_path / "bad"
    good.mkdir()
    bad.mkdir()
    for name in MNIST_FILES:
        shutil.copy(mnist_dir / f"{name}.gz", good / f"{name}.gz")
        shutil.copy(mnist_dir / f"{name}.gz", bad / f"{name}.gz")
    raw = bytearray(gzip.decompress((bad / "t10k-images-idx3-ubyte.gz").read_bytes()))
    raw[5000] ^= 0xFF  # one flipped byte: still a valid IDX file, a wrong checksum
    (bad / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(bytes(raw)))
    servers = []
    urls = []
    for root in (bad, good):
        handler = partial(_QuietHandler, directory=str(root))
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        urls.append(f"http://127.0.0.1:{server.server_address[1]}/")
    yield {"bad": urls[0], "good": urls[1], "unreachable": "http://127.0.0.1:9/"}
    for server in servers:
        server.shutdown()
        server.server_close()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def test_download_skips_unreachable_and_corrupt_mirrors(tmp_path: Path, mirrors) -> None:
    target = tmp_path / "cache"
    order = (mirrors["unreachable"], mirrors["bad"], mirrors["good"])
    ensure_mnist_files(target, names=("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"), mirrors=order)
    test = load_mnist("test", target, download=False)
    assert len(test) == 10000
    # Only whole, verified files are left behind: no temporary parts.
    assert sorted(p.name for p in target.iterdir()) == ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]


def test_download_from_env_mirror_via_load(tmp_path: Path, mirrors, monkeypatch) -> None:
    monkeypatch.setenv("DIGITSCAN_MNIST_MIRRORS", mirrors["good"])
    test = load_mnist("test", tmp_path / "fresh")
    assert test.labels[:3].tolist() == [7, 2, 1]


def test_download_fails_clearly_when_no_mirror_is_good(tmp_path: Path, mirrors) -> None:
    target = tmp_path / "cache"
    with pytest.raises(DigitscanError) as info:
        ensure_mnist_files(target, names=("t10k-images-idx3-ubyte",), mirrors=(mirrors["unreachable"], mirrors["bad"]))
    message = str(info.value)
    assert "t10k-images-idx3-ubyte" in message and "checksum mismatch" in message
    assert not any(target.iterdir()), "a rejected download must leave no file behind"
