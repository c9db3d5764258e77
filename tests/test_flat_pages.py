"""Flat backgrounds (issue 13): a clean digital page, pure white with black digits and no
grain at all, reads like a scanned one instead of "blank page: no ink found"."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from digitscan.reading.reader import Reader
from digitscan.training.mnist import load_mnist


@pytest.fixture(scope="module")
def reader() -> Reader:
    return Reader()


# Printed numbers are in the line synthesiser since lines-v3: before, the recogniser, trained
# on handwriting only, read this page at 3000 px as "471".
@pytest.mark.parametrize("side", [1500, 3000])
def test_a_clean_digital_page_reads(reader: Reader, side: int) -> None:
    page = np.full((side, side), 255, np.uint8)
    # The same page scanned at a higher resolution: the writing grows with it.
    grow = side / 1500
    cv2.putText(page, "4071", (int(300 * grow), int(500 * grow)), cv2.FONT_HERSHEY_SIMPLEX, 1.2 * grow, 0,
                round(3 * grow), cv2.LINE_AA)
    reading = reader.read_array(page, layout="page")
    assert reading.ok, reading.error
    assert reading.text == "4071"


def test_handwritten_digits_pasted_on_white_read(reader: Reader, mnist_dir: Path) -> None:
    test = load_mnist("test", mnist_dir, download=False)
    page = np.full((1200, 1600), 255, np.uint8)
    # Pure black strokes, no grey edges: a drawing program's pen, not a scanner's.
    for position, index in enumerate((3, 2, 1)):  # MNIST's 0, 1, 2
        digit = cv2.resize(test.images[index], (56, 56), interpolation=cv2.INTER_NEAREST)
        page[400:456, 300 + 70 * position: 356 + 70 * position][digit > 127] = 0
    reading = reader.read_array(page, layout="page")
    assert reading.ok, reading.error
    assert reading.text == "".join(str(int(test.labels[i])) for i in (3, 2, 1))


def test_a_blank_flat_page_is_still_blank(reader: Reader) -> None:
    reading = reader.read_array(np.full((1200, 1600), 255, np.uint8), layout="page")
    assert not reading.ok and "blank page" in reading.error
