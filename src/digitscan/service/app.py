"""The HTTP service: a web page to draw or upload digits, over a small JSON API.

    digitscan serve --port 8000        # then open http://127.0.0.1:8000/

``POST /v1/read`` takes an image (multipart field ``file``, or the raw request body) and
answers the same JSON as ``digitscan read --json`` — one object, or a list for a
multi-page input. ``GET /v1/model`` gives the model card, ``GET /healthz`` says the service
is up; the OpenAPI schema is at ``/openapi.json`` and its pages at ``/docs`` and ``/redoc``
(served from local files: they work offline). ``/model`` shows the model card as a page, and
``/examples/NAME`` serves the bundled example scans for the page's "Try an example" buttons.

One Reader (one ONNX Runtime session) serves every request; reading runs in a worker
thread so the event loop keeps accepting connections while digits are classified.

Guards against slow or hostile clients:

* Work in flight is bounded by pixels (``max_work_pixels``): a request waits up to
  ``queue_seconds`` for room, then gets 503 with ``Retry-After``. Small pictures cost
  little, so a flood of 49-megapixel bombs cannot crowd out ordinary reads or exhaust memory.
* An upload must arrive within ``body_seconds`` (else 408); request headers within
  ``HEADER_SECONDS`` and an idle keep-alive connection is closed after
  ``KEEP_ALIVE_SECONDS`` (``server_config``).
* A PDF or TIFF gives at most ``max_pages`` readings, the last one saying the rest was not read.
* An unexpected failure answers 500 "internal error" with a request id that the log's one
  line names; a client that hangs up mid-upload is one log line, not a traceback.
"""

from __future__ import annotations

import asyncio
import base64
import ctypes
import io
import logging
import os
import uuid
import warnings
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import ClientDisconnect
from uvicorn.protocols.http.h11_impl import H11Protocol

from ..errors import DigitscanError
from ..reading.imageio import MAX_PAGES, MAX_PIXELS, iter_decoded
from ..reading.reader import LAYOUTS, Reader, bundled_examples
from ..reading.results import Digit, Reading
from .model_page import model_card_html

__all__ = ["MAX_UPLOAD_BYTES", "create_app", "serve", "server_config"]

# 20 MB holds a 12-megapixel phone JPEG several times over; larger uploads are refused
# before they are read into memory.
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
STATIC_DIR = Path(__file__).parent / "static"
# Pixels being read at once in one worker process: a 49-megapixel image takes about 22
# bytes a pixel at its peak, so this keeps one process near 1.5 GB however many arrive.
MAX_WORK_PIXELS = 64_000_000
# How long a request may wait for room among the work in flight before 503, and how many
# may wait at all.
QUEUE_SECONDS = 10.0
MAX_WAITING = 64
BODY_SECONDS = 30.0
HEADER_SECONDS = 10.0
KEEP_ALIVE_SECONDS = 5
_log = logging.getLogger("digitscan.service")


class DigitOut(BaseModel):
    digit: int = Field(description="The digit read, 0-9.")
    confidence: float = Field(description="The model's probability for that digit.")
    unsure: bool = Field(description="True when the confidence is below the reader's threshold.")
    box: list[int] = Field(description="[x, y, width, height] in the input image's pixels.")
    top: list[tuple[int, float]] = Field(description="The three likeliest digits as [digit, probability].")
    network_input: str | None = Field(
        default=None, description="With ?inputs=true: the 28x28 picture the network saw, as a PNG data URL."
    )


class LineOut(BaseModel):
    text: str
    box: list[int]
    digits: list[DigitOut]


class ReadingOut(BaseModel):
    file: str
    page: int
    width: int
    height: int
    text: str = Field(description="The digits read, lines separated by newlines, numbers by spaces.")
    lines: list[LineOut]
    digits: list[DigitOut]
    error: str | None = Field(description="Why this page could not be read, or null.")


class ErrorOut(BaseModel):
    detail: str = Field(description="What was wrong, in one sentence.")


# The body is read by hand (to count bytes as they arrive), so FastAPI cannot infer it:
# described here so /docs offers a file picker and clients see both ways to send a picture.
_READ_BODY = {
    "requestBody": {
        "required": True,
        "description": "The picture (PNG, JPEG, TIFF, BMP, WebP, GIF or PDF), as the multipart "
                       "field `file` or as the whole request body.",
        "content": {
            "multipart/form-data": {
                "schema": {"type": "object", "required": ["file"],
                           "properties": {"file": {"type": "string", "format": "binary"}}},
            },
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
            "image/*": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


def create_app(model: str | os.PathLike[str] | None = None, reader: Reader | None = None,
               max_upload_bytes: int = MAX_UPLOAD_BYTES, max_work_pixels: int = MAX_WORK_PIXELS,
               queue_seconds: float = QUEUE_SECONDS, body_seconds: float = BODY_SECONDS,
               max_pages: int = MAX_PAGES) -> FastAPI:
    """The FastAPI application, with one shared Reader for ``model`` (default: shipped)."""
    _keep_memory_flat()
    budget = _WorkBudget(max_work_pixels)
    # One intra-op thread: concurrency comes from requests running side by side, and a
    # single digit is too small a job to split (measured 0.18 ms vs 0.31 ms per digit).
    shared_reader = reader or Reader(model, threads=1)
    app = FastAPI(
        # /docs and /redoc are served below from local copies of their scripts.
        docs_url=None, redoc_url=None,
        title="digitscan",
        version=_version(),
        description=(
            "Read handwritten digits from scans, photos and drawings. An empty upload gets 400. Limits: uploads up to "
            f"{max_upload_bytes // (1024 * 1024)} MB (else 413), images up to {MAX_PIXELS // 1_000_000} "
            "megapixels (else 413); something that is not an image gets 415, an image that cannot be "
            "read 422, each with a JSON `detail`."
        ),
    )
    errors: dict[int | str, dict[str, Any]] = {
        code: {"model": ErrorOut} for code in (400, 413, 415, 422, 500)
    }

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html")

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/v1/model")
    def model_card() -> dict[str, Any]:
        return shared_reader.classifier.card

    @app.get("/model", include_in_schema=False)
    def model_card_page() -> HTMLResponse:
        return HTMLResponse(model_card_html(shared_reader.classifier.card))

    examples = {path.name: path for path in bundled_examples()}

    @app.get("/examples", include_in_schema=False)
    def example_names() -> list[str]:
        return sorted(examples)

    @app.get("/examples/{name}", include_in_schema=False)
    def example(name: str) -> FileResponse:
        if name not in examples:
            raise HTTPException(404, f"no bundled example named {name!r}: there are {', '.join(sorted(examples))}")
        return FileResponse(examples[name], media_type="image/png")

    _add_offline_docs(app)

    @app.post("/v1/read", response_model=ReadingOut | list[ReadingOut], responses=errors,
              response_model_exclude_unset=True, openapi_extra=_READ_BODY,
              summary="Read the digits in a picture",
              description="One reading per page: an object, or a list for a multi-page TIFF or PDF.")
    async def read(
        request: Request,
        layout: str = Query("auto", json_schema_extra={"enum": list(LAYOUTS)},
                            description="digit: the picture is one digit; line: one row of writing; "
                                        "page: several lines; grid: a table of ruled cells (a sudoku, a form's "
                                        "boxes), read cell by cell into 'cells'; auto: digit for pictures up "
                                        "to 64x64, else page."),
        inputs: bool = Query(False, description="Include each digit's 28x28 network input as a PNG data URL."),
    ) -> Any:
        if layout not in LAYOUTS:
            raise HTTPException(422, f"unknown layout {layout!r}: expected one of {', '.join(LAYOUTS)}")
        try:
            data, name = await asyncio.wait_for(_upload(request, max_upload_bytes), body_seconds)
        except asyncio.TimeoutError:
            raise HTTPException(408, f"upload not received within {body_seconds:g} s") from None
        except ClientDisconnect:
            _log.info("client hung up during its upload to /v1/read")
            return Response(status_code=400)
        cost = _work_pixels(data)
        if not await budget.acquire(cost, queue_seconds):
            raise HTTPException(503, "busy reading other pictures; try again shortly",
                                headers={"Retry-After": "2"})
        try:
            # One trip to a worker thread for decoding and reading: each trip costs about as
            # much as classifying a digit.
            readings = await run_in_threadpool(_read_upload, shared_reader, data, name, layout, max_pages)
        except DigitscanError:
            raise
        except Exception as exc:
            # Answered here rather than by a catch-all handler: Starlette re-raises from
            # those after replying, and uvicorn then drops the connection mid-answer. The
            # details stay in the log: they can name memory sizes and source lines.
            request_id = uuid.uuid4().hex[:12]
            _log.error("request %s: reading %s failed: %s: %s", request_id, name, type(exc).__name__,
                       " ".join(str(exc).split())[:300])
            raise HTTPException(500, f"internal error (request id {request_id})") from None
        finally:
            budget.release(cost)
            if cost >= _TRIM_AFTER_PIXELS:
                _trim_memory()
        if all(r.error for r in readings):
            raise HTTPException(_status_for(readings[0].error or ""), readings[0].error)
        answers = [_reading_out(r, inputs) for r in readings]
        return answers[0] if len(answers) == 1 else answers

    @app.exception_handler(HTTPException)
    async def json_errors(_request: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    # FastAPI's own 422 lists pydantic error dicts; every error here is one sentence instead,
    # so the page and API clients can show ``detail`` as it is.
    @app.exception_handler(RequestValidationError)
    async def validation_errors(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": _validation_sentence(exc)}, status_code=422)

    @app.exception_handler(DigitscanError)
    async def reader_refusals(_request: Request, exc: DigitscanError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=422)

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


def _add_offline_docs(app: FastAPI) -> None:
    """/docs (Swagger UI) and /redoc with their scripts served from here, not a CDN, so the
    API pages work offline like the rest. fastapi-offline (the serve extra) ships them."""
    assets = _docs_assets()
    if assets is None:
        return
    app.mount("/docs-assets", StaticFiles(directory=assets), name="docs-assets")
    title = f"{app.title} — HTTP API"

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json", title=title,
            swagger_js_url="/docs-assets/swagger-ui-bundle.js", swagger_css_url="/docs-assets/swagger-ui.css",
            swagger_favicon_url="/docs-assets/favicon.png",
            # No badge fetched from the public validator: nothing leaves this machine.
            swagger_ui_parameters={"validatorUrl": None},
        )

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=app.openapi_url or "/openapi.json", title=title,
            redoc_js_url="/docs-assets/redoc.standalone.js", redoc_favicon_url="/docs-assets/favicon.png",
            with_google_fonts=False,
        )


def _docs_assets() -> Path | None:
    try:
        import fastapi_offline
    except ImportError:
        _log.warning("fastapi-offline is not installed: /docs and /redoc are off (pip install 'digitscan[serve]')")
        return None
    folder = Path(fastapi_offline.__file__).parent / "static"
    return folder if (folder / "swagger-ui-bundle.js").is_file() else None


def serve(host: str = "127.0.0.1", port: int = 8000, workers: int = 1,
          model: str | os.PathLike[str] | None = None) -> None:
    """Run the service with uvicorn (blocking)."""
    import uvicorn

    if workers > 1:
        # Each worker process loads its own model; uvicorn needs an import string for that.
        if model is not None:
            os.environ["DIGITSCAN_SERVE_MODEL"] = str(model)
        uvicorn.run("digitscan.service.app:_app_from_env", factory=True, host=host, port=port,
                    workers=workers, log_level="info", **_SERVER_LIMITS)
    else:
        uvicorn.Server(server_config(create_app(model), host, port, log_level="info")).run()


def server_config(app: Any, host: str = "127.0.0.1", port: int = 8000, **options: Any) -> Any:
    """uvicorn's configuration with digitscan's limits on slow and oversized requests."""
    import uvicorn

    return uvicorn.Config(app, host=host, port=port, **{**_SERVER_LIMITS, **options})


class _HeaderDeadlineH11(H11Protocol):
    """uvicorn's h11 protocol, closing a connection whose request headers do not arrive
    within ``HEADER_SECONDS`` (uvicorn's keep-alive timer stops at the first byte, so a
    client trickling a header a byte at a time would hold the connection for ever)."""

    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: Any) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._wait_for_headers()

    def handle_events(self) -> None:
        super().handle_events()
        if self.conn.their_state is not _h11_idle():
            self._stop_header_timer()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._wait_for_headers()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_header_timer()
        super().connection_lost(exc)

    def _wait_for_headers(self) -> None:
        self._stop_header_timer()
        self._header_timer = self.loop.call_later(HEADER_SECONDS, self._headers_too_slow)

    def _stop_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if self.conn.their_state is _h11_idle() and not self.transport.is_closing():
            self.transport.close()


def _h11_idle() -> Any:
    import h11

    return h11.IDLE


_SERVER_LIMITS: dict[str, Any] = {
    "http": _HeaderDeadlineH11,
    "timeout_keep_alive": KEEP_ALIVE_SECONDS,
    # Request line and headers above 16 kB are refused (431/400) instead of buffered.
    "h11_max_incomplete_event_size": 16 * 1024,
    "limit_concurrency": 256,
}


class _WorkBudget:
    """Pixels being read at once: a request takes its share or waits, in the event loop."""

    def __init__(self, pixels: int) -> None:
        self.total = max(int(pixels), 1)
        self.free = self.total
        self.waiting = 0
        self._changed: asyncio.Condition | None = None

    async def acquire(self, cost: int, timeout: float) -> bool:
        cost = min(cost, self.total)
        if self.free >= cost and not self.waiting:
            self.free -= cost
            return True
        if self.waiting >= MAX_WAITING:
            return False
        self._changed = self._changed or asyncio.Condition()
        self.waiting += 1
        try:
            async with self._changed:
                await asyncio.wait_for(self._changed.wait_for(lambda: self.free >= cost), timeout)
                self.free -= cost
                return True
        except asyncio.TimeoutError:
            return False
        finally:
            self.waiting -= 1

    def release(self, cost: int) -> None:
        self.free += min(cost, self.total)
        if self._changed is not None:
            asyncio.get_running_loop().create_task(self._notify())

    async def _notify(self) -> None:
        assert self._changed is not None
        async with self._changed:
            self._changed.notify_all()


# Every request costs at least this many pixels (the upload, the answer, a thread).
_LEAST_WORK_PIXELS = 250_000
_TRIM_AFTER_PIXELS = 4_000_000


def _work_pixels(data: bytes) -> int:
    """What reading ``data`` will cost, in pixels: the image's size from its header (cheap:
    nothing is decoded), or the most a PDF page may be rendered at."""
    if data[:5] == b"%PDF-":
        return MAX_PIXELS
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a bomb is refused by the reader, not here
            with Image.open(io.BytesIO(data)) as picture:
                width, height = picture.size
    except Exception:  # not an image: refused quickly by the reader
        return _LEAST_WORK_PIXELS
    return max(min(width * height, MAX_PIXELS), _LEAST_WORK_PIXELS)


def _libc() -> Any:
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc (macOS, musl): nothing to tune
        return None


def _keep_memory_flat() -> None:
    """Have glibc give large blocks back to the system: big images are allocated in
    (and freed from) their own mappings, and few arenas are kept for the worker threads,
    so memory returns to its resting size after a burst of big pictures."""
    libc = _libc()
    if libc is not None and hasattr(libc, "mallopt"):
        m_mmap_threshold, m_arena_max = -3, -8
        libc.mallopt(m_mmap_threshold, 1024 * 1024)
        libc.mallopt(m_arena_max, 2)


def _trim_memory() -> None:
    libc = _libc()
    if libc is not None and hasattr(libc, "malloc_trim"):
        libc.malloc_trim(0)


def _app_from_env() -> FastAPI:
    return create_app(os.environ.get("DIGITSCAN_SERVE_MODEL") or None)


# Multipart framing (boundaries, part headers) on top of the file itself.
_MULTIPART_OVERHEAD = 64 * 1024


async def _upload(request: Request, limit: int) -> tuple[bytes, str]:
    """The uploaded file's bytes and name, from a multipart field ``file`` or the raw body."""
    is_multipart = request.headers.get("content-type", "").startswith("multipart/form-data")
    body_limit = limit + _MULTIPART_OVERHEAD if is_multipart else limit
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > body_limit:
        raise HTTPException(413, f"upload is {int(declared):,} bytes, above the limit of {limit:,}")
    # Counted while it streams in, so a chunked upload with no Content-Length is cut off at
    # the limit too instead of being spooled whole.
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > body_limit:
            raise HTTPException(413, f"upload is above the limit of {limit:,} bytes")
    if is_multipart:
        data, name = await _multipart_file(request, bytes(body))
    else:
        data, name = bytes(body), "upload"
    if len(data) > limit:
        raise HTTPException(413, f"upload is {len(data):,} bytes, above the limit of {limit:,}")
    if not data:
        raise HTTPException(400, "empty upload: send an image as the body or as the multipart field 'file'")
    return data, name


async def _multipart_file(request: Request, body: bytes) -> tuple[bytes, str]:
    async def once() -> AsyncIterator[bytes]:
        yield body

    try:
        form = await MultiPartParser(request.headers, once(), max_files=4, max_fields=16).parse()
    except MultiPartException as exc:
        raise HTTPException(400, f"malformed multipart upload: {exc.message}") from None
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise HTTPException(400, "multipart upload has no file field named 'file'")
        return await upload.read(), upload.filename or "upload"
    finally:
        await form.close()


def _validation_sentence(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(step) for step in error.get("loc", ()) if step not in ("query", "body"))
        parts.append(f"{where}: {error.get('msg', 'invalid')}" if where else str(error.get("msg", "invalid")))
    return "; ".join(parts) or "invalid request"


def _read_upload(reader: Reader, data: bytes, name: str, layout: str, max_pages: int) -> list[Reading]:
    return reader.read_pages(iter_decoded(data, name, max_pages), layout)


def _status_for(error: str) -> int:
    if "above the limit" in error and ("megapixels" in error or " MB" in error):
        return 413
    if error.startswith("not an image"):
        return 415
    return 422


def _reading_out(reading: Reading, inputs: bool) -> dict[str, Any]:
    answer = reading.to_dict()
    if inputs:
        for digit_dict, digit in zip(answer["digits"], reading.digits, strict=True):
            digit_dict["network_input"] = _png_data_url(digit)
        for line_dict, line in zip(answer["lines"], reading.lines, strict=True):
            for digit_dict, digit in zip(line_dict["digits"], line.digits, strict=True):
                digit_dict["network_input"] = _png_data_url(digit)
    return answer


def _png_data_url(digit: Digit) -> str | None:
    if digit.network_input is None:
        return None
    pixels = np.clip(digit.network_input * 255 + 0.5, 0, 255).astype(np.uint8)
    ok, encoded = cv2.imencode(".png", pixels)
    return "data:image/png;base64," + base64.b64encode(encoded.tobytes()).decode() if ok else None


def _version() -> str:
    from .. import __version__

    return __version__
