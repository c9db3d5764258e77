"""Generate the hostile-input corpus: bad, broken and odd pictures, made here, never downloaded.

    python tests/hostile_corpus.py OUT_DIR      # writes the files and prints how many

``hostile_files()`` gives (name, bytes) for every file; ``write_corpus(folder)`` writes them
and adds the special files (a FIFO, a symlink to /dev/zero, a folder named like a picture).
Every one must give one line of reason (or a reading), never a traceback or a hang.
"""

from __future__ import annotations

import io
import os
import random
import struct
import sys
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).parent))
from pictures import digit_page, tiny_pdf  # noqa: E402

__all__ = ["good_files", "hostile_files", "write_corpus"]


def _save(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _png_bomb(width: int, height: int) -> bytes:
    """A grey PNG of ``width`` x ``height`` white pixels: a few kB that inflate to megapixels."""
    row = b"\x00" + b"\xff" * width
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", data) + _png_chunk(b"IEND", b"")


def _with_png_size(png: bytes, width: int, height: int) -> bytes:
    header = struct.pack(">II", width, height) + png[24:29]
    return png[:8] + _png_chunk(b"IHDR", header) + png[33:]


def _with_jpeg_size(jpeg: bytes, width: int, height: int) -> bytes:
    at = jpeg.find(b"\xff\xc0")
    return jpeg[:at + 5] + struct.pack(">HH", height, width) + jpeg[at + 9:]


def _mutated(data: bytes, seed: int, flips: int = 12) -> bytes:
    rng = random.Random(seed)
    out = bytearray(data)
    for _ in range(flips):
        out[rng.randrange(16, len(out))] = rng.randrange(256)
    return bytes(out)


def _pdf_claiming_pages(count: int) -> bytes:
    return tiny_pdf().replace(b"/Count 1", b"/Count %d" % count)


def _pdf_huge_page() -> bytes:
    return tiny_pdf().replace(b"/MediaBox [0 0 200 200]", b"/MediaBox [0 0 14400 14400]")


def good_files() -> list[tuple[str, bytes]]:
    page = digit_page("38")
    return [("good.png", _save(Image.fromarray(page), "PNG")),
            ("good.jpg", _save(Image.fromarray(page), "JPEG", quality=95))]


def hostile_files() -> list[tuple[str, bytes]]:
    page = digit_page("38")
    grey = Image.fromarray(page)
    png, jpeg = _save(grey, "PNG"), _save(grey, "JPEG")
    tiff, gif, webp = _save(grey, "TIFF"), _save(grey, "GIF"), _save(grey, "WEBP")
    pdf = tiny_pdf()
    files: list[tuple[str, bytes]] = [
        ("empty.png", b""),
        ("text.png", b"hello, this is not a picture\n"),
        ("zeros.png", bytes(4096)),
        ("random.bin", bytes(random.Random(1).randrange(256) for _ in range(2048))),
        ("html.jpg", b"<html><body>not a jpeg</body></html>"),
        ("png-signature-only.png", png[:8]),
        ("png-0x0.png", _with_png_size(png, 0, 0)),
        ("png-1xN.png", _save(Image.new("L", (1, 300), 255), "PNG")),
        ("png-Nx1.png", _save(Image.new("L", (300, 1), 255), "PNG")),
        ("png-lying-big.png", _with_png_size(png, 3000, 3000)),
        ("png-lying-small.png", _with_png_size(png, 20, 20)),
        ("png-bomb-49mp.png", _png_bomb(7000, 7000)),
        ("png-bomb-100mp.png", _png_bomb(10000, 10000)),
        ("png-huge-header-only.png", _with_png_size(png[:33] + _png_chunk(b"IEND", b""), 60000, 60000)),
        ("png-bad-crc.png", png[:29] + b"\0\0\0\0" + png[33:]),
        ("jpeg-lying-7000.jpg", _with_jpeg_size(jpeg, 7000, 7000)),
        ("jpeg-lying-0.jpg", _with_jpeg_size(jpeg, 0, 0)),
        ("jpeg-soi-only.jpg", b"\xff\xd8"),
        ("jpeg-no-eoi.jpg", jpeg[:-2]),
        ("jpeg-cmyk.jpg", _save(grey.convert("CMYK"), "JPEG")),
        ("jpeg-progressive.jpg", _save(grey, "JPEG", progressive=True)),
        ("tiff-16bit.tif", _save(Image.fromarray(page.astype(np.uint16) * 257), "TIFF")),
        ("tiff-float-0-1.tif", _save(Image.fromarray(page.astype(np.float32) / 255), "TIFF")),
        ("tiff-float-nan.tif", _save(Image.fromarray(np.full((40, 40), np.nan, np.float32)), "TIFF")),
        ("tiff-float-inf.tif", _save(Image.fromarray(np.full((40, 40), np.inf, np.float32)), "TIFF")),
        ("tiff-cmyk.tif", _save(grey.convert("CMYK"), "TIFF")),
        ("tiff-1bit.tif", _save(grey.convert("1"), "TIFF")),
        ("tiff-lying.tif", tiff.replace(struct.pack("<H", page.shape[1]), struct.pack("<H", 9999), 1)),
        ("tiff-header-only.tif", b"II*\x00\x08\x00\x00\x00"),
        ("png-16bit.png", _save(Image.fromarray(page.astype(np.uint16) * 257), "PNG")),
        ("png-palette.png", _save(grey.convert("P"), "PNG")),
        ("png-LA.png", _save(grey.convert("LA"), "PNG")),
        ("png-1bit.png", _save(grey.convert("1"), "PNG")),
        ("png-transparent.png", _save(Image.new("RGBA", (60, 60), (0, 0, 0, 0)), "PNG")),
        ("gif-animated.gif", _save(grey, "GIF", save_all=True, append_images=[grey.rotate(5)])),
        ("gif-header-only.gif", gif[:13]),
        ("webp-animated.webp", _save(grey, "WEBP", save_all=True, append_images=[grey.rotate(5)])),
        ("webp-riff-only.webp", webp[:12]),
        ("bmp-header-only.bmp", _save(grey, "BMP")[:54]),
        ("pdf-header-only.pdf", b"%PDF-1.4\n"),
        ("pdf-no-pages.pdf", pdf.replace(b"/Kids [3 0 R] /Count 1", b"/Kids [] /Count 0")),
        ("pdf-password.pdf", tiny_pdf(encrypted=True)),
        ("pdf-million-pages.pdf", _pdf_claiming_pages(1_000_000)),
        ("pdf-poster-page.pdf", _pdf_huge_page()),
        ("pdf-no-xref.pdf", pdf[:pdf.find(b"xref")]),
        ("-leading-dash.png", png),
        ("name with spaces.png", png),
        ("naïve-ünïcode.png", png),
        ("no-suffix", png),
        ("wrong-suffix.pdf", png),
    ]
    for fmt, data in (("png", png), ("jpg", jpeg), ("tif", tiff), ("gif", gif), ("webp", webp), ("pdf", pdf)):
        files.append((f"truncated-half.{fmt}", data[: len(data) // 2]))
        files.append((f"truncated-header.{fmt}", data[:24]))
        for seed in range(2):
            files.append((f"mutated-{seed}.{fmt}", _mutated(data, seed)))
    return files


def write_corpus(folder: Path) -> list[Path]:
    """Write every hostile file and the special files into ``folder``; return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, data in hostile_files():
        (folder / name).write_bytes(data)
        paths.append(folder / name)
    fifo = folder / "fifo.png"
    if hasattr(os, "mkfifo"):
        os.mkfifo(fifo)
        paths.append(fifo)
    (folder / "zero.png").symlink_to("/dev/zero")
    (folder / "dangling.png").symlink_to(folder / "nowhere.png")
    (folder / "folder.png").mkdir()
    paths += [folder / "zero.png", folder / "dangling.png", folder / "folder.png"]
    return paths


if __name__ == "__main__":
    written = write_corpus(Path(sys.argv[1]))
    print(f"{len(written)} hostile inputs in {sys.argv[1]}")
