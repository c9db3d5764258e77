"""Reading through the Python API: real scans, the JSON shape, bad files in a batch."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from pictures import encode, tiny_pdf

import digitscan
from digitscan import Digit, Line, Reader, Reading
from digitscan.errors import DigitscanError
from digitscan.training.mnist import load_mnist
from digitscan.training.simulate import simulate_scan


@pytest.fixture(scope="module")
def reader() -> Reader:
    return Reader()


def test_both_photographed_pages_are_read_exactly(reader: Reader, real_scans_dir: Path) -> None:
    rows = list(csv.DictReader(open(real_scans_dir / "pages" / "labels.csv")))
    readings = reader.read([str(real_scans_dir / "pages" / "images" / r["file"]) for r in rows])
    for reading, row in zip(readings, rows, strict=True):
        assert reading.error is None
        assert reading.text.replace("\n", " ") == row["text"]
        assert len(reading.lines) == len(row["text"].split())


@pytest.mark.parametrize(("name", "floor"), [("optdigits", 0.95), ("semeion", 0.85)])
def test_real_single_digit_scans(reader: Reader, real_scans_dir: Path, name: str,
                                 floor: float) -> None:
    rows = list(csv.DictReader(open(real_scans_dir / name / "labels.csv")))[::4]
    readings = reader.read([str(real_scans_dir / name / "images" / r["file"]) for r in rows],
                           layout="digit")
    right = np.mean([r.text == row["label"] for r, row in zip(readings, rows, strict=True)])
    assert right >= floor, f"{name}: {right:.1%} right"


def test_json_shape_is_the_one_in_the_issue(reader: Reader, real_scans_dir: Path) -> None:
    path = real_scans_dir / "pages" / "images" / "page6.png"
    reading = reader.read(str(path))[0]
    data = json.loads(json.dumps(reading.to_dict()))
    assert list(data) == ["file", "page", "width", "height", "text", "lines", "digits", "error", "notes"]
    assert (data["file"], data["page"], data["error"]) == (str(path), 1, None)
    assert list(data["lines"][0]) == ["text", "box", "digits"]
    digit = data["digits"][0]
    assert list(digit) == ["digit", "confidence", "unsure", "box", "top"]
    assert len(digit["top"]) == 3 and digit["top"][0][0] == digit["digit"]
    for d in data["digits"]:
        x, y, w, h = d["box"]
        assert 0 <= x and 0 <= y and x + w <= data["width"] and y + h <= data["height"]
    assert "".join(str(d["digit"]) for d in data["digits"]) == data["text"].replace(
        "\n", "").replace(" ", "")


def test_results_are_typed_and_keep_what_the_network_saw(reader: Reader) -> None:
    picture = np.full((28, 28), 255, np.uint8)
    picture[4:24, 13:16] = 0  # a dark "1" on white
    reading = reader.read_array(picture)
    assert isinstance(reading, Reading) and isinstance(reading.digits[0], Digit)
    assert isinstance(reading.lines[0], Line)
    assert reading.text == "1"
    assert reading.digits[0].network_input.shape == (28, 28)
    assert "network_input" not in reading.digits[0].to_dict()


def test_light_ink_on_dark_reads_like_dark_on_light(reader: Reader, mnist_dir: Path) -> None:
    test = digitscan.load_mnist("test", mnist_dir, download=False)
    light_on_dark = reader.read(list(test.images[:50]), layout="digit")
    dark_on_light = reader.read(list(255 - test.images[:50]), layout="digit")
    truth = [str(label) for label in test.labels[:50]]
    assert np.mean([r.text == t for r, t in zip(light_on_dark, truth, strict=True)]) >= 0.95
    assert [r.text for r in light_on_dark] == [r.text for r in dark_on_light]


def test_a_bad_file_gets_an_error_and_the_rest_are_read(reader: Reader, tmp_path: Path,
                                                        real_scans_dir: Path) -> None:
    good = real_scans_dir / "optdigits" / "images" / "00000.png"
    (tmp_path / "bad.png").write_bytes(b"not a png")
    (tmp_path / "blank.png").write_bytes(encode(np.full((300, 300), 240, np.uint8), "PNG"))
    (tmp_path / "locked.pdf").write_bytes(tiny_pdf(encrypted=True))
    sources = [str(tmp_path / "bad.png"), str(good), str(tmp_path / "blank.png"),
               str(tmp_path / "locked.pdf")]
    readings = reader.read(sources)
    assert [r.file for r in readings] == sources
    assert readings[0].error.startswith("not an image")
    assert readings[1].error is None and readings[1].text == "0"
    assert readings[2].error == "blank page: no ink found"
    assert readings[3].error == "password-protected PDF, cannot render"


def test_bytes_and_layouts(reader: Reader, real_scans_dir: Path) -> None:
    data = (real_scans_dir / "pages" / "images" / "page5.png").read_bytes()
    assert reader.read(data)[0].text.split("\n")[1] == "52306"
    with pytest.raises(DigitscanError, match="unknown layout"):
        reader.read(data, layout="poster")
    with pytest.raises(DigitscanError, match="min_confidence"):
        Reader(min_confidence=2.0)


def test_reading_never_imports_torch(real_scans_dir: Path) -> None:
    code = (
        "import sys, digitscan\n"
        f"r = digitscan.read({str(real_scans_dir / 'optdigits' / 'images' / '00000.png')!r})\n"
        "assert r[0].text == '0', r\n"
        "print('torch' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"


def test_a_single_pixel_of_ink_is_a_blank_page_not_a_crash() -> None:
    import numpy as np

    from digitscan import Reader

    picture = np.full((28, 28), 255, np.uint8)
    picture[14, 14] = 0
    reading = Reader().read(picture, layout="digit")[0]
    assert reading.error == "blank page: no ink found" and reading.digits == []


@pytest.mark.parametrize(("condition", "angle"), [("form_boxes", 3.0), ("ruled", -4.0)])
def test_a_form_photographed_askew_is_read(reader: Reader, mnist_dir: Path, condition: str,
                                           angle: float) -> None:
    # Rules and box edges a few degrees off level are no longer level runs of ink; the
    # page is turned level first, or they stay and are read as digits.
    digits = load_mnist("test", mnist_dir, download=False)
    scan = simulate_scan(condition, 2003, digits)
    height, width = scan.image.shape[:2]
    turn = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
    image = cv2.warpAffine(scan.image, turn, (width, height), borderMode=cv2.BORDER_REPLICATE)
    reading = reader.read_array(image, layout="page")
    assert reading.text == scan.text
    # Boxes are still in the input's pixels: each digit's box lies inside the picture and
    # the first digit's box holds ink.
    first = reading.digits[0].box
    assert 0 <= first[0] and first[0] + first[2] <= width and first[1] + first[3] <= height


def test_the_aspect_prior_is_what_mnist_says(mnist_dir: Path) -> None:
    from digitscan.reading.normalise import ASPECT_PRIOR, aspect_prior

    train = load_mnist("train", mnist_dir, download=False)
    assert np.allclose(aspect_prior(train.images, train.labels), ASPECT_PRIOR, atol=0.001)


def test_digits_stretched_to_fill_a_square_are_read(reader: Reader, mnist_dir: Path) -> None:
    # As Semeion and some form readers store them: cut to the ink, stretched to 16x16,
    # thresholded to black and white. Their true width is lost; the reader reads each at
    # several widths and weighs them by how wide each digit usually is.
    digits = load_mnist("test", mnist_dir, download=False)
    crops = []
    for image in digits.images[:300]:
        rows = np.flatnonzero(image.max(axis=1) > 40)
        cols = np.flatnonzero(image.max(axis=0) > 40)
        square = cv2.resize(image[rows[0]: rows[-1] + 1, cols[0]: cols[-1] + 1], (16, 16),
                            interpolation=cv2.INTER_AREA)
        crops.append(np.where(square > 100, 0, 255).astype(np.uint8))
    readings = reader.read(crops, layout="digit")
    right = np.mean([r.text == str(label) for r, label in zip(readings, digits.labels[:300], strict=True)])
    assert right >= 0.95, f"{right:.1%} right"
    # What the network saw is one of the views: a digit narrower than the square.
    seen = np.asarray(readings[0].digits[0].network_input)
    cols = np.flatnonzero(seen.max(axis=0) > 0.3)
    rows = np.flatnonzero(seen.max(axis=1) > 0.3)
    assert cols[-1] - cols[0] < rows[-1] - rows[0]
