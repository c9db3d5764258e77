"""Copy a finished training run into the package as the shipped model, with its model card.

    DIGITSCAN_DATA=../shared/data/mnist digitscan train --model default --epochs 12 --seed 0 --out runs/shipped
    python scripts/ship_model.py runs/shipped

Writes src/digitscan/model/{default.onnx, default.safetensors, model_card.json}, or for a
run of the line recogniser (``--model lines``) {lines.onnx, lines.safetensors,
lines_card.json}. The card
records how the model was made (the exact command, seed, data checksums, versions) and what
it scored, re-measured here on MNIST test through ONNX Runtime, so nothing is copied on trust.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MODEL_DIR = REPO / "src" / "digitscan" / "model"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--data-dir", default=None, help="MNIST folder (default: $DIGITSCAN_DATA)")
    parser.add_argument("--note", default=None, help="said in the card as it is (e.g. how an earlier stage was made)")
    args = parser.parse_args()

    from digitscan.training.evaluation import evaluate
    from digitscan.training.mnist import file_checksums, resolve_data_dir

    run = args.run_dir
    config = json.loads((run / "config.json").read_text())
    metrics = json.loads((run / "metrics.json").read_text())
    if metrics.get("interrupted"):
        print(f"{run}: the run was interrupted; ship only a finished run", file=sys.stderr)
        return 2
    if config["train"]["model"] == "lines":
        return ship_line_model(run, config, args.data_dir, args.note)
    evaluation = evaluate(run, "mnist-test", args.data_dir)
    checksums = {name: digest for name, (_path, digest) in file_checksums(resolve_data_dir(args.data_dir)).items()}

    MODEL_DIR.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(run / "model.onnx", MODEL_DIR / "default.onnx")
    shutil.copyfile(run / "model.safetensors", MODEL_DIR / "default.safetensors")
    card = {
        "name": "digitscan default",
        "architecture": config["model"],
        "task": "handwritten digit classification, 28x28 grey, white ink on black, MNIST-normalised",
        "input": {"name": "image", "shape": ["batch", 1, 28, 28], "dtype": "float32", "range": [0, 1]},
        "output": {"name": "logits", "shape": ["batch", 10]},
        "trained_with": {
            "command": config["command"],
            "train": config["train"],
            "augment": config["augment"],
            "train_seconds": config.get("train_seconds"),
            "machine": config["machine"],
            "digitscan_version": config["digitscan_version"],
            "started": config["started"],
            "finished": config.get("finished"),
        },
        "data": {
            "train": "MNIST training set, 60,000 images",
            "test": "MNIST test set, 10,000 images (reported only; never used to choose anything)",
            "md5_uncompressed": checksums,
        },
        "metrics_mnist_test": {
            "accuracy": evaluation.accuracy,
            "errors": int((~evaluation.correct).sum()),
            "expected_calibration_error": evaluation.ece,
            "macro_f1": evaluation.report["macro avg"]["f1-score"],
        },
        "shipped": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "reproduce": "digitscan train with the command above, then python scripts/ship_model.py RUN_DIR",
    }
    (MODEL_DIR / "model_card.json").write_text(json.dumps(card, indent=2) + "\n")
    print(f"shipped {run} -> {MODEL_DIR}: MNIST test accuracy {evaluation.accuracy:.4f}, ECE {evaluation.ece:.4f}")
    return 0


def ship_line_model(run: Path, config: dict, data_dir: str | None, note: str | None) -> int:
    """The line recogniser: re-measured on the held-apart synthetic lines (made again from
    MNIST's test digits with the run's validation seed) through ONNX Runtime."""
    from digitscan.reading.lines import LineRecogniser
    from digitscan.training import line_loop
    from digitscan.training.mnist import file_checksums, load_mnist, resolve_data_dir

    test = load_mnist("test", data_dir)
    lines, texts = line_loop.validation_lines(test.images, test.labels)
    decoded = LineRecogniser(run / "model.onnx").read_lines([line.astype("float32") for line in lines])
    exact, cer = line_loop.score_lines(texts, [d.text for d in decoded])
    checksums = {name: digest for name, (_path, digest) in file_checksums(resolve_data_dir(data_dir)).items()}
    MODEL_DIR.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(run / "model.onnx", MODEL_DIR / "lines.onnx")
    shutil.copyfile(run / "model.safetensors", MODEL_DIR / "lines.safetensors")
    # The 8-bit copy, calibrated on training lines (never the validation ones it is measured on).
    from digitscan.training.export import quantize_line_onnx

    train = load_mnist("train", data_dir)
    calibration = line_loop.make_calibration_lines(train.images, train.labels)
    quantize_line_onnx(MODEL_DIR / "lines.onnx", MODEL_DIR / "lines.int8.onnx", calibration)
    decoded8 = LineRecogniser(MODEL_DIR / "lines.int8.onnx").read_lines([line.astype("float32") for line in lines])
    exact8, cer8 = line_loop.score_lines(texts, [d.text for d in decoded8])
    # A model fine-tuned from an earlier run (--init RUN) is made by both commands, in order;
    # one fine-tuned from the shipped model (--init shipped) by the shipped card's stages,
    # then its command, then this one. Read before the card is overwritten below.
    stages = []
    init = config["train"].get("init")
    while init and (Path(init) / "config.json").is_file():
        earlier = json.loads((Path(init) / "config.json").read_text())
        stages.insert(0, {"command": earlier["command"], "train_seconds": earlier.get("train_seconds")})
        init = earlier["train"].get("init")
    if init == "shipped" and (MODEL_DIR / "lines_card.json").is_file():
        shipped = json.loads((MODEL_DIR / "lines_card.json").read_text())
        made = shipped["trained_with"]
        stages = [*shipped.get("earlier_stages", []),
                  {"command": made["command"], "train_seconds": made.get("train_seconds"),
                   "synthesiser_commit": made.get("synthesiser_commit"), "note": shipped.get("note")},
                  *stages]
    card = {
        "name": "digitscan lines",
        "architecture": config.get("model"),
        "task": "handwritten digit strings: a line of writing -> digits and number breaks (CTC)",
        "input": {"name": "line", "shape": ["batch", 1, 32, "width"], "dtype": "float32",
                  "range": [0, 1], "meaning": "ink map of the line, 0 paper, 1 ink (reading.lines.line_input)"},
        "output": {"name": "probabilities", "shape": ["batch", "width / 2", 12],
                   "symbols": "blank, digits 0-9, number break"},
        "trained_with": {
            "command": config["command"],
            "train": config["train"],
            "train_seconds": config.get("train_seconds"),
            "machine": config["machine"],
            "digitscan_version": config["digitscan_version"],
            "started": config["started"],
            "synthesiser_commit": _last_commit(REPO / "src" / "digitscan" / "training" / "lines.py"),
        },
        "data": {
            "train": f"{config['train']['lines']:,} synthetic lines of MNIST training digits (training.lines)"
                     + (f", with the digits of {', '.join(config['train']['hands'])} mixed in"
                        if config["train"].get("hands") else ""),
            "validation": f"{len(texts):,} synthetic lines of MNIST test digits, another seed",
            "md5_uncompressed": checksums,
        },
        "earlier_stages": stages,
        "note": note,
        "metrics_synthetic_validation": {"exact": exact, "cer": cer},
        "int8": {"file": "lines.int8.onnx",
                 "how": "onnxruntime static QDQ quantization of the convolutions but the first and the last "
                        "(int8 weights per channel, uint8 activations), calibrated on 256 synthetic training "
                        "lines (training.export.quantize_line_onnx); read by default where the CPU has VNNI "
                        "(DIGITSCAN_LINE_PRECISION=auto), or with DIGITSCAN_LINE_PRECISION=int8",
                 "metrics_synthetic_validation": {"exact": exact8, "cer": cer8}},
        "shipped": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "reproduce": "digitscan train with the command above, then python scripts/ship_model.py RUN_DIR",
    }
    (MODEL_DIR / "lines_card.json").write_text(json.dumps(card, indent=2) + "\n")
    print(f"shipped {run} -> {MODEL_DIR}: {exact:.2%} of held-apart synthetic lines exact, CER {cer:.4f} "
          f"(int8 copy: {exact8:.2%}, CER {cer8:.4f})")
    return 0


def _last_commit(path: Path) -> str | None:
    """The last commit that changed ``path`` (the synthesiser a line model learnt from), or
    None outside a git checkout."""
    import subprocess

    try:
        result = subprocess.run(["git", "log", "-1", "--format=%h", "--", str(path)], cwd=REPO,
                                capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return result.stdout.strip() or None


if __name__ == "__main__":
    from digitscan.errors import DigitscanError

    try:
        sys.exit(main())
    except (DigitscanError, OSError) as exc:  # a missing run or data folder: say so in a line
        print(f"ship_model: {exc}", file=sys.stderr)
        sys.exit(1)
