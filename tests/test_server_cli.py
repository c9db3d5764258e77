"""`digitscan serve` as a user starts it: a real process, two workers, then stopped."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytest.importorskip("fastapi")

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_serve_with_two_workers_reads_and_stops_cleanly() -> None:
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "digitscan", "serve", "--port", str(port), "--workers", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert server.poll() is None, server.stdout.read() if server.stdout else ""
            assert time.monotonic() < deadline, "digitscan serve did not answer within 30 s"
            time.sleep(0.2)
        with httpx.Client(base_url=url, timeout=30) as http:
            answers = [http.post("/v1/read", content=(EXAMPLES / "clean.png").read_bytes()).json()
                       for _ in range(4)]
            assert all(a["text"] and a["error"] is None for a in answers)
            assert len({a["text"] for a in answers}) == 1  # whichever worker answers, the same reading
            assert http.get("/v1/model").json()["architecture"]["name"] == "default"
    finally:
        server.send_signal(signal.SIGINT)
        output, _ = server.communicate(timeout=20)
    assert server.returncode == 0
    assert f"http://127.0.0.1:{port}/" in output


@pytest.mark.parametrize(
    ("arguments", "message"),
    [(["--model", "/no/such/model.onnx"], "no such model"), (["--port", "0"], "--port must be")],
)
def test_serve_refuses_bad_options_in_one_line(arguments: list[str], message: str) -> None:
    finished = subprocess.run([sys.executable, "-m", "digitscan", "serve", *arguments],
                              capture_output=True, text=True, timeout=60)
    assert finished.returncode == 2
    assert message in finished.stderr + finished.stdout
    assert "Traceback" not in finished.stderr
