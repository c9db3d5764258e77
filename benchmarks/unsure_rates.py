"""How well "unsure" separates wrong digits from right ones, per threshold.

    python benchmarks/unsure_rates.py [--pages 20] [--line-model PATH]

Reads simulated scans (MNIST *test* digits, seeds from 5000: never used for tuning
anything else) under the harder conditions, and the two real photographed pages; aligns
each reading's digits with the truth (difflib, in order): a digit read where the truth has
the same digit is right; a different digit, or one the truth does not have, is wrong. For
each threshold it prints the share of wrong digits flagged unsure and the share of right
digits flagged: a good threshold flags most wrong digits and few right ones.
"""

from __future__ import annotations

import argparse
import csv
import difflib
from pathlib import Path

import numpy as np

from digitscan.reading.reader import Reader
from digitscan.training.mnist import load_mnist
from digitscan.training.simulate import HARD_CONDITIONS, simulate_scan

REPO = Path(__file__).resolve().parents[1]
THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98)


def right_and_wrong(truth: str, reading) -> tuple[list[float], list[float]]:
    """Confidences of the digits read right, and of those read wrong."""
    true_digits = "".join(truth.split())
    read = [d for d in reading.digits]
    read_digits = "".join(str(d.digit) for d in read)
    right, wrong = [], []
    matcher = difflib.SequenceMatcher(None, true_digits, read_digits, autojunk=False)
    for tag, _i0, _i1, j0, j1 in matcher.get_opcodes():
        for j in range(j0, j1):
            (right if tag == "equal" else wrong).append(read[j].confidence)
    return right, wrong


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--line-model", default=None)
    parser.add_argument("--data-dir", default=str(REPO.parent / "shared" / "data"))
    args = parser.parse_args()
    reader = Reader(line_model=args.line_model)
    digits = load_mnist("test", args.data_dir, download=False)
    right: list[float] = []
    wrong: list[float] = []
    for condition in HARD_CONDITIONS:
        for seed in range(5000, 5000 + args.pages):
            scan = simulate_scan(condition, seed, digits)
            r, w = right_and_wrong(scan.text, reader.read_array(scan.image, layout="page"))
            right += r
            wrong += w
    real = Path(args.data_dir) / "real-scans" / "pages"
    for row in csv.DictReader(open(real / "labels.csv", encoding="utf-8")):
        r, w = right_and_wrong(row["text"], reader.read(real / "images" / row["file"], layout="page")[0])
        right += r
        wrong += w
    right_c, wrong_c = np.array(right), np.array(wrong)
    print(f"reader: line recogniser {reader.line_model_path.name}; "
          f"{len(right_c)} digits right, {len(wrong_c)} wrong ({len(HARD_CONDITIONS)} conditions x {args.pages} "
          "pages, and the 2 real pages)")
    print(f"{'threshold':>9s} {'wrong flagged':>14s} {'right flagged':>14s}")
    for threshold in THRESHOLDS:
        print(f"{threshold:9.2f} {np.mean(wrong_c < threshold) if len(wrong_c) else 0:14.1%} "
              f"{np.mean(right_c < threshold):14.1%}")


if __name__ == "__main__":
    main()
