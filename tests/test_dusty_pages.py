"""Dust and specks (issue 15's "background read as digits"): a scan or photocopy with dark
specks over it reads its numbers, and a picture of specks alone is not read as writing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from digitscan.reading.reader import Reader
from digitscan.training.mnist import load_mnist
from digitscan.training.simulate import simulate_scan


@pytest.fixture(scope="module")
def reader() -> Reader:
    return Reader()


def test_a_page_with_dust_over_it_reads_its_numbers(reader: Reader, mnist_dir: Path) -> None:
    # One pixel in 500 a dark speck: specks in the gaps between numbers were read as digits
    # and joined the numbers (15 of 33 numbers exact on these pages); specks apart from the
    # writing now go before the line recogniser sees the line.
    digits = load_mnist("test", mnist_dir, download=False)
    right = total = 0
    for seed in range(3000, 3012):
        scan = simulate_scan("clean", seed, digits)
        picture = scan.image.copy()
        picture[np.random.default_rng(seed).random(picture.shape[:2]) < 0.002] = 30
        truth, read = scan.text.split(), reader.read_array(picture, layout="page").text.split()
        right += sum(a == b for a, b in zip(truth, read, strict=False))
        total += len(truth)
    assert right >= 0.8 * total, (right, total)


@pytest.mark.parametrize("share", [0.01, 0.02])
def test_a_picture_of_specks_alone_is_no_writing(reader: Reader, share: float) -> None:
    # A 3-MP picture sprinkled with specks was read as thousands of digits (12 MP: 29,821
    # digits on 904 lines, 30 s); its marks are about 3 pixels tall, smaller than writing.
    picture = np.full((1500, 2000), 230, np.uint8)
    picture[np.random.default_rng(0).random(picture.shape) < share] = 20
    reading = reader.read_array(picture, layout="page")
    assert reading.digits == []
    assert reading.error is not None and "too small" in reading.error
