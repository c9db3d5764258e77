"""MNIST as numpy arrays, read from the four standard IDX files and verified.

Where the files live, in order: the ``data_dir`` argument (``--data-dir``), the
``DIGITSCAN_DATA`` environment variable, else a per-user cache directory. Missing files are
fetched once from the public mirrors and written atomically; every file is checked against
the MD5 its authors published for the uncompressed bytes, so a truncated or altered file
stops us with its name instead of silently training a bad model.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import struct
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DigitscanError
from ..files import atomic_path

__all__ = [
    "MNIST_FILES", "MnistSplit", "load_mnist", "resolve_data_dir", "ensure_mnist_files", "file_checksums",
]

# Published MD5 sums of the uncompressed files (the originals, also in shared/data/mnist).
MNIST_FILES: dict[str, str] = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}

# Tried in order; each serves the four files gzip-wrapped under their standard names.
DEFAULT_MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)

_SPLIT_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


@dataclass(frozen=True)
class MnistSplit:
    """One split of MNIST: ``images`` uint8 (N, 28, 28), white ink on black; ``labels`` (N,)."""

    images: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)


def resolve_data_dir(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """The directory MNIST is read from (and downloaded into when missing)."""
    if data_dir is None:
        data_dir = os.environ.get("DIGITSCAN_DATA") or None
    if data_dir is None:
        return _user_cache_dir() / "mnist"
    path = Path(data_dir).expanduser()
    # Accept the folder that holds the files, or one that holds them in mnist/.
    if not _has_any_mnist_file(path) and _has_any_mnist_file(path / "mnist"):
        return path / "mnist"
    return path


def load_mnist(
    split: str = "train",
    data_dir: str | os.PathLike[str] | None = None,
    download: bool = True,
) -> MnistSplit:
    """Load the ``"train"`` (60,000) or ``"test"`` (10,000) split, verified.

    >>> test = load_mnist("test")                      # doctest: +SKIP
    >>> test.images.shape, test.labels[:3]
    ((10000, 28, 28), array([7, 2, 1], dtype=uint8))
    """
    if split not in _SPLIT_FILES:
        raise DigitscanError(f"unknown MNIST split {split!r}: expected 'train' or 'test'")
    folder = resolve_data_dir(data_dir)
    ensure_mnist_files(folder, names=_SPLIT_FILES[split], download=download)
    image_name, label_name = _SPLIT_FILES[split]
    images = _parse_idx(image_name, _read_verified(folder, image_name))
    labels = _parse_idx(label_name, _read_verified(folder, label_name))
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise DigitscanError(f"{folder}: MNIST {split} images and labels do not match")
    return MnistSplit(images=images, labels=labels)


def ensure_mnist_files(
    folder: Path,
    names: tuple[str, ...] = tuple(MNIST_FILES),
    download: bool = True,
    mirrors: tuple[str, ...] | None = None,
) -> None:
    """Make sure each named file is in ``folder`` (plain or .gz), downloading what is missing."""
    missing = [name for name in names if _find_file(folder, name) is None]
    if not missing:
        return
    if not download:
        raise DigitscanError(
            f"{folder}: MNIST file {missing[0]} is missing; pass --data-dir to a folder that "
            "holds the four IDX files, or allow the download"
        )
    mirrors = mirrors or _mirrors_from_env() or DEFAULT_MIRRORS
    for name in missing:
        _download(folder, name, mirrors)


def md5_of_uncompressed(path: Path) -> str:
    """MD5 of a file's bytes, after gunzipping it if it is a .gz."""
    return hashlib.md5(_read_bytes(path)).hexdigest()


def file_checksums(folder: Path) -> dict[str, tuple[Path, str]]:
    """For each of the four files present in ``folder``: its path and the MD5 of its
    uncompressed bytes, computed now (compare with ``MNIST_FILES``)."""
    found = {name: _find_file(folder, name) for name in MNIST_FILES}
    return {name: (path, md5_of_uncompressed(path)) for name, path in found.items() if path is not None}


# --- private helpers -------------------------------------------------------------------


def _user_cache_dir() -> Path:
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = str(Path.home() / "Library" / "Caches")
    else:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "digitscan"


def _has_any_mnist_file(folder: Path) -> bool:
    return folder.is_dir() and any(_find_file(folder, name) for name in MNIST_FILES)


def _find_file(folder: Path, name: str) -> Path | None:
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _read_bytes(path: Path) -> bytes:
    raw = path.read_bytes()
    if path.suffix == ".gz":
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise DigitscanError(f"{path}: not a valid gzip file ({exc}); delete it") from None
    return raw


def _read_verified(folder: Path, name: str) -> bytes:
    path = _find_file(folder, name)
    assert path is not None  # ensure_mnist_files ran first
    data = _read_bytes(path)
    digest = hashlib.md5(data).hexdigest()
    if digest != MNIST_FILES[name]:
        raise DigitscanError(
            f"{path}: checksum mismatch (MD5 {digest}, expected {MNIST_FILES[name]}); "
            "the file is truncated or altered: delete it and run again to download it"
        )
    return data


def _parse_idx(name: str, data: bytes) -> np.ndarray:
    # IDX: two zero bytes, a type code (0x08 = unsigned byte), the number of dimensions,
    # then each dimension as a big-endian 32-bit integer, then the values.
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise DigitscanError(f"{name}: not an IDX file of unsigned bytes")
    ndim = data[3]
    shape = struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim])
    values = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if values.size != int(np.prod(shape)):
        raise DigitscanError(f"{name}: IDX header says {shape} but the file is truncated")
    return values.reshape(shape)


def _mirrors_from_env() -> tuple[str, ...]:
    value = os.environ.get("DIGITSCAN_MNIST_MIRRORS", "")
    return tuple(url if url.endswith("/") else url + "/" for url in value.split(",") if url)


def _download(folder: Path, name: str, mirrors: tuple[str, ...]) -> None:
    from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DigitscanError(f"{folder}: cannot create the data folder ({exc.strerror})") from None
    target = folder / f"{name}.gz"
    failures: list[str] = []
    for mirror in mirrors:
        url = f"{mirror}{name}.gz"
        try:
            with urllib.request.urlopen(url, timeout=30) as response:
                total = int(response.headers.get("Content-Length") or 0) or None
                with (
                    atomic_path(target) as tmp,
                    open(tmp, "wb") as out,
                    Progress(
                        "[progress.description]{task.description}",
                        BarColumn(),
                        DownloadColumn(),
                        TransferSpeedColumn(),
                        transient=True,
                    ) as progress,
                ):
                    task = progress.add_task(f"MNIST {name}", total=total)
                    while chunk := response.read(1 << 16):
                        out.write(chunk)
                        progress.advance(task, len(chunk))
                    out.close()
                    try:
                        digest = hashlib.md5(gzip.decompress(tmp.read_bytes())).hexdigest()
                    except (OSError, EOFError) as exc:
                        raise _BadDownload(f"not a valid gzip file ({exc})") from None
                    if digest != MNIST_FILES[name]:
                        raise _BadDownload(f"checksum mismatch (MD5 {digest})")
            return
        except _BadDownload as exc:
            failures.append(f"{url}: {exc}")
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", None) or exc
            failures.append(f"{url}: {reason}")
    raise DigitscanError(
        f"could not download MNIST file {name}: "
        + "; ".join(failures)
        + f". Put the four IDX files in {folder} or pass --data-dir"
    )


class _BadDownload(Exception):
    pass
