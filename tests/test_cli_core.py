"""The command line as a user meets it: real runs, and one clear line for each mistake."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def digitscan(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "COLUMNS": "120", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "digitscan", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=300,
    )


def assert_one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    message = result.stderr.strip()
    assert message.count("\n") == 0, message
    for fragment in fragments:
        assert fragment in message, message


def test_evaluate_shipped_model_on_mnist(mnist_dir: Path) -> None:
    result = digitscan("evaluate", "--data-dir", str(mnist_dir))
    assert result.returncode == 0, result.stderr
    assert "classification report" in result.stdout and "weighted avg" in result.stdout
    assert "confusion matrix" in result.stdout


def test_evaluate_json_matches_the_run(tiny_run: Path, mnist_dir: Path, tmp_path: Path) -> None:
    result = digitscan(
        "evaluate", str(tiny_run), "--json", "--data-dir", str(mnist_dir), "--pictures", str(tmp_path / "pics")
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    metrics = json.loads((tiny_run / "metrics.json").read_text())
    assert report["accuracy"] == pytest.approx(metrics["accuracy"])
    assert report["confusion_matrix"] == metrics["confusion_matrix"]
    assert sum(map(sum, report["confusion_matrix"])) == 10000
    assert {p.name for p in (tmp_path / "pics").iterdir()} == {
        "confusion_matrix.png",
        "misclassified.png",
        "calibration.png",
    }


def test_summary_of_the_lab_network(tmp_path: Path) -> None:
    result = digitscan("summary", "seed", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "Total params: 173,738" in result.stdout
    assert (tmp_path / "seed.png").stat().st_size > 1000
    assert (tmp_path / "seed.svg").read_text().lstrip().startswith("<?xml")


def test_train_from_the_command_line(tmp_path: Path, mnist_dir: Path) -> None:
    out = tmp_path / "run"
    result = digitscan(
        "train", "--model", "seed", "--epochs", "1", "--limit", "1000", "--out", str(out), "--data-dir", str(mnist_dir)
    )
    assert result.returncode == 0, result.stderr
    assert "test accuracy" in result.stdout and (out / "model.onnx").is_file()
    # One line says which precision, threads and compile mode were chosen, and why.
    assert re.search(r"^(bf16|fp32) \(.+\), \d+ threads? \(.+\), compile (on|off) \(.+\)$", result.stdout, re.M)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["precision"] in ("bf16", "fp32") and metrics["threads"] >= 1 and metrics["compile"] in (True, False)
    assert metrics["setup"] in result.stdout
    assert json.loads((out / "config.json").read_text())["machine"]["threads"] == metrics["threads"]


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["train", "--model", "resnet9000", "--out", "{tmp}/x"], ["unknown model 'resnet9000'"]),
        (["summary", "nope"], ["unknown model 'nope'"]),
        (["evaluate", "{tmp}"], ["not a training run"]),
        (["evaluate", "{tmp}/missing.onnx"], ["no such model"]),
        (["evaluate", "--data", "{tmp}/nowhere"], ["no such folder"]),
        (["evaluate", "--data", "{tmp}"], ["no labelled images found"]),
        (["evaluate", "--data-dir", "{tmp}/corrupt"], ["checksum mismatch", "t10k-images-idx3-ubyte"]),
        (["train", "--epochs", "0", "--out", "{tmp}/y"], ["--epochs must be at least 1"]),
        (["train", "--resume", "--out", "{tmp}"], ["no checkpoint to resume"]),
    ],
)
def test_user_mistakes_get_one_clear_line(
    args: list[str], fragments: list[str], tmp_path: Path, mnist_dir: Path
) -> None:
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "t10k-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x03" + b"\x00" * 100)
    (corrupt / "t10k-labels-idx1-ubyte.gz").write_bytes((mnist_dir / "t10k-labels-idx1-ubyte.gz").read_bytes())
    result = digitscan(
        *[a.replace("{tmp}", str(tmp_path)) for a in args],
        env={"DIGITSCAN_MNIST_MIRRORS": "http://127.0.0.1:9/", "DIGITSCAN_DATA": str(mnist_dir)},
    )
    assert_one_line_error(result, *fragments)


def test_wrong_flag_is_a_usage_error() -> None:
    result = digitscan("train", "--epoks", "3")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "--epoks" in result.stderr


def test_train_refuses_to_overwrite_and_keeps_files(tmp_path: Path, mnist_dir: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    result = digitscan("train", "--out", str(tmp_path), "--data-dir", str(mnist_dir))
    assert_one_line_error(result, "already exists")
    assert (tmp_path / "keep.txt").read_text() == "mine"


def test_evaluate_a_folder_of_real_scans(real_scans_dir: Path) -> None:
    """images/ + labels.csv, each image read as one digit the way the reader reads it."""
    result = digitscan("evaluate", "--data", str(real_scans_dir / "optdigits"), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["count"] == 2880
    assert report["accuracy"] > 0.95


def test_evaluate_a_folder_of_digit_subfolders(tmp_path: Path, real_scans_dir: Path) -> None:
    import csv
    import shutil

    rows = list(csv.DictReader(open(real_scans_dir / "semeion" / "labels.csv")))[:: 40]
    for row in rows:
        folder = tmp_path / row["label"]
        folder.mkdir(exist_ok=True)
        shutil.copy(real_scans_dir / "semeion" / "images" / row["file"], folder / row["file"])
    result = digitscan("evaluate", "--data", str(tmp_path), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["count"] == len(rows)
