"""Loading the pictures a user hands us: files, folders, PDF pages and standard input.

Every input becomes one or more ``Page`` objects: a uint8 array (grey (H, W) or RGB
(H, W, 3)) or, when it cannot be read, an ``error`` that says why in one line. Nothing here
raises for a bad picture, so one broken file never stops a batch.

Decisions a user may want to know:

* Images above ``MAX_PIXELS`` (50 megapixels, four times a 12-megapixel phone photo) are
  refused before they are decoded: a tiny file can claim to be 20000x20000 and exhaust
  memory (a "decompression bomb").
* An animated GIF is refused rather than silently reduced to its first frame; a still GIF
  (one frame) is read. Multi-page TIFFs and PDFs give one page each.
* PDF pages are rendered at ``PDF_DPI`` (200 dpi: a digit written 5 mm high is then about
  40 pixels tall, comfortably above the 20 pixels the classifier sees). Needs pypdfium2
  (``pip install 'digitscan[read-pdf]'``).
* Transparency is flattened onto white paper; 16-bit images are scaled to 8 bits; JPEG,
  TIFF and WebP EXIF orientation is honoured.

>>> pages = list(load_pages(["scan.png"]))           # doctest: +SKIP
>>> pages[0].image.shape, pages[0].error
((1200, 900), None)
"""

from __future__ import annotations

import io
import os
import sys
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "IMAGE_SUFFIXES",
    "MAX_PIXELS",
    "MIN_SIDE",
    "PDF_DPI",
    "Page",
    "decode_bytes",
    "list_inputs",
    "load_pages",
]

MAX_PIXELS = 50_000_000
# A digit needs a few pixels of height to be told apart from a speck; Semeion's 16x16 crops
# are the smallest real scans we know of, so 8 pixels leaves room below them.
MIN_SIDE = 8
PDF_DPI = 200
IMAGE_SUFFIXES = frozenset(
    {".png", ".jpg", ".jpeg", ".jpe", ".tif", ".tiff", ".bmp", ".dib", ".webp", ".gif", ".pdf",
     ".pgm", ".ppm", ".pbm", ".pnm"}
)


@dataclass(frozen=True)
class Page:
    """One picture to read: ``file`` as the user named it, ``page`` counted from 1."""

    file: str
    page: int
    image: np.ndarray | None
    error: str | None = None


def list_inputs(inputs: Iterable[str | os.PathLike[str]]) -> list[str]:
    """Expand folders (recursively, sorted) into the image files inside them.

    A folder with no images stays in the list as itself, so that ``load_pages`` reports it.
    """
    expanded: list[str] = []
    for item in inputs:
        name = os.fspath(item)
        path = Path(name)
        if name != "-" and path.is_dir():
            found = sorted(
                str(p) for p in path.rglob("*")
                if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
            )
            expanded.extend(found or [name])
        else:
            expanded.append(name)
    return expanded


def load_pages(inputs: Iterable[str | os.PathLike[str] | bytes]) -> Iterator[Page]:
    """Yield the pages of every input in order: paths, folders, ``"-"`` (stdin) or bytes."""
    for item in inputs:
        if isinstance(item, bytes | bytearray):
            yield from decode_bytes(bytes(item), "<bytes>")
            continue
        for name in list_inputs([item]):
            yield from _load_one(name)


def decode_bytes(data: bytes, name: str) -> list[Page]:
    """Decode the bytes of one image or PDF file into its pages (errors included)."""
    if not data:
        return [_failed(name, "empty file (0 bytes)")]
    if data[:5] == b"%PDF-":
        return _decode_pdf(data, name)
    return _decode_image(data, name)


# --- private helpers -------------------------------------------------------------------


def _failed(name: str, reason: str, page: int = 1) -> Page:
    return Page(file=name, page=page, image=None, error=reason)


def _load_one(name: str) -> list[Page]:
    if name == "-":
        return decode_bytes(sys.stdin.buffer.read(), "-")
    path = Path(name)
    if path.is_dir():
        return [_failed(name, "directory holds no images (looked for " + _suffix_list() + ")")]
    if not path.exists():
        return [_failed(name, "no such file")]
    try:
        data = path.read_bytes()
    except OSError as exc:
        return [_failed(name, f"cannot read the file ({exc.strerror})")]
    return decode_bytes(data, name)


def _suffix_list() -> str:
    return ", ".join(sorted({s.lstrip(".") for s in IMAGE_SUFFIXES} - {"jpe", "dib", "ppm", "pbm", "pnm"}))


def _decode_image(data: bytes, name: str) -> list[Page]:
    from PIL import Image, ImageOps, UnidentifiedImageError

    # PIL warns above MAX_IMAGE_PIXELS and refuses above twice that; we refuse at our limit.
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PIL's notes on odd but readable files
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            picture = Image.open(io.BytesIO(data))
        except UnidentifiedImageError:
            return [_failed(name, _unidentified_reason(data))]
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            return [_failed(name, _too_big_message(None))]
        except Exception as exc:  # PIL's plugins raise many types for bad headers
            return [_failed(name, f"not a readable image ({_short(exc)})")]
        width, height = picture.size
        if width * height > MAX_PIXELS:
            return [_failed(name, _too_big_message(picture.size))]
        frames = getattr(picture, "n_frames", 1)
        if picture.format == "GIF" and frames > 1:
            return [_failed(
                name, f"animated GIF ({frames} frames): save the frame to read as PNG"
            )]
        count = frames if picture.format == "TIFF" else 1
        pages: list[Page] = []
        for index in range(count):
            try:
                picture.seek(index)
                frame = ImageOps.exif_transpose(picture) or picture
                pages.append(Page(name, index + 1, _to_array(frame)))
            except (Image.DecompressionBombError, Image.DecompressionBombWarning):
                pages.append(_failed(name, _too_big_message(picture.size), index + 1))
            except _TooSmall as exc:
                pages.append(_failed(name, str(exc), index + 1))
            except Exception as exc:  # truncated data, bad compression, bad EXIF ...
                pages.append(_failed(name, f"damaged image ({_short(exc)})", index + 1))
        return pages


class _TooSmall(ValueError):
    pass


def _to_array(picture: object) -> np.ndarray:
    """An 8-bit grey or RGB array with any transparency laid onto white paper."""
    from PIL import Image

    assert isinstance(picture, Image.Image)
    width, height = picture.size
    if min(width, height) < MIN_SIDE:
        raise _TooSmall(
            f"image is {width}x{height} pixels, too small to hold a digit "
            f"(at least {MIN_SIDE}x{MIN_SIDE})"
        )
    mode = picture.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        values = np.asarray(picture, dtype=np.float64)
        top = 65535.0 if mode.startswith("I;16") or values.max() > 255 else 255.0
        return np.clip(values * (255.0 / top), 0, 255).astype(np.uint8)
    has_alpha = mode in ("RGBA", "LA", "PA", "La", "RGBa") or (
        mode == "P" and "transparency" in picture.info
    )
    if has_alpha:
        rgba = np.asarray(picture.convert("RGBA"), dtype=np.float32)
        alpha = rgba[..., 3:] / 255.0
        rgb = rgba[..., :3] * alpha + 255.0 * (1.0 - alpha)
        return np.clip(rgb + 0.5, 0, 255).astype(np.uint8)
    if mode in ("1", "L"):
        return np.asarray(picture.convert("L"), dtype=np.uint8)
    return np.asarray(picture.convert("RGB"), dtype=np.uint8)


def _decode_pdf(data: bytes, name: str) -> list[Page]:
    try:
        import pypdfium2 as pdfium
    except ImportError:
        return [_failed(name, "reading PDFs needs pypdfium2: pip install 'digitscan[read-pdf]'")]
    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        text = str(exc).lower()
        if "password" in text:
            return [_failed(name, "password-protected PDF, cannot render")]
        return [_failed(name, f"damaged PDF ({_short(exc)})")]
    pages: list[Page] = []
    try:
        if len(document) == 0:
            return [_failed(name, "PDF has no pages")]
        for index in range(len(document)):
            number = index + 1
            try:
                page = document[index]
                width_pt, height_pt = page.get_size()
                scale = PDF_DPI / 72.0
                if width_pt * height_pt * scale * scale > MAX_PIXELS:
                    # A huge page (a poster) is shrunk to the limit instead of refused.
                    scale = (MAX_PIXELS / max(width_pt * height_pt, 1.0)) ** 0.5
                bitmap = page.render(scale=scale, grayscale=True)
                image = np.array(bitmap.to_numpy(), dtype=np.uint8)
                if image.ndim == 3:
                    image = image[..., 0] if image.shape[2] == 1 else image[..., :3]
                pages.append(Page(name, number, np.ascontiguousarray(image)))
            except Exception as exc:  # pdfium raises untyped errors for broken pages
                pages.append(_failed(name, f"page cannot be rendered ({_short(exc)})", number))
    finally:
        document.close()
    return pages


def _unidentified_reason(data: bytes) -> str:
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
        if width == 0 or height == 0:
            return f"image is {width}x{height} pixels, nothing to read"
        return "damaged PNG (header not understood)"
    known = (b"\xff\xd8", b"GIF8", b"BM", b"II*\x00", b"MM\x00*", b"RIFF")
    if data.startswith(known):
        return "damaged image (header not understood)"
    return "not an image (unknown or unsupported format)"


def _too_big_message(size: tuple[int, int] | None) -> str:
    shown = f"{size[0]}x{size[1]} pixels" if size else "too many pixels"
    return (
        f"image is {shown}, above the limit of {MAX_PIXELS // 1_000_000} megapixels "
        "(refused to guard against decompression bombs); scale it down first"
    )


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:120]
