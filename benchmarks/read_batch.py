"""How fast `digitscan read` gets through many files: --jobs 1 and 2, and Ray (issue 12).

    python benchmarks/read_batch.py [--crops 20000] [--pages 500] [--no-ray] [--data-dir DIR]

Makes, in a temporary folder, a folder of single-digit crops (MNIST test digits as 28x28
PNGs, dark on light as scanned) and one of one-megapixel pages (the simulator's photos with
20 digits, as JPEG), then times each command in a fresh process, start-up included:

1. ``digitscan read FOLDER --json --out FILE --jobs 1`` and ``--jobs 2``: files/s and
   their ratio (target >= 1.7x on 2 cores);
2. ``digitscan read FOLDER --ray --out DIR`` on a local Ray instance: files/s and its
   overhead against --jobs 2 (aim <= 15%), with Ray's start-up shown apart;
3. CPU seconds of all the run's processes, which say what parallelism costs even when
   other work takes the cores; memory: peak RSS of all the run's processes together and of
   the largest one (sampled from /proc, and os.wait4's rusage), for 1,000 crops and for all.

The machine's load average is printed first: figures on a busy machine are low.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from digitscan.training.mnist import load_mnist
from digitscan.training.simulate import simulate_scan

DIGITSCAN = [sys.executable, "-m", "digitscan.cli"]
# Ray on this machine, timed apart from reading: the driver starts Ray, then reads.
RAY_DRIVER = """
import sys, time
started = time.perf_counter()
import ray
ray.init(include_dashboard=False, log_to_driver=False, logging_level="ERROR", _node_ip_address="127.0.0.1")
ready = time.perf_counter()
from digitscan.reading.cluster import read_on_ray
summary = read_on_ray([sys.argv[1]], sys.argv[2])
print(f"{ready - started:.2f} {time.perf_counter() - ready:.2f} {summary.files}")
ray.shutdown()
"""


def make_crops(folder: Path, count: int, digits: np.ndarray) -> None:
    folder.mkdir(parents=True)
    for index in range(count):
        # Folders of 1,000, as an archive would be split.
        sub = folder / f"{index // 1000:03d}"
        sub.mkdir(exist_ok=True)
        cv2.imwrite(str(sub / f"{index:06d}.png"), 255 - digits[index % len(digits)])


def make_pages(folder: Path, count: int, split: object) -> None:
    folder.mkdir(parents=True)
    for index in range(count):
        scan = simulate_scan("photo", index, split, lines=(4, 4), numbers_per_line=(1, 1),
                             digits_per_number=(5, 5), digit_height=(48, 48))
        page = np.full((1000, 1000, 3), scan.image[2, 2], np.uint8)
        h, w = min(scan.image.shape[0], 1000), min(scan.image.shape[1], 1000)
        page[:h, :w] = scan.image[:h, :w]
        Image.fromarray(page).save(folder / f"page{index:04d}.jpg", quality=90)


def _tree(root: int) -> dict[int, tuple[int, float]]:
    """Resident bytes and CPU seconds so far of ``root`` and every process below it (/proc)."""
    parents: dict[int, int] = {}
    usage: dict[int, tuple[int, float]] = {}
    page, tick = os.sysconf("SC_PAGE_SIZE"), os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry)] = int(fields[1])
        usage[int(entry)] = (int(fields[21]) * page, (int(fields[11]) + int(fields[12])) / tick)
    family, grew = {root}, True
    while grew:
        more = {pid for pid, parent in parents.items() if parent in family} - family
        family |= more
        grew = bool(more)
    return {pid: usage[pid] for pid in family if pid in usage}


@dataclass
class Run:
    seconds: float
    stdout: str
    largest: int  # peak RSS of the largest process, bytes
    together: int  # peak RSS of all the run's processes at one time, bytes
    cpu: float  # CPU seconds of all of them (sampled: a process's last 0.2 s may be missed)


def timed(command: list[str]) -> Run:
    """Run ``command``, sampling its processes every 0.2 s. The largest process's peak is
    also taken from os.wait4's rusage (the command and the children it waited for)."""
    with tempfile.TemporaryFile("w+") as stdout, tempfile.TemporaryFile("w+") as stderr:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=stdout, stderr=stderr, text=True)
        together, largest, cpu, done = 0, 0, {}, threading.Event()

        def sample() -> None:
            nonlocal together, largest
            while not done.wait(0.2):
                tree = _tree(process.pid)
                together = max(together, sum(rss for rss, _ in tree.values()))
                largest = max([largest, *(rss for rss, _ in tree.values())])
                cpu.update({pid: seconds for pid, (_, seconds) in tree.items()})

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        done.set()
        sampler.join()
        stdout.seek(0)
        stderr.seek(0)
        if os.waitstatus_to_exitcode(status) not in (0, 1):
            raise SystemExit(f"{' '.join(command)} failed:\n{stderr.read()[-3000:]}")
        cpu_seconds = max(sum(cpu.values()), usage.ru_utime + usage.ru_stime)
        return Run(seconds, stdout.read(), max(largest, usage.ru_maxrss * 1024), together, cpu_seconds)


def read_jobs(folder: Path, out: Path, jobs: int) -> Run:
    if out.exists():
        out.unlink()
    return timed([*DIGITSCAN, "read", str(folder), "--json", "--out", str(out), "--jobs", str(jobs)])


def read_ray(folder: Path, out: Path) -> tuple[Run, float, float]:
    shutil.rmtree(out, ignore_errors=True)
    run = timed([sys.executable, "-c", RAY_DRIVER, str(folder), str(out)])
    start_up, reading, _ = run.stdout.split()
    return run, float(start_up), float(reading)


def mb(size: int) -> str:
    return f"{size / 1e6:,.0f} MB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--crops", type=int, default=20_000, help="single-digit crops to read (default 20,000)")
    parser.add_argument("--pages", type=int, default=500, help="one-megapixel pages to read (default 500)")
    parser.add_argument("--no-ray", action="store_true", help="leave out the Ray runs")
    parser.add_argument("--data-dir", default=None, help="MNIST folder (default: $DIGITSCAN_DATA)")
    args = parser.parse_args()

    load = os.getloadavg()
    print(f"machine: {len(os.sched_getaffinity(0))} cores available, load average {load[0]:.2f} {load[1]:.2f} "
          f"{load[2]:.2f} (above 0 means other work shares the cores: figures are then low)")
    test = load_mnist("test", data_dir=args.data_dir)
    with tempfile.TemporaryDirectory(prefix="digitscan-batch-") as temp:
        root = Path(temp)
        started = time.perf_counter()
        make_crops(root / "crops", args.crops, test.images)
        make_crops(root / "crops-1k", min(1000, args.crops), test.images)
        make_pages(root / "pages", args.pages, test)
        print(f"made {args.crops:,} crops and {args.pages:,} pages in {time.perf_counter() - started:.1f} s\n")

        print(f"{'folder':<18}{'how':<15}{'seconds':>8}{'files/s':>9}{'CPU s':>7}{'RSS all':>9}{'largest':>9}   notes")

        def row(name: str, how: str, run: Run, count: int, note: str = "") -> None:
            print(f"{name:<18}{how:<15}{run.seconds:>8.1f}{count / run.seconds:>9.1f}{run.cpu:>7.1f}"
                  f"{mb(run.together):>9}{mb(run.largest):>9}   {note}")

        runs = {}
        for name, count in (("crops", args.crops), ("pages", args.pages)):
            folder, label = root / name, f"{name} ({count:,})"
            for jobs in (1, 2):
                runs[(name, jobs)] = run = read_jobs(folder, root / f"{name}-{jobs}.jsonl", jobs)
                note = ""
                if jobs == 2:
                    one = runs[(name, 1)]
                    note = (f"{one.seconds / run.seconds:.2f}x --jobs 1 (target >= 1.7x); "
                            f"CPU per file {run.cpu / one.cpu:.2f}x --jobs 1's")
                row(label, f"--jobs {jobs}", run, count, note)
            if not args.no_ray:
                run, start_up, reading = read_ray(folder, root / f"{name}-ray")
                two = runs[(name, 2)]
                row(label, "--ray (local)", run, count,
                    f"{run.seconds / two.seconds - 1:+.0%} time against --jobs 2 (aim <= 15%); Ray start-up "
                    f"{start_up:.1f} s, then {count / reading:.1f} files/s; CPU {run.cpu / two.cpu:.2f}x --jobs 2's")
        small = read_jobs(root / "crops-1k", root / "crops-1k.jsonl", 2)
        full = runs[("crops", 2)]
        print(f"\nmemory, --jobs 2, all processes together: {min(1000, args.crops):,} crops {mb(small.together)}, "
              f"{args.crops:,} crops {mb(full.together)} (largest process {mb(small.largest)}, {mb(full.largest)})")
        load = os.getloadavg()
        print(f"load average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()
