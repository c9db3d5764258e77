"""Issue-2 training targets on this machine, measured and printed (not asserted).

    DIGITSCAN_DATA=../shared/data/mnist python benchmarks/train_speed.py [--only NAME]

- default model, one pass over 50,000 images (`--epochs 1 --limit 50000`) and one full
  epoch: >= 99.0% MNIST test accuracy in <= 20 s of training
- default model, 4 epochs: >= 99.5% in <= 90 s (first epoch reaching it, time so far)
- seed model (the lab's), 5 epochs, batch 64: >= 98.0%, time beside the lab's 23-25 s
Training time is the sum of the epochs' wall-clock time (data already in memory); the
per-epoch evaluation on the test set is timed separately and reported too.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from digitscan.training.loop import TrainConfig, train

RUNS = {
    "default-50k": TrainConfig(model="default", epochs=1, limit=50_000, seed=0),
    "default-1": TrainConfig(model="default", epochs=1, seed=0),
    "default-4": TrainConfig(model="default", epochs=4, seed=0),
    "seed-5": TrainConfig(model="seed", epochs=5, batch_size=64, augment=False, max_lr=2e-3, seed=0),
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", choices=sorted(RUNS), action="append")
    args = parser.parse_args()
    print(f"cpu count {os.cpu_count()}, DIGITSCAN_DATA={os.environ.get('DIGITSCAN_DATA')}")
    for name in args.only or RUNS:
        config = RUNS[name]
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            result = train(config, Path(tmp) / name, progress=False)
            wall = time.perf_counter() - start
        elapsed = 0.0
        print(
            f"\n{name}: model={config.model} epochs={config.epochs} batch={config.batch_size} "
            f"augment={config.augment} precision={result.metrics['precision']}"
        )
        for row in result.history:
            elapsed += row["seconds"]
            print(
                f"  epoch {row['epoch']}: val_accuracy {row['val_accuracy']:.4f}  training time so far {elapsed:6.1f} s"
            )
        print(
            f"  final MNIST test accuracy (ONNX) {result.metrics['accuracy']:.4f}; "
            f"training {result.train_seconds:.1f} s; low-resolution scans prepared before it in "
            f"{result.metrics['prepare_seconds']:.1f} s; whole call incl. loading, per-epoch "
            f"evaluation, export and pictures {wall:.1f} s"
        )


if __name__ == "__main__":
    main()
