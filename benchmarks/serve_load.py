"""Load on the HTTP service: N concurrent clients on 127.0.0.1 for a bounded time.

    python benchmarks/serve_load.py [--clients 8] [--seconds 60] [--workers 2] [--url http://127.0.0.1:PORT [--pid PID]]

Without --url it starts `digitscan serve` on a free port itself and stops it at the end;
with --url, --pid names the server process whose memory to watch.
Each request reads one 28x28-ish digit crop (an optdigits scan when ../shared is there,
else an MNIST-like drawn digit). Prints requests per second, p50/p99 latency, errors, and
the server's resident memory at the start, after warm-up and at the end (target: >= 300
reads/s and p99 <= 100 ms at 8 clients, zero errors, memory flat).

    python benchmarks/serve_load.py --mixed 0.2     # a fifth of the requests hostile

--mixed SHARE sends that share of hostile files (tests/hostile_corpus.py: bombs, lying headers,
truncated and mutated files, a million-page PDF) among the good reads; it prints the 5xx
count, the p99 of the good reads alone and memory at the end against after warm-up
(targets: zero 5xx, good p99 <= 250 ms, end memory <= 1.5x warm).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

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


def hostile_bodies() -> list[bytes]:
    """The hostile files of tests/hostile_corpus.py (generated, never downloaded)."""
    sys.path.insert(0, str(REPO / "tests"))
    from hostile_corpus import hostile_files

    return [data for _, data in hostile_files()]


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants: with --workers N, uvicorn's worker processes."""
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                queue += [int(child) for child in (task / "children").read_text().split()]
            except OSError:
                pass
    return found


def rss_mb(pid: int | None) -> float | None:
    """Resident memory of the server and its worker processes, in MB."""
    if pid is None:
        return None
    total = 0.0
    for member in process_tree(pid):
        try:
            for line in Path(f"/proc/{member}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024
        except OSError:
            continue
    return total or None


def cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU time the process has used: a cost per request that, unlike
    requests/s, does not depend on what else the machine is busy with."""
    if pid is None:
        return None
    total = 0
    for member in process_tree(pid):
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--url", default=None, help="a running server (default: start one)")
    parser.add_argument("--pid", type=int, default=None, help="with --url: the server's process id")
    parser.add_argument("--mixed", type=float, default=0.0,
                        help="share of requests that send a hostile file (0: all good)")
    parser.add_argument("--workers", type=int, default=2,
                        help="worker processes of the server it starts (one per core: the default on 2 cores)")
    args = parser.parse_args()

    process = None
    url = args.url
    if url is None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        process = subprocess.Popen(
            [sys.executable, "-m", "digitscan", "serve", "--port", str(port), "--workers", str(args.workers)],
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
    pid = process.pid if process else args.pid
    body = digit_png()
    hostile = hostile_bodies() if args.mixed > 0 else []
    memory_start = rss_mb(pid)
    with httpx.Client(base_url=url, timeout=120) as warm:
        for _ in range(50):
            warm.post("/v1/read?layout=digit", content=body)
        for data in hostile:  # every hostile file once, so warm-up memory includes them
            warm.post("/v1/read?layout=digit", content=data)
    memory_warm = rss_mb(pid)

    latencies: list[float] = []
    hostile_latencies: list[float] = []
    server_errors = 0
    errors = 0
    lock = threading.Lock()
    stop_at = time.monotonic() + args.seconds

    # The clients use the standard library's keep-alive connection rather than httpx: they
    # share the CPU with the server, and httpx spends several times more of it per request.
    target = urlsplit(url)

    def client(seed: int) -> None:
        nonlocal errors, server_errors
        rng = random.Random(seed)
        connection = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
        while time.monotonic() < stop_at:
            bad = hostile and rng.random() < args.mixed
            start = time.perf_counter()
            status = 0
            try:
                connection.request("POST", "/v1/read?layout=digit", body=rng.choice(hostile) if bad else body,
                                   headers={"Content-Type": "application/octet-stream"})
                response = connection.getresponse()
                answer = response.read()
                status = response.status
                ok = bad or (status == 200 and json.loads(answer)["error"] is None)
            except (OSError, http.client.HTTPException, ValueError, KeyError):
                ok = False
                connection.close()
                connection = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
            elapsed = time.perf_counter() - start
            with lock:
                (hostile_latencies if bad else latencies).append(elapsed)
                errors += not ok
                server_errors += status >= 500
        connection.close()

    # Memory is sampled through the run, not only at its ends, to see whether it creeps up.
    memory_samples: list[float] = []

    def watch_memory() -> None:
        while time.monotonic() < stop_at:
            sample = rss_mb(pid)
            if sample is not None:
                memory_samples.append(sample)
            time.sleep(1.0)

    load_before = os.getloadavg()[0]
    cpu_before = cpu_seconds(pid)
    began = time.monotonic()
    threads = [threading.Thread(target=client, args=(seed,)) for seed in range(args.clients)]
    threads.append(threading.Thread(target=watch_memory))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.monotonic() - began
    cpu_after = cpu_seconds(pid)
    memory_end = rss_mb(pid)
    if process:
        process.terminate()
        process.wait(timeout=10)

    cuts = statistics.quantiles(latencies, n=100)
    print(f"{args.clients} clients, {wall:.1f} s, {len(latencies) + len(hostile_latencies)} requests against {url}")
    if hostile:
        print(f"mixed: {len(hostile_latencies)} hostile requests ({len(hostile)} kinds), "
              f"{len(latencies)} good; 5xx answers {server_errors}; latencies below are the good reads' "
              f"(hostile p99 {statistics.quantiles(hostile_latencies, n=100)[98] * 1000:.0f} ms)"
              if len(hostile_latencies) > 1 else "mixed: too few hostile requests to report")
    print(f"requests/s {len(latencies) / wall:.0f}")
    print(f"latency p50 {cuts[49] * 1000:.1f} ms, p99 {cuts[98] * 1000:.1f} ms, "
          f"max {max(latencies) * 1000:.1f} ms")
    print(f"errors {errors}")
    if cpu_before is not None and cpu_after is not None and latencies:
        used = cpu_after - cpu_before
        print(f"server CPU {used / len(latencies) * 1000:.2f} ms per request "
              f"({used / wall:.2f} cores busy on average)")
    if memory_start is not None and memory_samples:
        print(f"server memory (RSS): start {memory_start:.0f} MB, after warm-up {memory_warm:.0f} MB, "
              f"during the run {min(memory_samples):.0f}-{max(memory_samples):.0f} MB, "
              f"end {memory_end:.0f} MB")
        if memory_warm and memory_end:
            print(f"server memory end / after warm-up: {memory_end / memory_warm:.2f}x")
    print(f"note: clients and server share this machine's {os.cpu_count()} CPU cores; "
          f"1-minute load average before the run {load_before:.1f}")


if __name__ == "__main__":
    main()
