"""The scan simulator: deterministic, and its pages are readable."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from digitscan.reading.reader import Reader
from digitscan.training.mnist import load_mnist
from digitscan.training.simulate import CONDITIONS, simulate_scan


@pytest.fixture(scope="module")
def digits(mnist_dir: Path):
    return load_mnist("test", mnist_dir, download=False)


def test_same_seed_same_page(digits) -> None:
    first = simulate_scan("hard", 11, digits)
    again = simulate_scan("hard", 11, digits)
    other = simulate_scan("hard", 12, digits)
    assert np.array_equal(first.image, again.image) and first.text == again.text
    assert first.text != other.text or not np.array_equal(first.image, other.image)


@pytest.mark.parametrize("condition", CONDITIONS)
def test_every_condition_makes_a_page_with_its_digits(digits, condition: str) -> None:
    scan = simulate_scan(condition, 3, digits)
    assert scan.image.dtype == np.uint8 and scan.image.ndim == 3
    assert len(scan.boxes) == len(scan.text.replace(" ", "").replace("\n", ""))
    assert set(scan.text) <= set("0123456789 \n")


def test_clean_simulated_pages_are_read(digits) -> None:
    reader = Reader()
    exact = sum(
        reader.read_array(scan.image, layout="page").text == scan.text
        for scan in (simulate_scan("clean", seed, digits) for seed in range(8))
    )
    assert exact >= 6


def test_unknown_condition_is_refused(digits) -> None:
    with pytest.raises(ValueError, match="unknown condition"):
        simulate_scan("underwater", 0, digits)
