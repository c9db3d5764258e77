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
* Transparency is flattened onto white paper; 16-bit images are scaled to 8 bits, float
  images in 0..1 like float arrays (``scale_to_uint8``); JPEG, TIFF and WebP EXIF
  orientation is honoured.
* Only regular files are read (a FIFO or ``/dev/zero`` would hang or never end), and at
  most ``MAX_FILE_BYTES`` of any file or of standard input.
* A PDF or TIFF gives at most ``MAX_PAGES`` pages (a 600-byte PDF can claim a million);
  the pages after the limit are reported as one error page, never read. Pages are yielded
  one at a time, so a long document is never held whole.
* A JPEG whose header claims far more pixels than its data could hold (under one bit per
  8x8 block) is refused as damaged rather than "read" as a grey expanse.

>>> pages = list(load_pages(["scan.png"]))           # doctest: +SKIP
>>> pages[0].image.shape, pages[0].error
((1200, 900), None)
"""

from __future__ import annotations

import io
import os
import stat
import sys
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "IMAGE_SUFFIXES",
    "MAX_FILE_BYTES",
    "MAX_PAGES",
    "MAX_PIXELS",
    "MIN_SIDE",
    "PDF_DPI",
    "Page",
    "decode_bytes",
    "list_inputs",
    "load_pages",
    "picture_to_array",
    "scale_to_uint8",
]

MAX_PIXELS = 50_000_000
# 200 MB holds a 300-dpi A4 page as an uncompressed 16-bit TIFF about ten times over.
MAX_FILE_BYTES = 200 * 1024 * 1024
# Pages read from one PDF or TIFF unless the caller raises it (``digitscan read --max-pages``).
MAX_PAGES = 100
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


def load_pages(inputs: Iterable[str | os.PathLike[str] | bytes],
               max_pages: int = MAX_PAGES) -> Iterator[Page]:
    """Yield the pages of every input in order: paths, folders, ``"-"`` (stdin) or bytes."""
    for item in inputs:
        if isinstance(item, bytes | bytearray):
            yield from iter_decoded(bytes(item), "<bytes>", max_pages)
            continue
        if os.fspath(item) == "":
            yield _failed("", "empty file name")
            continue
        for name in list_inputs([item]):
            yield from _load_one(name, max_pages)


def decode_bytes(data: bytes, name: str, max_pages: int = MAX_PAGES) -> list[Page]:
    """Decode the bytes of one image or PDF file into its pages (errors included)."""
    return list(iter_decoded(data, name, max_pages))


def iter_decoded(data: bytes, name: str, max_pages: int = MAX_PAGES) -> Iterator[Page]:
    """``decode_bytes`` one page at a time: a long PDF is rendered as it is read."""
    if not data:
        yield _failed(name, "empty file (0 bytes)")
    elif data[:5] == b"%PDF-":
        yield from _decode_pdf(data, name, max_pages)
    else:
        yield from _decode_image(data, name, max_pages)


def scale_to_uint8(values: np.ndarray) -> np.ndarray:
    """Grey levels of any numeric type as uint8: 0..1 (floats, or a 0/1 mask), 0..255 or
    0..65535 by the largest value. Raises ``ValueError`` for NaN or infinite values.

    >>> scale_to_uint8(np.array([[0.0, 0.5, 1.0]]))
    array([[  0, 128, 255]], dtype=uint8)
    """
    values = np.asarray(values, dtype=np.float64)
    if values.size and not np.isfinite(values).all():
        bad = "NaN" if np.isnan(values).any() else "infinite"
        raise _BadValues(f"image has {bad} values: replace them (np.nan_to_num) before reading")
    top = float(values.max()) if values.size else 0.0
    top = 1.0 if top <= 1.0 else (255.0 if top <= 255.0 else 65535.0)
    return np.clip(values * (255.0 / top) + 0.5, 0, 255).astype(np.uint8)


def picture_to_array(picture: object) -> np.ndarray:
    """A PIL image as the 8-bit grey or RGB array reading takes (transparency on white).

    Raises ``ValueError`` for a picture too small to hold a digit or with NaN values.
    """
    return _to_array(picture)


# --- private helpers -------------------------------------------------------------------


def _failed(name: str, reason: str, page: int = 1) -> Page:
    return Page(file=name, page=page, image=None, error=reason)


def _load_one(name: str, max_pages: int) -> Iterator[Page]:
    if name == "-":
        data = sys.stdin.buffer.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            yield _failed(name, _too_long_message())
        else:
            yield from iter_decoded(data, "-", max_pages)
        return
    data_or_reason = _read_regular_file(name)
    if isinstance(data_or_reason, str):
        yield _failed(name, data_or_reason)
    else:
        yield from iter_decoded(data_or_reason, name, max_pages)


def _read_regular_file(name: str) -> bytes | str:
    """The file's bytes, or why they were not read: only a regular file is opened (a FIFO
    would block, /dev/zero never ends), non-blocking in case it was swapped meanwhile."""
    try:
        status = os.stat(name)
    except FileNotFoundError:
        return "no such file" if not os.path.islink(name) else "broken symbolic link"
    except OSError as exc:
        return f"cannot read the file ({exc.strerror})"
    if stat.S_ISDIR(status.st_mode):
        return "directory holds no images (looked for " + _suffix_list() + ")"
    if not stat.S_ISREG(status.st_mode):
        return f"not a regular file ({_file_kind(status.st_mode)}): give an image or PDF file"
    if status.st_size > MAX_FILE_BYTES:
        return _too_long_message(status.st_size)
    try:
        fd = os.open(name, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        return f"cannot read the file ({exc.strerror})"
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return "not a regular file: give an image or PDF file"
        try:
            data = handle.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            return f"cannot read the file ({exc.strerror})"
    return data if len(data) <= MAX_FILE_BYTES else _too_long_message()


def _file_kind(mode: int) -> str:
    kinds = ((stat.S_ISFIFO, "a named pipe"), (stat.S_ISCHR, "a character device"),
             (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))
    return next((kind for test, kind in kinds if test(mode)), "a special file")


def _too_long_message(size: int | None = None) -> str:
    shown = f"{size:,} bytes" if size is not None else "larger"
    return f"file is {shown}, above the limit of {MAX_FILE_BYTES // (1024 * 1024)} MB"


def _suffix_list() -> str:
    return ", ".join(sorted({s.lstrip(".") for s in IMAGE_SUFFIXES} - {"jpe", "dib", "ppm", "pbm", "pnm"}))


def _decode_image(data: bytes, name: str, max_pages: int) -> Iterator[Page]:
    yield from _decode_image_pages(data, name, max_pages)


def _decode_image_pages(data: bytes, name: str, max_pages: int) -> list[Page]:
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
        if picture.format == "JPEG" and not _jpeg_data_can_fill(data, width, height):
            return [_failed(name, f"damaged JPEG: its header claims {width}x{height} pixels but it holds "
                                  f"only {len(data):,} bytes, too few for that (lying or truncated header)")]
        frames = getattr(picture, "n_frames", 1)
        if picture.format == "GIF" and frames > 1:
            return [_failed(
                name, f"animated GIF ({frames} frames): save the frame to read as PNG"
            )]
        count = frames if picture.format == "TIFF" else 1
        pages: list[Page] = []
        for index in range(min(count, max_pages)):
            try:
                picture.seek(index)
                frame = ImageOps.exif_transpose(picture) or picture
                pages.append(Page(name, index + 1, _to_array(frame)))
            except (Image.DecompressionBombError, Image.DecompressionBombWarning):
                pages.append(_failed(name, _too_big_message(picture.size), index + 1))
            except (_TooSmall, _BadValues) as exc:
                pages.append(_failed(name, str(exc), index + 1))
            except Exception as exc:  # truncated data, bad compression, bad EXIF ...
                pages.append(_failed(name, f"damaged image ({_short(exc)})", index + 1))
        if count > max_pages:
            pages.append(_failed(name, _page_limit_message(count, max_pages), max_pages + 1))
        return pages


def _jpeg_data_can_fill(data: bytes, width: int, height: int) -> bool:
    """Whether ``data`` can hold a JPEG of ``width`` x ``height``: Huffman coding spends at
    least one bit on the DC term of every 8x8 block, so fewer bits than blocks means the
    header lies (libjpeg pads such a file with grey and only warns). Arithmetic-coded
    JPEGs (SOF9-SOF15, rare) can go below that and are let through."""
    if any(marker in data for marker in (b"\xff\xc9", b"\xff\xca", b"\xff\xcb",
                                        b"\xff\xcd", b"\xff\xce", b"\xff\xcf")):
        return True
    return len(data) * 8 >= (width // 8) * (height // 8)


def _page_limit_message(count: int | None, max_pages: int) -> str:
    claimed = f"has {count:,} pages" if count is not None else "has more pages"
    return (f"file {claimed}; only the first {max_pages} were read "
            "(raise the limit with --max-pages, or max_pages= in the API)")


class _TooSmall(ValueError):
    pass


class _BadValues(ValueError):
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
    if mode.startswith("I;16"):
        values = np.asarray(picture, dtype=np.float64)
        return np.clip(values * (255.0 / 65535.0) + 0.5, 0, 255).astype(np.uint8)
    if mode in ("I", "F"):
        # Float scans (TIFF) in 0..1 are read like float arrays given to the API.
        return scale_to_uint8(np.asarray(picture))
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


def _decode_pdf(data: bytes, name: str, max_pages: int) -> Iterator[Page]:
    try:
        import pypdfium2 as pdfium
    except ImportError:
        yield _failed(name, "reading PDFs needs pypdfium2: pip install 'digitscan[read-pdf]'")
        return
    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        # PDFium's "last error" is process-wide and outlives the document that set it, so
        # a password is only blamed when this file is encrypted.
        blames_password = "password" in str(exc).lower()
        if blames_password and b"/Encrypt" in data:
            yield _failed(name, "password-protected PDF, cannot render")
        elif blames_password:
            yield _failed(name, "damaged PDF (PDFium cannot load it)")
        else:
            yield _failed(name, f"damaged PDF ({_short(exc)})")
        return
    try:
        count = len(document)
        if count == 0:
            yield _failed(name, "PDF has no pages")
            return
        for index in range(min(count, max_pages)):
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
                page.close()
                rendered = Page(name, number, np.ascontiguousarray(image))
            except Exception as exc:  # pdfium raises untyped errors for broken pages
                rendered = _failed(name, f"page cannot be rendered ({_short(exc)})", number)
            yield rendered
        if count > max_pages:
            yield _failed(name, _page_limit_message(count, max_pages), max_pages + 1)
    finally:
        document.close()


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
