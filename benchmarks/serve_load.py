"""Load on the HTTP service: N concurrent clients on 127.0.0.1 for a bounded time.

    python benchmarks/serve_load.py [--clients 8] [--seconds 60] [--url http://127.0.0.1:PORT]

Without --url it starts `digitscan serve` on a free port itself and stops it at the end.
Each request reads one 28x28-ish digit crop (an optdigits scan when ../shared is there,
else an MNIST-like drawn digit). Prints requests per second, p50/p99 latency, errors, and
the server's resident memory at the start, after warm-up and at the end (target: >= 300
reads/s and p99 <= 100 ms at 8 clients, zero errors, memory flat).
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import httpx
import numpy as np

REPO = Path(__file__).resolve().parents[1]


def digit_png() -> bytes:
    crop = REPO.parent / "shared" / "data" / "real-scans" / "optdigits" / "images" / "00002.png"
    if crop.is_file():
        return crop.read_bytes()
    image = np.full((32, 32), 255, np.uint8)
    cv2.line(image, (8, 6), (24, 6), 0, 3)
    cv2.line(image, (24, 6), (12, 27), 0, 3)
    return cv2.imencode(".png", image)[1].tobytes()


def rss_mb(pid: int | None) -> float | None:
    if pid is None:
        return None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--url", default=None)
    args = parser.parse_args()

    process = None
    url = args.url
    if url is None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        process = subprocess.Popen(
            [sys.executable, "-m", "digitscan", "serve", "--port", str(port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("server did not start")
            time.sleep(0.2)
    pid = process.pid if process else None
    body = digit_png()
    memory_start = rss_mb(pid)
    with httpx.Client(base_url=url) as warm:
        for _ in range(50):
            warm.post("/v1/read?layout=digit", content=body)
    memory_warm = rss_mb(pid)

    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    stop_at = time.monotonic() + args.seconds

    def client() -> None:
        nonlocal errors
        with httpx.Client(base_url=url, timeout=10) as http:
            while time.monotonic() < stop_at:
                start = time.perf_counter()
                try:
                    response = http.post("/v1/read?layout=digit", content=body)
                    ok = response.status_code == 200 and response.json()["error"] is None
                except httpx.HTTPError:
                    ok = False
                elapsed = time.perf_counter() - start
                with lock:
                    latencies.append(elapsed)
                    errors += not ok

    began = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(args.clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.monotonic() - began
    memory_end = rss_mb(pid)
    if process:
        process.terminate()
        process.wait(timeout=10)

    ordered = sorted(latencies)
    print(f"{args.clients} clients, {wall:.1f} s, {len(latencies)} requests against {url}")
    print(f"requests/s {len(latencies) / wall:.0f}")
    print(f"latency p50 {statistics.median(ordered) * 1000:.1f} ms, "
          f"p99 {ordered[int(len(ordered) * 0.99) - 1] * 1000:.1f} ms")
    print(f"errors {errors}")
    if pid:
        print(f"server memory (RSS): start {memory_start:.0f} MB, after warm-up {memory_warm:.0f} MB, "
              f"end {memory_end:.0f} MB")
    print("note: clients and server share this machine's CPU cores")


if __name__ == "__main__":
    main()
