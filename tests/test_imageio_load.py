"""Loading pictures: every format the issue names, and every kind of bad input."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from pictures import digit_page, encode, png_header_only, tiny_pdf
from PIL import Image

from digitscan.reading.imageio import MAX_PIXELS, decode_bytes, list_inputs, load_pages


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "BMP", "WEBP", "GIF", "TIFF"])
def test_each_format_gives_one_grey_page(fmt: str) -> None:
    page = digit_page("5")
    pages = decode_bytes(encode(page, fmt), f"x.{fmt.lower()}")
    assert len(pages) == 1 and pages[0].error is None
    assert pages[0].image.shape[:2] == page.shape
    assert abs(float(pages[0].image.mean()) - float(page.mean())) < 8


def test_jpeg_exif_orientation_is_honoured() -> None:
    tall = np.zeros((40, 20, 3), np.uint8)
    picture = Image.fromarray(tall)
    exif = picture.getexif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", exif=exif.tobytes())
    (page,) = decode_bytes(buffer.getvalue(), "phone.jpg")
    assert page.image.shape[:2] == (20, 40)


def test_multi_page_tiff_gives_every_page() -> None:
    frames = [Image.fromarray(digit_page(str(d))) for d in range(3)]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="TIFF", save_all=True, append_images=frames[1:])
    pages = decode_bytes(buffer.getvalue(), "scan.tif")
    assert [p.page for p in pages] == [1, 2, 3]
    assert all(p.error is None for p in pages)


def test_sixteen_bit_and_alpha_are_converted() -> None:
    deep = (np.linspace(0, 65535, 32 * 32).reshape(32, 32)).astype(np.uint16)
    (page,) = decode_bytes(encode(deep, "PNG"), "deep.png")
    assert page.image.dtype == np.uint8 and page.image.max() >= 250
    clear = np.zeros((32, 32, 4), np.uint8)  # fully transparent black: white paper
    (page,) = decode_bytes(encode(clear, "PNG"), "clear.png")
    assert page.image.min() == 255


def test_pdf_pages_are_rendered() -> None:
    pytest.importorskip("pypdfium2")
    (page,) = decode_bytes(tiny_pdf(), "form.pdf")
    assert page.error is None
    assert page.image.shape[0] == pytest.approx(200 * 200 / 72, abs=2)  # 200 dpi


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty file"),
        (b"hello, this is not a picture", "not an image"),
        (png_header_only(0, 0), "0x0 pixels"),
        (encode(np.zeros((1, 1), np.uint8), "PNG"), "1x1 pixels, too small"),
        (encode(digit_page(), "PNG")[:300], "damaged image"),
        (png_header_only(20000, 20000), "above the limit of 50 megapixels"),
        (tiny_pdf(encrypted=True), "password-protected PDF, cannot render"),
    ],
    ids=["empty", "not-image", "0x0", "1x1", "truncated", "bomb", "password-pdf"],
)
def test_bad_input_gets_a_one_line_reason(data: bytes, reason: str) -> None:
    (page,) = decode_bytes(data, "bad")
    assert page.image is None
    assert reason in page.error and "\n" not in page.error


def test_animated_gif_is_refused_clearly() -> None:
    frames = [Image.fromarray(digit_page(str(d))) for d in range(2)]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:])
    (page,) = decode_bytes(buffer.getvalue(), "spin.gif")
    assert page.error.startswith("animated GIF (2 frames)")


def test_folders_are_read_recursively_and_empty_ones_reported(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "2.png").write_bytes(encode(digit_page("2"), "PNG"))
    (tmp_path / "a" / "1.jpg").write_bytes(encode(digit_page("1"), "JPEG"))
    (tmp_path / "a" / "notes.txt").write_text("not a picture")
    (tmp_path / "empty").mkdir()
    assert [Path(p).name for p in list_inputs([tmp_path / "a"])] == ["1.jpg", "2.png"]
    (page,) = load_pages([tmp_path / "empty"])
    assert page.error.startswith("directory holds no images")
    (missing,) = load_pages([tmp_path / "nope.png"])
    assert missing.error == "no such file"


def test_pixel_limit_is_the_stated_one() -> None:
    assert MAX_PIXELS == 50_000_000


def test_fuzzed_image_bytes_never_crash_the_loader() -> None:
    rng = np.random.default_rng(1234)
    originals = [encode(digit_page("47", 24), fmt) for fmt in ("PNG", "JPEG", "GIF", "BMP",
                                                                 "TIFF", "WEBP")]
    for _ in range(300):
        data = bytearray(originals[int(rng.integers(len(originals)))])
        for _ in range(int(rng.integers(1, 6))):
            kind = rng.integers(3)
            at = int(rng.integers(len(data)))
            if kind == 0:
                data[at] = int(rng.integers(256))
            elif kind == 1:
                del data[at: at + int(rng.integers(1, 64))]
            else:
                data[at:at] = bytes(rng.integers(0, 256, int(rng.integers(1, 16)), np.uint8))
        for page in decode_bytes(bytes(data), "fuzz"):
            assert (page.image is None) != (page.error is None)
            if page.error is not None:
                assert "\n" not in page.error
