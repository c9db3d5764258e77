"""Evaluating the 10,000 MNIST test digits with the shipped ONNX model (target <= 1.5 s).

DIGITSCAN_DATA=../shared/data/mnist python benchmarks/evaluate_speed.py
"""

from __future__ import annotations

import statistics
import time

from digitscan.reading.classifier import Classifier
from digitscan.training.evaluation import evaluate_arrays
from digitscan.training.mnist import load_mnist


def main() -> None:
    test = load_mnist("test")
    start = time.perf_counter()
    classifier = Classifier()
    load_seconds = time.perf_counter() - start
    times = []
    for _ in range(5):
        start = time.perf_counter()
        result = evaluate_arrays(classifier, test.images, test.labels, "mnist-test")
        times.append(time.perf_counter() - start)
    print(f"model {classifier.path}")
    print(f"model load {load_seconds * 1000:.0f} ms")
    print(
        f"10,000 digits: median {statistics.median(times):.3f} s, best {min(times):.3f} s "
        f"(5 runs; metrics included); accuracy {result.accuracy:.4f}"
    )


if __name__ == "__main__":
    main()
