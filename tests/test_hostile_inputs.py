"""The hostile-input corpus (tests/hostile_corpus.py) through the API, the command line and
the server: every input gives one line of reason or a reading, never a traceback, a hang
or a 5xx, and good files in the same batch are still read (issue 10)."""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from hostile_corpus import good_files, hostile_files, write_corpus
from pictures import digit_page, tiny_pdf
from PIL import Image

from digitscan.reading.imageio import MAX_PAGES, decode_bytes, load_pages
from digitscan.reading.reader import Reader

CLI = [sys.executable, "-m", "digitscan"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return write_corpus(tmp_path_factory.mktemp("hostile"))


@pytest.fixture(scope="module")
def reader() -> Reader:
    return Reader()


def test_corpus_is_large_and_varied(corpus: list[Path]) -> None:
    assert len(corpus) >= 60
    suffixes = {path.suffix for path in corpus}
    assert {".png", ".jpg", ".tif", ".gif", ".webp", ".pdf"} <= suffixes


def test_every_hostile_file_through_the_api(corpus: list[Path], reader: Reader) -> None:
    for path in corpus:
        started = time.monotonic()
        readings = reader.read(str(path))
        assert time.monotonic() - started < 20, path.name
        assert 1 <= len(readings) <= MAX_PAGES + 1, path.name
        for reading in readings:
            assert reading.error is None or "\n" not in reading.error, path.name


def test_special_files_are_refused_by_name(corpus: list[Path]) -> None:
    folder = corpus[0].parent
    reasons = {name: next(iter(load_pages([folder / name]))).error
               for name in ("fifo.png", "zero.png", "dangling.png")}
    assert "not a regular file (a named pipe)" in reasons["fifo.png"]
    assert "not a regular file (a character device)" in reasons["zero.png"]
    assert reasons["dangling.png"] == "broken symbolic link"


@pytest.mark.parametrize("name, reason", [
    ("jpeg-lying-7000.jpg", "header claims 7000x7000 pixels"),
    ("tiff-float-nan.tif", "NaN values"),
    ("pdf-password.pdf", "password-protected"),
    ("png-bomb-100mp.png", "above the limit of 50 megapixels"),
    ("gif-animated.gif", "animated GIF"),
])
def test_reasons_name_the_problem(name: str, reason: str) -> None:
    data = dict(hostile_files())[name]
    assert reason in decode_bytes(data, name)[0].error


def test_float_tiff_in_0_1_reads_like_a_float_array(reader: Reader) -> None:
    page = digit_page("38").astype(np.float32) / 255
    tiff = decode_bytes(dict(hostile_files())["tiff-float-0-1.tif"], "f.tif")[0]
    assert tiff.error is None and int(tiff.image.max()) == 235  # the page's paper, not 1 of 255
    assert reader.read(page)[0].text == reader.read(dict(hostile_files())["tiff-float-0-1.tif"])[0].text == "38"


def test_pdf_pages_are_bounded_and_the_rest_reported() -> None:
    pages = decode_bytes(dict(hostile_files())["pdf-million-pages.pdf"], "m.pdf", max_pages=5)
    assert len(pages) == 6 and "1,000,000 pages; only the first 5" in pages[-1].error


def test_pdfium_error_does_not_leak_between_documents() -> None:
    broken = tiny_pdf().replace(b"/Kids [3 0 R] /Count 1", b"/Kids [] /Count 0")
    before = decode_bytes(broken, "a.pdf")[0].error
    assert "password" in decode_bytes(tiny_pdf(encrypted=True), "p.pdf")[0].error
    after = decode_bytes(broken, "a.pdf")[0].error
    assert after == before and "password" not in after


def test_the_command_line_reads_the_corpus_with_good_files_in_it(corpus: list[Path], tmp_path: Path) -> None:
    for name, data in good_files():
        (tmp_path / name).write_bytes(data)
    names = [str(tmp_path / "good.png"), *map(str, corpus), str(tmp_path / "good.jpg")]
    run = subprocess.run([*CLI, "read", "--json", "--", *names], capture_output=True, text=True, timeout=240)
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stderr and run.stderr == ""
    readings = [json.loads(line) for line in run.stdout.splitlines()]
    assert {r["file"] for r in readings} == set(names)
    assert readings[0]["text"] == readings[-1]["text"] == "38"
    assert all(r["error"] is None or "\n" not in r["error"] for r in readings)
    files_in_order = list(dict.fromkeys(r["file"] for r in readings))
    assert files_in_order == list(dict.fromkeys(names))


def test_empty_name_is_an_error(tmp_path: Path) -> None:
    run = subprocess.run([*CLI, "read", ""], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert run.returncode == 2 and "empty file name" in run.stderr and run.stdout == ""


def test_help_explains_leading_dash() -> None:
    run = subprocess.run([*CLI, "read", "--help"], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "COLUMNS": "200"})
    assert "digitscan read -- -scan.png" in run.stdout


def test_annotate_never_replaces_without_overwrite(tmp_path: Path) -> None:
    source = tmp_path / "in" / "form.png"
    source.parent.mkdir()
    source.write_bytes(dict(good_files())["good.png"])
    out = tmp_path / "out"
    out.mkdir()
    (out / "form.read.png").write_bytes(b"mine")

    def read(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*CLI, "read", str(source), "--annotate", str(out), *extra],
                              capture_output=True, text=True, timeout=60)

    refused = read()
    assert refused.returncode == 1 and "already exists; pass --overwrite" in refused.stderr
    assert (out / "form.read.png").read_bytes() == b"mine"
    replaced = read("--overwrite")
    assert replaced.returncode == 0 and f"annotated: {out / 'form.read.png'}" in replaced.stderr
    (out / "form.read.png").unlink()
    (out / "form.read.png").mkdir()
    folder = read("--overwrite")
    assert folder.returncode == 1 and "is a folder" in folder.stderr and "Traceback" not in folder.stderr
    (out / "form.read.png").rmdir()
    (out / "form.read.png").symlink_to(tmp_path / "elsewhere.png")
    link = read("--overwrite")
    assert link.returncode == 1 and "symbolic link" in link.stderr
    assert not (tmp_path / "elsewhere.png").exists()


def test_cli_default_page_limit_matches_the_loader() -> None:
    from digitscan import cli

    assert cli.MAX_PAGES == MAX_PAGES


@pytest.mark.parametrize("bad, error, words", [
    (None, TypeError, "source must be"), (5, TypeError, "got 5 (int)"), (3.5, TypeError, "got 3.5"),
    ([None], TypeError, "source[0] must be"), ("", ValueError, "empty path"),
    (np.array([["a", "b"]]), TypeError, "numeric image array"), ({"a": 1}, TypeError, "source must be"),
])
def test_api_argument_errors_say_what_is_accepted(reader: Reader, bad: object, error: type, words: str) -> None:
    with pytest.raises(error, match=words.replace("[", r"\[").replace("]", r"\]").replace("(", r"\(")
                       .replace(")", r"\)")):
        reader.read(bad)


def test_api_reader_arguments() -> None:
    with pytest.raises(TypeError, match="model must be"):
        Reader(model=5)
    with pytest.raises(TypeError, match="min_confidence must be a number"):
        Reader(min_confidence="0.5")
    with pytest.raises(TypeError, match=r"pages\[0\] must be a digitscan Page"):
        Reader().read_pages([None])


def test_api_takes_file_objects_pil_images_and_memoryviews(reader: Reader, tmp_path: Path) -> None:
    png = dict(good_files())["good.png"]
    path = tmp_path / "d.png"
    path.write_bytes(png)
    with open(path, "rb") as handle:
        assert reader.read(handle)[0].text == "38"
    with open(path, "rb") as handle:
        assert reader.read([handle])[0].file == str(path)
    assert reader.read(io.BytesIO(png))[0].text == "38"
    assert reader.read(Image.open(io.BytesIO(png)))[0].text == "38"
    assert reader.read(memoryview(png))[0].text == "38"
    with open(path) as text_handle, pytest.raises(TypeError, match="text mode"):
        reader.read(text_handle)


def test_array_with_nan_says_so(reader: Reader) -> None:
    page = digit_page("38").astype(np.float64) / 255
    page[3, 3] = np.nan
    assert "NaN" in reader.read(page)[0].error


def test_overwrite_refuses_a_folder_that_is_not_a_run(tmp_path: Path) -> None:
    from digitscan.errors import DigitscanError
    from digitscan.training.config import TrainConfig
    from digitscan.training.rundir import prepare_run_dir

    (tmp_path / "notes.txt").write_text("precious")
    with pytest.raises(DigitscanError, match="not a digitscan run"):
        prepare_run_dir(tmp_path, TrainConfig(), resume=False, overwrite=True)
    assert (tmp_path / "notes.txt").read_text() == "precious"


# ---- the server ---------------------------------------------------------------------------


def _server():
    pytest.importorskip("fastapi")
    from test_server_api import running

    return running


def test_every_hostile_file_through_the_server(corpus: list[Path]) -> None:
    import httpx

    from digitscan.service.app import create_app

    with _server()(create_app()) as url, httpx.Client(base_url=url, timeout=60) as http:
        for path in corpus:
            if not path.is_file():
                continue
            response = http.post("/v1/read", content=path.read_bytes())
            assert response.status_code < 500, (path.name, response.text)
            answer = response.json()
            if response.status_code >= 400:
                assert "\n" not in answer["detail"], path.name
        for name, data in good_files():
            assert http.post("/v1/read", content=data).json()["text"] == "38", name
        started = time.monotonic()
        million = http.post("/v1/read", content=dict(hostile_files())["pdf-million-pages.pdf"])
        assert million.status_code == 422 and time.monotonic() - started < 20  # no page could be read


def test_server_is_busy_rather_than_overloaded() -> None:
    import httpx

    from digitscan.service.app import create_app

    bomb = dict(hostile_files())["png-bomb-49mp.png"]
    app = create_app(max_work_pixels=1, queue_seconds=0.0)
    with _server()(app) as url:
        import concurrent.futures

        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(lambda _: httpx.post(url + "/v1/read", content=bomb, timeout=60), range(4)))
    codes = sorted(a.status_code for a in answers)
    assert 503 in codes and all(code in (422, 503) for code in codes), codes
    busy = next(a for a in answers if a.status_code == 503)
    assert busy.headers["retry-after"] == "2"


def test_slow_body_and_slow_headers_are_cut_off(monkeypatch: pytest.MonkeyPatch) -> None:
    from digitscan.service import app as service

    monkeypatch.setattr(service, "HEADER_SECONDS", 1.0)
    application = service.create_app(body_seconds=1.0)
    with _server()(application) as url:
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as short_body:
            short_body.sendall(b"POST /v1/read HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n12345")
            assert b" 408 " in short_body.recv(4096).split(b"\r\n")[0] + b" "
        with socket.create_connection(("127.0.0.1", port), timeout=10) as loris:
            loris.sendall(b"POST /v1/read HTTP/1.1\r\nHost: x\r\n")
            started = time.monotonic()
            assert loris.recv(4096) == b""  # closed by the server
            assert time.monotonic() - started < 5
