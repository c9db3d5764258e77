"""Reading on Ray (issue 12): the same rows as the single-process reader, file for file.

A local Ray instance with 2 CPUs on loopback only; skipped when the cluster extra is not
installed (CI installs it through the test extra)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

ray = pytest.importorskip("ray", reason="Ray is not installed: pip install -e '.[cluster]' to run these tests")

from digitscan.cli import app  # noqa: E402
from digitscan.reading.batch import csv_rows  # noqa: E402
from digitscan.reading.cluster import read_on_ray  # noqa: E402
from digitscan.reading.imageio import list_inputs  # noqa: E402
from digitscan.reading.reader import Reader, bundled_examples  # noqa: E402

CROPS = 300


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False,
             logging_level="ERROR")
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory, mnist_dir: Path) -> Path:
    """The bundled examples and 300 MNIST test digits written as PNG crops (dark on light,
    as scanned), in two folders."""
    from digitscan.training.mnist import load_mnist

    root = tmp_path_factory.mktemp("cluster")
    test = load_mnist("test", data_dir=mnist_dir, download=False)
    for index in range(CROPS):
        sub = root / ("crops" if index % 2 else "more")
        sub.mkdir(exist_ok=True)
        Image.fromarray(255 - test.images[index]).save(sub / f"{index:04d}.png")
    for path in bundled_examples():
        (root / path.name).write_bytes(path.read_bytes())
    return root


def _expected(inputs: list[str]) -> list[tuple]:
    reader = Reader()
    return sorted(row for name in list_inputs(inputs) for reading in reader.read(name) for row in csv_rows(reading))


def _rows(records: list[dict]) -> list[tuple]:
    columns = ("file", "page", "line", "text", "mean_confidence", "lowest_confidence", "unsure", "error")
    return sorted(tuple(record[column] for column in columns) for record in records)


def test_ray_rows_are_the_single_process_rows(local_ray: None, folder: Path, tmp_path: Path) -> None:
    summary = read_on_ray([str(folder)], tmp_path / "jsonl")
    records = [json.loads(line) for path in sorted((tmp_path / "jsonl").iterdir())
               for line in path.read_text().splitlines()]
    assert _rows(records) == _expected([str(folder)])
    assert summary.files == CROPS + len(bundled_examples()) and summary.failed == 0


def test_parquet_through_the_cli(local_ray: None, folder: Path, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    out = tmp_path / "parquet"
    inputs = [str(folder / "crops"), *map(str, bundled_examples())]
    result = CliRunner().invoke(app, ["read", *inputs, "--ray", "--parquet", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"read {CROPS // 2 + len(bundled_examples())} files" in result.output
    assert _rows(pq.read_table(out).to_pylist()) == _expected(inputs)
