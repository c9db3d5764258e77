"""What a new user sees first: every command without the optional packages answers in one
line naming the extra to install, install hints survive printing, files get the user's
umask, and training output in a log is plain lines."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

# Runs digitscan's command line in a Python where the named top-level modules cannot be
# imported, as after `pip install -e .` without the extras.
_WITHOUT = """
import sys
hidden = set(sys.argv[1].split(","))

class _Hide:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in hidden:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, _Hide())
sys.argv = ["digitscan", *sys.argv[2:]]
from digitscan.cli import main
main()
"""


def run_without(modules: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _WITHOUT, modules, *args], capture_output=True, text=True, cwd=cwd, timeout=300
    )


@pytest.mark.parametrize(
    "args",
    [["train", "--epochs", "1", "--limit", "500"], ["summary"], ["lab", "--epochs", "1", "--limit", "500"]],
    ids=lambda args: args[0],
)
def test_training_commands_without_torch_name_the_train_extra(args: list[str], tmp_path: Path) -> None:
    result = run_without("torch", *args, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "pip install 'digitscan[train]'" in result.stderr
    assert f"digitscan {args[0]} needs PyTorch" in result.stderr
    assert "Traceback" not in result.stderr
    assert not any(tmp_path.iterdir()), "nothing is written before the missing package is found"


def test_report_without_torch_answers_in_one_line(tiny_run: Path, tmp_path: Path) -> None:
    result = run_without("torch", "report", str(tiny_run), "--out", str(tmp_path / "r.html"), cwd=tmp_path)
    # The report's model section draws the network, which PyTorch builds.
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "pip install 'digitscan[train]'" in result.stderr


def test_reading_works_without_torch(tmp_path: Path) -> None:
    result = run_without("torch", "read", "--example", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "digitscan/examples/photo.png: 631 59785" in result.stdout


def test_serve_without_fastapi_keeps_its_install_hint(tmp_path: Path) -> None:
    result = run_without("fastapi", "serve", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "pip install 'digitscan[serve]'" in result.stderr


def test_pdf_report_without_playwright_says_what_is_missing(tiny_run: Path, tmp_path: Path) -> None:
    result = run_without("playwright", "report", str(tiny_run), "--out", str(tmp_path / "r.pdf"), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "Playwright" in result.stderr and "pip install 'digitscan[report-pdf]'" in result.stderr
    assert not (tmp_path / "r.pdf").exists()


def test_error_messages_are_not_taken_for_markup(capsys: pytest.CaptureFixture[str]) -> None:
    from digitscan.cli import _print_error

    _print_error("needs pip install 'digitscan[serve]' and [bold]this[/bold]")
    assert "pip install 'digitscan[serve]' and [bold]this[/bold]" in capsys.readouterr().err


@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077])
def test_written_files_follow_the_umask(umask: int, tmp_path: Path) -> None:
    from digitscan.files import write_bytes

    old = os.umask(umask)
    try:
        write_bytes(tmp_path / "out.bin", b"x")
    finally:
        os.umask(old)
    assert (tmp_path / "out.bin").stat().st_mode & 0o777 == 0o666 & ~umask


def test_training_progress_off_a_terminal_is_plain_lines(capsys: pytest.CaptureFixture[str]) -> None:
    from digitscan.training.progress import Progress

    row = {"epoch": 1, "loss": 0.5, "accuracy": 0.86, "val_loss": 0.07, "val_accuracy": 0.9881, "seconds": 23.5}
    with Progress(enabled=True, total_steps=100, done_steps=0) as bar:
        for _ in range(4):
            bar.step(1, 1, 0.5, 0.8, advance=25)
        bar.epoch_done(row)
    out = capsys.readouterr().out
    assert out == (
        "epoch   1  loss 0.5000  accuracy 0.8600  val_loss 0.0700  val_accuracy 0.9881  (23.5 s)\n"
    )


def test_annotation_labels_have_one_size() -> None:
    import numpy as np

    from digitscan.reading.annotate import draw_reading
    from digitscan.reading.results import Digit, Reading

    boxes = [(20, 80, 10, 60), (60, 100, 40, 30), (130, 90, 25, 45)]  # a tall 1, a short 0, a 7
    digits = [Digit(d, 0.99, False, box, [(d, 0.99)]) for d, box in zip((1, 0, 7), boxes, strict=True)]
    page = np.full((200, 220), 255, np.uint8)
    drawn = draw_reading(page, Reading("x.png", 1, 220, 200, "107", [], digits))
    tab_heights = []
    for x, y, _w, _h in boxes:
        # The filled label tab sits right above each box: count its green rows in column x+1.
        column = drawn[: y, x + 1]
        green = (column[:, 1] > 150) & (column[:, 0] < 60)
        tab_heights.append(int(green.sum()))
    assert min(tab_heights) > 8
    assert max(tab_heights) - min(tab_heights) <= 1, tab_heights
