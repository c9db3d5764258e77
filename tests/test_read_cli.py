"""The `digitscan read` command as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from digitscan.cli import app
from digitscan.reading.reader import bundled_examples

runner = CliRunner()


@pytest.fixture()
def pages(real_scans_dir: Path) -> Path:
    return real_scans_dir / "pages" / "images"


def test_text_output_one_block_per_file(pages: Path) -> None:
    result = runner.invoke(app, ["read", str(pages)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"{pages / 'page5.png'}:"
    assert lines[1].replace("?", "") == "  64193796"
    assert f"{pages / 'page6.png'}:" in lines


def test_json_lines_in_input_order_and_exit_status(pages: Path, tmp_path: Path) -> None:
    bad = tmp_path / "notes.png"
    bad.write_text("shopping list")
    inputs = [str(pages / "page6.png"), str(bad), str(pages / "page5.png")]
    result = runner.invoke(app, ["read", "--json", *inputs])
    assert result.exit_code == 1
    objects = [json.loads(line) for line in result.output.splitlines()]
    assert [o["file"] for o in objects] == inputs
    assert objects[1]["error"].startswith("not an image") and objects[1]["digits"] == []
    assert objects[2]["text"].split("\n")[0] == "64193796"


def test_unsure_digits_are_marked(pages: Path) -> None:
    result = runner.invoke(app, ["read", "--min-confidence", "1.0", str(pages / "page6.png")])
    assert result.exit_code == 0
    assert "1?4?3?2?0?5?2?7?" in result.output


def test_bad_input_reasons_are_one_line_each(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "zero.png").write_bytes(b"")
    result = runner.invoke(app, ["read", str(tmp_path / "empty"), str(tmp_path / "zero.png")])
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"{tmp_path / 'empty'}: error: directory holds no images (looked for bmp, gif, jpeg, "
        "jpg, pdf, pgm, png, tif, tiff, webp)",
        f"{tmp_path / 'zero.png'}: error: empty file (0 bytes)",
    ]


def test_annotate_writes_pictures_and_never_beside_the_input(pages: Path,
                                                             tmp_path: Path) -> None:
    out = tmp_path / "seen"
    result = runner.invoke(app, ["read", str(pages / "page5.png"), "--annotate", str(out)])
    assert result.exit_code == 0, result.output
    assert [p.name for p in out.iterdir()] == ["page5.read.png"]
    copy = tmp_path / "mine.png"
    copy.write_bytes((pages / "page5.png").read_bytes())
    refused = subprocess.run(
        [sys.executable, "-m", "digitscan.cli", "read", str(copy), "--annotate", str(tmp_path)],
        capture_output=True, text=True, check=False)
    assert refused.returncode == 2
    assert "choose another folder" in refused.stderr
    assert copy.read_bytes() == (pages / "page5.png").read_bytes()


def test_bundled_example_and_stdin(pages: Path) -> None:
    assert len(bundled_examples()) >= 2
    result = runner.invoke(app, ["read", "--example"])
    assert result.exit_code == 0 and "clean.png" in result.output
    piped = subprocess.run([sys.executable, "-m", "digitscan.cli", "read", "-", "--json"],
                           input=(pages / "page6.png").read_bytes(), capture_output=True,
                           check=False)
    reading = json.loads(piped.stdout)
    assert piped.returncode == 0 and reading["file"] == "-"
    assert reading["text"].split("\n")[2] == "504"


def test_nothing_to_read_is_a_usage_error() -> None:
    result = subprocess.run([sys.executable, "-m", "digitscan.cli", "read"],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 2 and "nothing to read" in result.stderr
