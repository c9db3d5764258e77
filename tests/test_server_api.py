"""The HTTP API against a real uvicorn server on a free port of 127.0.0.1."""

from __future__ import annotations

import io
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

pytest.importorskip("fastapi")

import uvicorn  # noqa: E402

from digitscan.service.app import create_app, server_config  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def running(app) -> Iterator[str]:
    """``app`` served by uvicorn on a free port of 127.0.0.1 in a background thread."""
    port = _free_port()
    server = uvicorn.Server(server_config(app, host="127.0.0.1", port=port, log_level="critical"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    with running(create_app(max_upload_bytes=2 * 1024 * 1024)) as url:
        yield url


@pytest.fixture(scope="module")
def client(server_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server_url, timeout=30) as http:
        yield http


def _expected_text(name: str) -> str:
    for line in (EXAMPLES / "labels.csv").read_text().splitlines()[1:]:
        file, _condition, text = line.split(",")
        if file == name:
            return text.replace("|", "\n")
    raise KeyError(name)


def test_health_and_model_card(client: httpx.Client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    card = client.get("/v1/model").json()
    assert card["architecture"]["name"] == "default"
    assert card["metrics_mnist_test"]["accuracy"] > 0.99


def test_read_multipart_multi_digit_image(client: httpx.Client) -> None:
    with open(EXAMPLES / "clean.png", "rb") as handle:
        response = client.post("/v1/read", files={"file": ("clean.png", handle, "image/png")})
    assert response.status_code == 200
    reading = response.json()
    assert reading["text"] == _expected_text("clean.png")
    assert reading["error"] is None and reading["file"] == "clean.png"
    assert set(reading) == {"file", "page", "width", "height", "text", "lines", "digits", "error"}
    digit = reading["digits"][0]
    assert set(digit) == {"digit", "confidence", "unsure", "box", "top"}
    assert len(digit["top"]) == 3 and digit["top"][0][0] == digit["digit"]


def test_read_raw_body_with_layout_and_inputs(client: httpx.Client) -> None:
    body = (EXAMPLES / "photo.png").read_bytes()
    response = client.post("/v1/read?layout=line&inputs=true", content=body,
                           headers={"content-type": "image/png"})
    assert response.status_code == 200
    reading = response.json()
    assert reading["text"] == _expected_text("photo.png")
    assert all(d["network_input"].startswith("data:image/png;base64,") for d in reading["digits"])


def test_single_digit_crop(client: httpx.Client, real_scans_dir: Path) -> None:
    rows = (real_scans_dir / "optdigits" / "labels.csv").read_text().splitlines()[1:6]
    for row in rows:
        name, label = row.split(",")
        body = (real_scans_dir / "optdigits" / "images" / name).read_bytes()
        reading = client.post("/v1/read?layout=digit", content=body).json()
        assert reading["text"] == label


@pytest.mark.parametrize(
    ("body", "query", "status", "fragment"),
    [
        (b"just some text, not a picture", "", 415, "not an image"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "", 422, "0x0 pixels"),
        (b"", "", 400, "empty upload"),
        (b"x" * (3 * 1024 * 1024), "", 413, "above the limit"),
        (None, "?layout=sideways", 422, "unknown layout"),
    ],
)
def test_bad_requests_get_json_reasons(client: httpx.Client, body, query: str, status: int, fragment: str) -> None:
    content = (EXAMPLES / "clean.png").read_bytes() if body is None else body
    response = client.post(f"/v1/read{query}", content=content)
    assert response.status_code == status
    assert fragment in response.json()["detail"]
    # ...and the server keeps answering.
    assert client.get("/healthz").status_code == 200


def test_huge_image_is_refused(client: httpx.Client) -> None:
    import struct
    import zlib

    # A valid PNG header claiming 20000x20000 pixels: refused before decoding.
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = chunk(b"IHDR", struct.pack(">IIBBBBB", 20000, 20000, 8, 0, 0, 0, 0))
    body = b"\x89PNG\r\n\x1a\n" + header + chunk(b"IDAT", zlib.compress(b"\x00" * 1000)) + chunk(b"IEND", b"")
    response = client.post("/v1/read", content=body)
    assert response.status_code == 413
    assert "megapixels" in response.json()["detail"]


def test_bad_query_parameter_is_one_sentence(client: httpx.Client) -> None:
    response = client.post("/v1/read?inputs=perhaps", content=(EXAMPLES / "clean.png").read_bytes())
    assert response.status_code == 422
    assert response.json()["detail"].startswith("inputs: ")


def test_chunked_upload_without_length_is_cut_off(client: httpx.Client) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(48):  # 3 MB in 64 KB pieces, no Content-Length: the limit is 2 MB
            yield b"\xff" * 65536

    response = client.post("/v1/read", content=chunks())
    assert response.status_code == 413 and "above the limit" in response.json()["detail"]
    assert client.get("/healthz").status_code == 200


def test_multi_page_tiff_gives_a_list(client: httpx.Client) -> None:
    from PIL import Image

    pages = [Image.open(EXAMPLES / name).convert("L") for name in ("clean.png", "photo.png")]
    tiff = io.BytesIO()
    pages[0].save(tiff, format="TIFF", save_all=True, append_images=pages[1:])
    response = client.post("/v1/read", files={"file": ("two-pages.tif", tiff.getvalue(), "image/tiff")})
    assert response.status_code == 200
    readings = response.json()
    assert [r["page"] for r in readings] == [1, 2]
    assert [r["text"] for r in readings] == [_expected_text("clean.png"), _expected_text("photo.png")]
    assert all(r["file"] == "two-pages.tif" for r in readings)


def test_unexpected_failure_is_json_500_and_server_lives_on() -> None:
    from digitscan.reading.reader import Reader

    class BrokenReader(Reader):
        def read_pages(self, pages, layout="auto"):
            raise RuntimeError("simulated fault")

    with running(create_app(reader=BrokenReader())) as url, httpx.Client(base_url=url, timeout=30) as http:
        response = http.post("/v1/read", content=(EXAMPLES / "clean.png").read_bytes())
        assert response.status_code == 500
        # The cause stays in the server's log; the client gets an id to quote.
        assert response.json()["detail"].startswith("internal error (request id ")
        assert "simulated fault" not in response.json()["detail"]
        assert http.get("/healthz").json() == {"status": "ok"}


def test_multipart_without_file_field(client: httpx.Client) -> None:
    response = client.post("/v1/read", files={"picture": ("a.png", b"123", "image/png")})
    assert response.status_code == 400 and "'file'" in response.json()["detail"]


def test_openapi_schema_is_typed(client: httpx.Client) -> None:
    schema = client.get("/openapi.json").json()
    assert {"/v1/read", "/v1/model", "/healthz"} <= set(schema["paths"])
    assert {"ReadingOut", "DigitOut", "LineOut"} <= set(schema["components"]["schemas"])
    read = schema["paths"]["/v1/read"]["post"]
    assert "multipart/form-data" in read["requestBody"]["content"]
    assert {"layout", "inputs"} <= {parameter["name"] for parameter in read["parameters"]}
    assert {"200", "413", "415", "422"} <= set(read["responses"])
    assert client.get("/docs").status_code == 200


def test_page_is_self_contained(client: httpx.Client) -> None:
    page = client.get("/").text
    assert "<canvas" in page and 'capture="environment"' in page
    for asset in ("/static/app.js", "/static/style.css"):
        text = client.get(asset).text
        assert "http://" not in text and "https://" not in text
    assert "http://" not in page and "https://" not in page


def test_concurrent_reads_share_one_model(client: httpx.Client, server_url: str) -> None:
    body = (EXAMPLES / "photo.png").read_bytes()
    results: list[str] = []

    def one() -> None:
        with httpx.Client(base_url=server_url, timeout=30) as own:
            results.append(json.loads(own.post("/v1/read", content=body).text)["text"])

    threads = [threading.Thread(target=one) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [_expected_text("photo.png")] * 8
