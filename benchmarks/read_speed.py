"""How fast `digitscan read` is, after start-up unless said otherwise.

    python benchmarks/read_speed.py [--data-dir ../shared/data]

1. single-digit crops per second through ``Reader.read`` (2,000 MNIST test digits as
   28x28 arrays, layout digit, one call; median of 5 calls);
2. line images of 6-10 digits per second through ``Reader.read`` with the line recogniser
   (1,000 synthetic lines of MNIST test digits, layout line, one call; median of 3);
3. milliseconds for a simulated 1-megapixel page with 20 digits (median of 30 reads), and
   for a simulated 12-megapixel phone photo of a page on a desk (median of 5; the picture
   already decoded);
4. seconds for the ``digitscan read`` command on a folder of 1,000 PNG crops, start-up
   included (a fresh process).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from digitscan.reading.reader import Reader
from digitscan.training.mnist import load_mnist
from digitscan.training.simulate import simulate_scan

REPO = Path(__file__).resolve().parents[1]


def one_megapixel_page(digits: object) -> np.ndarray:
    """A simulated photo with 20 digits (4 lines of 5), padded to 1,000,000 pixels."""
    scan = simulate_scan("photo", 7, digits, lines=(4, 4), numbers_per_line=(1, 1),
                         digits_per_number=(5, 5), digit_height=(48, 48))
    page = np.full((1000, 1000, 3), scan.image[2, 2], np.uint8)
    h, w = min(scan.image.shape[0], 1000), min(scan.image.shape[1], 1000)
    page[:h, :w] = scan.image[:h, :w]
    return page


def twelve_megapixel_photo(digits: object) -> tuple[np.ndarray, str]:
    """A simulated phone photo of a page on a desk (the ``desk`` condition: 20 digits, 4
    lines of 5, written 90-110 pixels tall as on an A4 page photographed whole), stretched
    to 4032 x 3024 as a 12-MP phone takes it; and its text."""
    scan = simulate_scan("desk", 11, digits, lines=(4, 4), numbers_per_line=(1, 1),
                         digits_per_number=(5, 5), digit_height=(90, 110))
    photo = cv2.resize(scan.image, (4032, 3024), interpolation=cv2.INTER_LINEAR)
    return photo, scan.text


def timed_reads(reader, picture: np.ndarray, runs: int):
    """Wall and CPU seconds of each of ``runs`` reads of ``picture`` (after one warm-up
    read), and the last reading."""
    reader.read_array(picture)
    times, cpu_times = [], []
    for _ in range(runs):
        started, cpu_started = time.perf_counter(), time.process_time()
        reading = reader.read_array(picture)
        times.append(time.perf_counter() - started)
        cpu_times.append(time.process_time() - cpu_started)
    return times, cpu_times, reading


def six_to_ten_digit_lines(digits, count: int) -> tuple[list[np.ndarray], list[str]]:
    """Synthetic line pictures holding one number of 6 to 10 digits each (the line
    synthesiser's look, MNIST test digits), with their texts."""
    from digitscan.training.lines import synthesise_line

    rng = np.random.default_rng(77)
    pictures, texts = [], []
    while len(pictures) < count:
        picture, text = synthesise_line(rng, digits.images, digits.labels)
        if " " not in text and 6 <= len(text) <= 10:
            pictures.append(picture)
            texts.append(text)
    return pictures, texts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=str(REPO.parent / "shared" / "data"))
    args = parser.parse_args()
    digits = load_mnist("test", args.data_dir, download=False)
    reader = Reader()
    crops = [255 - digits.images[i] for i in range(2000)]  # dark ink on light, as scanned
    reader.read(crops[:50], layout="digit")  # warm up ONNX Runtime
    # Repeated, because this shared machine's speed drifts from one second to the next: the
    # median is the figure, the range says how much it moved.
    rates, cpu_rates = [], []
    for _ in range(5):
        started, cpu_started = time.perf_counter(), time.process_time()
        readings = reader.read(crops, layout="digit")
        rates.append(len(crops) / (time.perf_counter() - started))
        cpu_rates.append(time.process_time() - cpu_started)
    right = np.mean([r.text == str(digits.labels[i]) for i, r in enumerate(readings)])
    print(f"crops through Reader:   {np.median(rates):8.0f} crops/s median of 5 runs of {len(crops)} "
          f"(range {min(rates):.0f}-{max(rates):.0f}; {np.median(cpu_rates):.2f} s CPU each; {right:.1%} right)")

    lines, truths = six_to_ten_digit_lines(digits, 1000)
    reader.read(lines[:20], layout="line")
    rates = []
    for _ in range(3):
        started = time.perf_counter()
        readings = reader.read(lines, layout="line")
        rates.append(len(lines) / (time.perf_counter() - started))
    exact = np.mean([r.text == t for r, t in zip(readings, truths, strict=True)])
    print(f"lines of 6-10 digits:   {np.median(rates):8.0f} lines/s median of 3 runs of {len(lines)} "
          f"(range {min(rates):.0f}-{max(rates):.0f}; {exact:.1%} exact)")
    print(f"line model:             {reader.line_model_path.name}")

    page = one_megapixel_page(digits)
    times, cpu_times, reading = timed_reads(reader, page, 30)
    print(f"1-MP page, 20 digits:   {np.median(times) * 1000:8.1f} ms median of 30 "
          f"(range {min(times) * 1000:.1f}-{max(times) * 1000:.1f}; {np.median(cpu_times) * 1000:.1f} ms CPU; "
          f"{len(reading.digits)} digits found)")

    photo, truth = twelve_megapixel_photo(digits)
    times, cpu_times, reading = timed_reads(reader, photo, 5)
    print(f"12-MP photo, 20 digits: {np.median(times) * 1000:8.1f} ms median of 5 "
          f"(range {min(times) * 1000:.1f}-{max(times) * 1000:.1f}; {np.median(cpu_times) * 1000:.1f} ms CPU; "
          f"{'read right' if reading.text == truth else repr(reading.text)})")

    with tempfile.TemporaryDirectory() as folder:
        for i in range(1000):
            ok, data = cv2.imencode(".png", crops[i])
            Path(folder, f"{i:04d}.png").write_bytes(data.tobytes())
        command = [sys.executable, "-m", "digitscan.cli", "read", folder]
        started = time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        elapsed = time.perf_counter() - started
        lines = result.stdout.count("\n")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"CLI, 1,000 crops:       {elapsed:8.2f} s including start-up "
          f"({lines} lines printed, exit {result.returncode})")
    print(f"(load average {load:.2f} on {os.cpu_count()} CPUs: other work slows the wall times)")


if __name__ == "__main__":
    main()
