"""Reading many files (issue 12): every core, input order, CSV, crash-safe output, --resume."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from digitscan.cli import app
from digitscan.reading.batch import CSV_COLUMNS, done_files, iter_files, read_batch, read_files
from digitscan.reading.imageio import list_inputs
from digitscan.reading.reader import Reader, bundled_examples

runner = CliRunner()


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled examples and 40 MNIST-like crops, in folders whose names sort awkwardly
    ("a.b" before "a/", "a0" after it), and one file that is not a picture."""
    root = tmp_path_factory.mktemp("batch")
    rng = np.random.default_rng(0)
    for index in range(40):
        sub = root / ("a", "a.b", "a0", "a/x")[index % 4]
        sub.mkdir(parents=True, exist_ok=True)
        crop = np.full((28, 28), 255, np.uint8)
        crop[6:22, 12 + index % 3:16 + index % 3] = rng.integers(0, 60, (16, 4))  # a dark stroke: a 1
        Image.fromarray(crop).save(sub / f"{index:03d}.png")
    for path in bundled_examples():
        (root / path.name).write_bytes(path.read_bytes())
    (root / "a" / "notes.png").write_text("not a picture")
    return root


def test_folders_are_walked_in_the_order_list_inputs_gives(folder: Path) -> None:
    assert list(iter_files([str(folder)])) == list_inputs([str(folder)])


@pytest.mark.parametrize("jobs", [1, 2])
def test_workers_give_what_one_reader_gives_file_for_file(folder: Path, jobs: int) -> None:
    reader = Reader()
    expected = {name: [json.dumps(r.to_dict()) for r in reader.read(name)] for name in list_inputs([str(folder)])}
    results = list(read_files([str(folder)], jobs=jobs))
    assert [result.file for result in results] == list(expected)
    for result in results:
        assert list(result.lines) == expected[result.file], result.file
    assert [result.failed for result in results].count(True) == 1  # notes.png


def test_csv_rows_one_per_line_of_writing(folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "readings.csv"
    summary = read_batch([str(folder)], out, format="csv", jobs=1)
    with open(out, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert tuple(rows[0]) == CSV_COLUMNS
    clean = [row for row in rows if row["file"].endswith("clean.png")]
    assert [row["text"] for row in clean] == ["2293 12392", "6731"]
    assert all(0 < float(row["lowest_confidence"]) <= float(row["mean_confidence"]) <= 1 for row in clean)
    broken = next(row for row in rows if row["file"].endswith("notes.png"))
    assert broken["line"] == "0" and broken["error"]
    assert summary.files == 44 and summary.failed == 1


@pytest.mark.parametrize("format", ["jsonl", "csv"])
def test_resume_after_a_crash_mid_line_gives_the_whole_output(folder: Path, tmp_path: Path, format: str) -> None:
    whole = tmp_path / f"whole.{format}"
    read_batch([str(folder)], whole, format=format, jobs=1)
    text = whole.read_text()
    crashed = tmp_path / f"crashed.{format}"
    crashed.write_text(text[: len(text) * 2 // 3 - 7])  # cut inside a line
    assert not crashed.read_text().endswith("\n")
    with pytest.raises(Exception, match="--resume"):
        read_batch([str(folder)], crashed, format=format, jobs=1)
    summary = read_batch([str(folder)], crashed, format=format, resume=True, jobs=1)
    assert crashed.read_text() == text
    assert summary.skipped > 10 and summary.skipped + summary.files == 44
    assert len(done_files(crashed, format)) == 44


def test_cli_csv_out_resume_and_jobs(folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "readings.csv"
    result = runner.invoke(app, ["read", str(folder), "--csv", "--out", str(out), "--jobs", "2"])
    assert result.exit_code == 1  # notes.png
    assert "read 44 files" in result.output
    again = runner.invoke(app, ["read", str(folder), "--csv", "--out", str(out), "--resume"])
    assert "0 files" in again.output and "44 already in" in again.output
    text = runner.invoke(app, ["read", str(folder), "--jobs", "2"])
    assert text.exit_code != 0 and "add --json or --csv" in str(text.exception)


def test_results_are_streamed_not_kept(folder: Path) -> None:
    results = read_files([str(folder)] * 3, jobs=2)
    first = next(results)
    assert first.file.endswith("000.png") or first.file == list_inputs([str(folder)])[0]
    results.close()  # the workers are stopped without reading the rest
