"""Training speed on this machine (issues 2 and 14), measured and printed, not asserted.

    DIGITSCAN_DATA=../shared/data/mnist python benchmarks/train_speed.py [--only NAME ...]

Each run is a whole ``digitscan train`` command in its own process, so its wall time
includes start-up, loading MNIST and preparing scans as a student meets them.

- seed-5: the lab's network, ``--model seed --epochs 5 --batch-size 64 --no-augment``, on
  the idle machine and with one and with two busy processes beside it (started here, each
  in its own session like another program, and stopped at the end). Targets: faster than
  the lab's Keras fit, >= 98.5% MNIST test, and no more than 2x the idle time with one busy.
- seed-5-avx2, default-1-avx2, lines-10k-fp32: the same with the CPU capped to AVX2
  (``ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2``), which is how an AVX2-only CPU runs
  (fp32: no native bf16), though not its clock or caches.
- default-1: the default network, one epoch: >= 99.0% MNIST test in <= 20 s wall all-in.
- default-50k, default-4: issue 2's targets (>= 99.0% in <= 20 s of training; >= 99.5% in
  <= 90 s).
- lines-10k: the line recogniser, one epoch on 10,000 synthetic lines (bf16 where native).

The lab's Keras program runs after them, idle and capped to AVX2, with ``--keras-python`` (a
Python that has ``tensorflow`` and ``keras``; TensorFlow need not share this project's virtual
environment); the figures recorded in issue 14 are printed beside it for comparison.

    python3 -m venv ../tf-venv && ../tf-venv/bin/pip install tensorflow-cpu keras
    python benchmarks/train_speed.py --only seed-5 --only seed-5-avx2 --keras-python ../tf-venv/bin/python
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

AVX2 = {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2"}
SEED_5 = ["--model", "seed", "--epochs", "5", "--batch-size", "64", "--no-augment"]
# Issue 14: the lab's Keras fit (seed network, 5 epochs, batch 64) on this kind of machine.
KERAS_RECORDED = {"avx512": "25.9 s (98.38%)", "avx2": "25.6 s"}


@dataclass
class Run:
    """One ``digitscan train`` command, ``busy`` busy processes beside it."""

    args: list[str]
    env: dict[str, str] = field(default_factory=dict)
    busy: int = 0
    target: str = ""


RUNS = {
    "seed-5": Run(SEED_5, target="faster than Keras, >= 98.5%"),
    "seed-5-busy1": Run(SEED_5, busy=1, target="<= 2x the idle time"),
    "seed-5-busy2": Run(SEED_5, busy=2),
    "seed-5-avx2": Run(SEED_5, AVX2, target="faster than Keras, >= 98.5%"),
    "default-1": Run(["--model", "default", "--epochs", "1"], target=">= 99.0% in <= 20 s wall"),
    "default-1-avx2": Run(["--model", "default", "--epochs", "1"], AVX2, target=">= 99.0% in <= 20 s wall"),
    "default-50k": Run(["--model", "default", "--epochs", "1", "--limit", "50000"], target=">= 99.0%"),
    "default-4": Run(["--model", "default", "--epochs", "4"], target=">= 99.5% in <= 90 s of training"),
    "lines-10k": Run(["--model", "lines", "--lines", "10000", "--epochs", "1"]),
    "lines-10k-fp32": Run(["--model", "lines", "--lines", "10000", "--epochs", "1"], AVX2),
}
DEFAULT = ["seed-5", "seed-5-busy1", "seed-5-busy2", "seed-5-avx2", "default-1", "default-1-avx2",
           "lines-10k", "lines-10k-fp32"]

# A busy program: pure Python on one core, stopping by itself after a time limit even if
# this benchmark dies.
_BUSY = "import time\nend = time.monotonic() + {seconds}\nwhile time.monotonic() < end:\n    pass\n"


def cpu_kind() -> str:
    flags: set[str] = set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                break
    except OSError:
        return "unknown (no /proc/cpuinfo)"
    if "avx512f" in flags:
        bf16 = "AMX bf16" if "amx_bf16" in flags else "AVX512-BF16" if "avx512_bf16" in flags else "no native bf16"
        return f"AVX-512 with {bf16}"
    return "AVX2" if "avx2" in flags else "no AVX2"


def run_training(run: Run, out: Path) -> tuple[float, dict, list[dict], str]:
    """(wall seconds, metrics.json, history rows, the chosen-settings line) of one command."""
    busy = [
        subprocess.Popen([sys.executable, "-c", _BUSY.format(seconds=900)], start_new_session=True)
        for _ in range(run.busy)
    ]
    try:
        time.sleep(0.5 if busy else 0)  # let the busy programs get going, as a browser would be
        start = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-m", "digitscan", "train", *run.args, "--out", str(out)],
            env={**os.environ, **run.env}, capture_output=True, text=True,
        )
        wall = time.perf_counter() - start
    finally:
        for process in busy:
            process.kill()
            process.wait()
    if result.returncode != 0:
        raise SystemExit(f"digitscan train {' '.join(run.args)} failed:\n{result.stderr[-3000:]}")
    setup = next((line for line in result.stdout.splitlines() if ", compile " in line), "?")
    with open(out / "history.csv", newline="") as handle:
        history = list(csv.DictReader(handle))
    return wall, json.loads((out / "metrics.json").read_text()), history, setup


def keras_fit(python: str, env: dict[str, str] | None = None) -> str:
    """The lab's Keras program (seed network, 5 epochs, batch 64) run by ``python``, if that
    interpreter has TensorFlow (it may be another virtual environment: TensorFlow and this
    project's PyTorch need not share one)."""
    found = subprocess.run([python, "-c", "import tensorflow, keras"], capture_output=True)
    if found.returncode != 0:
        return f"not run: TensorFlow and Keras are not installed for {python}"
    program = """
import time, keras
from digitscan.training.mnist import load_mnist
train, test = load_mnist("train"), load_mnist("test")
x, y = (train.images[..., None] / 255.0).astype("float32"), train.labels.astype("int64")
test_x, test_y = (test.images[..., None] / 255.0).astype("float32"), test.labels.astype("int64")
model = keras.Sequential([
    keras.layers.Input((28, 28, 1)), keras.layers.Conv2D(32, 3, activation="relu"),
    keras.layers.MaxPooling2D(2), keras.layers.Flatten(),
    keras.layers.Dense(32, activation="relu"), keras.layers.Dense(10)])
model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
              metrics=["accuracy"])
start = time.perf_counter()
model.fit(x, y, epochs=5, batch_size=64, verbose=0, validation_data=(test_x, test_y))
fit = time.perf_counter() - start
print(f"{fit:.1f} s ({model.evaluate(test_x, test_y, verbose=0)[1]:.2%})")
"""
    # The program imports digitscan's MNIST loader (numpy only) from this checkout's src/.
    source = str(Path(__file__).resolve().parents[1] / "src")
    env = {**os.environ, **(env or {}), "PYTHONPATH": source, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run([python, "-c", program], capture_output=True, text=True, env=env)
    return result.stdout.strip() or f"failed: {result.stderr.strip().splitlines()[-1:]}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", choices=sorted(RUNS), action="append")
    parser.add_argument("--keras-python", default=sys.executable,
                        help="a Python with tensorflow and keras installed, to run the lab's Keras "
                             "program side by side (default: this one)")
    parser.add_argument("--no-keras", action="store_true", help="skip the Keras runs")
    args = parser.parse_args()
    kind = cpu_kind()
    print(f"CPU: {kind}, {len(os.sched_getaffinity(0))} cores usable; load average "
          f"{' '.join(f'{v:.2f}' for v in os.getloadavg())} before; DIGITSCAN_DATA={os.environ.get('DIGITSCAN_DATA')}")
    print("AVX2 hardware: not available here; the *-avx2 runs cap this CPU to AVX2 kernels "
          "(same clock and caches, so a real AVX2 laptop may be slower)")
    times: dict[str, tuple[float, float]] = {}  # (wall all-in, training) seconds
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.only or DEFAULT:
            run = RUNS[name]
            wall, metrics, history, setup = run_training(run, Path(tmp) / name)
            times[name] = (wall, metrics["train_seconds"])
            prepare = metrics.get("prepare_seconds", 0.0)
            print(f"\n{name}: digitscan train {' '.join(run.args)}"
                  + "".join(f" {k}={v}" for k, v in run.env.items())
                  + (f", {run.busy} busy process{'es' if run.busy > 1 else ''} beside it" if run.busy else ""))
            print(f"  chose: {setup}")
            so_far = 0.0
            for row in history:
                so_far += float(row["seconds"])
                print(f"  epoch {row['epoch']}: {float(row['seconds']):6.1f} s  val_accuracy "
                      f"{float(row['val_accuracy']):.4f}  training so far {so_far:6.1f} s")
            what = "lines read exactly" if "lines" in run.args else "MNIST test accuracy (ONNX)"
            print(f"  {what} {metrics['accuracy']:.4f}; training {metrics['train_seconds']:.1f} s, preparing "
                  f"{prepare:.1f} s; wall all-in {wall:.1f} s" + (f"  [target {run.target}]" if run.target else ""))
    print("\nsummary")
    for busy in ("seed-5-busy1", "seed-5-busy2"):
        if busy in times and "seed-5" in times:
            (wall, training), (idle_wall, idle_training) = times[busy], times["seed-5"]
            print(f"  {busy}: wall {wall:.1f} s vs {idle_wall:.1f} s idle = {wall / idle_wall:.2f}x; "
                  f"training {training:.1f} s vs {idle_training:.1f} s = {training / idle_training:.2f}x")
    if not args.no_keras:
        print(f"  Keras fit of the lab network here: {keras_fit(args.keras_python)}")
        print(f"  Keras capped to AVX2 (ONEDNN_MAX_CPU_ISA=AVX2): {keras_fit(args.keras_python, AVX2)}")
    print(f"  Keras recorded in issue 14 on this kind of machine: {KERAS_RECORDED['avx512']} AVX-512, "
          f"{KERAS_RECORDED['avx2']} capped to AVX2")
    print(f"  load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
