"""The HTTP service: a web page to draw or upload digits, over a small JSON API.

    digitscan serve --port 8000        # then open http://127.0.0.1:8000/

``POST /v1/read`` takes an image (multipart field ``file``, or the raw request body) and
answers the same JSON as ``digitscan read --json`` — one object, or a list for a
multi-page input. ``GET /v1/model`` gives the model card, ``GET /healthz`` says the service
is up; the OpenAPI schema is at ``/openapi.json`` and its pages at ``/docs``.

One Reader (one ONNX Runtime session) serves every request; reading runs in a worker
thread so the event loop keeps accepting connections while digits are classified.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from .imageio import MAX_PIXELS, decode_bytes
from .reader import LAYOUTS, Reader
from .results import Digit, Reading

__all__ = ["MAX_UPLOAD_BYTES", "create_app", "serve"]

# 20 MB holds a 12-megapixel phone JPEG several times over; larger uploads are refused
# before they are read into memory.
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
STATIC_DIR = Path(__file__).parent / "static"


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
    detail: str


def create_app(model: str | os.PathLike[str] | None = None, reader: Reader | None = None,
               max_upload_bytes: int = MAX_UPLOAD_BYTES) -> FastAPI:
    """The FastAPI application, with one shared Reader for ``model`` (default: shipped)."""
    shared_reader = reader or Reader(model)
    app = FastAPI(
        title="digitscan",
        version=_version(),
        description=(
            "Read handwritten digits from scans, photos and drawings. Limits: uploads up to "
            f"{max_upload_bytes // (1024 * 1024)} MB (else 413), images up to {MAX_PIXELS // 1_000_000} "
            "megapixels (else 413); something that is not an image gets 415, an image that cannot be "
            "read 422, each with a JSON `detail`."
        ),
    )
    errors: dict[int | str, dict[str, Any]] = {
        code: {"model": ErrorOut} for code in (400, 413, 415, 422)
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

    @app.post("/v1/read", response_model=ReadingOut | list[ReadingOut], responses=errors,
              response_model_exclude_unset=True)
    async def read(
        request: Request,
        layout: str = Query("auto", description="auto, digit, line or page."),
        inputs: bool = Query(False, description="Include each digit's 28x28 network input as a PNG data URL."),
    ) -> Any:
        if layout not in LAYOUTS:
            raise HTTPException(422, f"unknown layout {layout!r}: expected one of {', '.join(LAYOUTS)}")
        data, name = await _upload(request, max_upload_bytes)
        pages = await run_in_threadpool(decode_bytes, data, name)
        readings = await run_in_threadpool(shared_reader.read_pages, pages, layout)
        if all(r.error for r in readings):
            raise HTTPException(_status_for(readings[0].error or ""), readings[0].error)
        answers = [_reading_out(r, inputs) for r in readings]
        return answers[0] if len(answers) == 1 else answers

    @app.exception_handler(HTTPException)
    async def json_errors(_request: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


def serve(host: str = "127.0.0.1", port: int = 8000, workers: int = 1,
          model: str | os.PathLike[str] | None = None) -> None:
    """Run the service with uvicorn (blocking)."""
    import uvicorn

    if workers > 1:
        # Each worker process loads its own model; uvicorn needs an import string for that.
        if model is not None:
            os.environ["DIGITSCAN_SERVE_MODEL"] = str(model)
        uvicorn.run("digitscan.server:_app_from_env", factory=True, host=host, port=port,
                    workers=workers, log_level="info")
    else:
        uvicorn.run(create_app(model), host=host, port=port, log_level="info")


def _app_from_env() -> FastAPI:
    return create_app(os.environ.get("DIGITSCAN_SERVE_MODEL") or None)


async def _upload(request: Request, limit: int) -> tuple[bytes, str]:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + 64 * 1024:
        raise HTTPException(413, f"upload is {int(declared):,} bytes, above the limit of {limit:,}")
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        form = await request.form()
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise HTTPException(400, "multipart upload has no file field named 'file'")
        data = await upload.read(limit + 1)
        name = upload.filename or "upload"
    else:
        data = bytearray()
        async for chunk in request.stream():
            data += chunk
            if len(data) > limit:
                break
        data = bytes(data)
        name = "upload"
    if len(data) > limit:
        raise HTTPException(413, f"upload is above the limit of {limit:,} bytes")
    if not data:
        raise HTTPException(400, "empty upload: send an image as the body or as the multipart field 'file'")
    return data, name


def _status_for(error: str) -> int:
    if "above the limit" in error and "megapixels" in error:
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
    from . import __version__

    return __version__
