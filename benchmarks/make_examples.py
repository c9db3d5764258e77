"""Write the fixed sample of simulated scans in examples/ (and three in the package).

    python benchmarks/make_examples.py [--data-dir ../shared/data]

Deterministic: the same seeds give the same pictures, so re-running changes nothing.
"""

from __future__ import annotations

import argparse
import io
import shutil
from pathlib import Path

from PIL import Image

from digitscan.files import write_bytes, write_text
from digitscan.training.mnist import load_mnist
from digitscan.training.simulate import simulate_scan

REPO = Path(__file__).resolve().parents[1]
# (condition, seed): one of each kind of page a user may bring.
SAMPLES = [("clean", 101), ("blue_pen", 102), ("pencil", 103), ("photo", 104),
           ("ruled", 105), ("form_boxes", 106), ("touching", 107), ("hard", 108)]
BUNDLED = ("clean", "photo", "form_boxes")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=str(REPO.parent / "shared" / "data"))
    args = parser.parse_args()
    digits = load_mnist("test", args.data_dir, download=False)
    rows = ["file,condition,text"]
    for condition, seed in SAMPLES:
        scan = simulate_scan(condition, seed, digits, lines=(1, 2), digit_height=(30, 44))
        name = f"{condition}.png"
        buffer = io.BytesIO()
        Image.fromarray(scan.image).save(buffer, format="PNG", optimize=True)
        write_bytes(REPO / "examples" / name, buffer.getvalue())
        text = scan.text.replace("\n", "|")
        rows.append(f"{name},{condition},{text}")
        if condition in BUNDLED:
            shutil.copyfile(REPO / "examples" / name, REPO / "src/digitscan/examples" / name)
        print(f"{name:16s} {text}")
    labels = "\n".join(rows) + "\n"
    write_text(REPO / "examples" / "labels.csv", labels)
    # The lines of a page are separated by "|" in labels.csv.
    write_text(REPO / "src/digitscan/examples" / "labels.csv", "\n".join(
        [rows[0]] + [r for r in rows[1:] if r.split(",")[1] in BUNDLED]) + "\n")


if __name__ == "__main__":
    main()
