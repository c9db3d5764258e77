"""What fine-tuning the line recogniser on your own labelled lines buys (issue 15).

    python benchmarks/fine_tune_lines.py [--condition cheque] [--pages 150] [--epochs 3]
        [--eval-pages 30] [--work runs/fine-tune-bench]

Plays a user with a few thousand labelled lines of their own kind of paper: it cuts the
lines out of ``--pages`` simulated pages of ``--condition`` (MNIST's *training* digits,
seeds from 20000: never the benchmark's), writes them as ``images/`` + ``labels.csv``, runs

    digitscan train --model lines --data WORK/lines --init shipped --epochs E --out WORK/run

and reads ``--eval-pages`` pages of that condition and of ``hard`` (MNIST *test* digits,
``read_accuracy.py``'s seeds from 1000) with the shipped line model and with the tuned one,
printing numbers exact and CER for each. The simulator stands in for a user's paper here:
the figures say how large the lever is, not how well real cheques read. Needs
``digitscan[train]``.
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from digitscan.reading.reader import Reader
from digitscan.training.mnist import load_mnist
from digitscan.training.simulate import simulate_scan

sys.path.insert(0, str(Path(__file__).resolve().parent))
from read_accuracy import SEED_BASE, score  # noqa: E402

TRAIN_SEED_BASE = 20_000


def cut_lines(condition: str, pages: int, digits, folder: Path) -> int:
    """Each line of each simulated page, cut out around its digits with the marks beside
    them (a currency sign, a "/-"), as a grey PNG with its text; returns the count."""
    (folder / "images").mkdir(parents=True, exist_ok=True)
    rows = []
    for seed in range(TRAIN_SEED_BASE, TRAIN_SEED_BASE + pages):
        scan = simulate_scan(condition, seed, digits)
        grey = cv2.cvtColor(scan.image, cv2.COLOR_RGB2GRAY)
        boxes = iter(scan.boxes)
        for index, line in enumerate(scan.text.split("\n")):
            line_boxes = [next(boxes) for _ in line.replace(" ", "")]
            if not line_boxes:
                continue
            height = int(np.median([b[3] for b in line_boxes]))
            x0 = max(0, min(b[0] for b in line_boxes) - height)
            x1 = min(grey.shape[1], max(b[0] + b[2] for b in line_boxes) + height)
            y0 = max(0, min(b[1] for b in line_boxes) - height // 3)
            y1 = min(grey.shape[0], max(b[1] + b[3] for b in line_boxes) + height // 3)
            name = f"{condition}-{seed}-{index}.png"
            cv2.imwrite(str(folder / "images" / name), grey[y0:y1, x0:x1])
            rows.append((name, line))
    with (folder / "labels.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "text"])
        writer.writerows(rows)
    return len(rows)


def measure(reader: Reader, condition: str, pages: int, digits) -> tuple[float, float]:
    """(numbers exact, CER) on ``pages`` benchmark pages of ``condition``."""
    totals = [0] * 6
    for seed in range(SEED_BASE, SEED_BASE + pages):
        scan = simulate_scan(condition, seed, digits)
        for i, value in enumerate(score(scan.text, reader.read_array(scan.image, layout="page").text)):
            totals[i] += value
    return totals[2] / max(totals[3], 1), totals[4] / max(totals[5], 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--condition", default="cheque")
    parser.add_argument("--pages", type=int, default=150, help="simulated pages whose lines are the user's data")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--eval-pages", type=int, default=30)
    parser.add_argument("--data-dir", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    parser.add_argument("--work", type=Path, default=Path("runs/fine-tune-bench"))
    args = parser.parse_args()
    if args.work.exists():
        parser.error(f"{args.work} exists: give a new --work folder")
    mnist_dir = str(Path(args.data_dir) / "mnist")
    train_digits = load_mnist("train", mnist_dir, download=False)
    test_digits = load_mnist("test", mnist_dir, download=False)

    count = cut_lines(args.condition, args.pages, train_digits, args.work / "lines")
    print(f"{count} labelled lines cut from {args.pages} simulated {args.condition} pages "
          f"(MNIST training digits, seeds {TRAIN_SEED_BASE}+)")
    started = time.perf_counter()
    command = [sys.executable, "-m", "digitscan.cli", "train", "--model", "lines", "--data",
               str(args.work / "lines"), "--init", "shipped", "--epochs", str(args.epochs),
               "--batch-size", "32", "--lr", "0.0005", "--out", str(args.work / "run")]
    print("$", " ".join(command[2:]).replace("digitscan.cli", "digitscan"), flush=True)
    subprocess.run(command, check=True, env={**os.environ, "DIGITSCAN_DATA": mnist_dir})
    print(f"fine-tuned in {time.perf_counter() - started:.0f} s (all-in)")

    shipped, tuned = Reader(), Reader(line_model=args.work / "run")
    print(f"{'condition':10s} {'shipped':>18s} {'fine-tuned':>18s}   (numbers exact, CER; "
          f"{args.eval_pages} pages, MNIST test digits, seeds {SEED_BASE}+)")
    for condition in dict.fromkeys([args.condition, "hard"]):
        before = measure(shipped, condition, args.eval_pages, test_digits)
        after = measure(tuned, condition, args.eval_pages, test_digits)
        print(f"{condition:10s} {before[0]:9.1%} {before[1]:7.2%} {after[0]:9.1%} {after[1]:7.2%}")


if __name__ == "__main__":
    main()
