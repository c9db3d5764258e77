"""Crowds of unsure digits (a speckled desk read as digits) are found, and writing is not."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from digitscan.reading.crowds import CROWD_SIZE, in_unsure_crowds


def rows_of_digits(lines: int, per_line: int, height: int = 30) -> np.ndarray:
    """Boxes of digits written in rows, as on a page: 0.7 of a height wide, 1.6 apart."""
    return np.array([(x * 0.9 * height, y * 1.6 * height, 0.7 * height, height)
                     for y in range(lines) for x in range(per_line)], np.float64)


def test_a_field_of_unsure_digits_is_one_crowd() -> None:
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 400, (300, 2))
    boxes = np.c_[xy, np.full((300, 2), 12.0)]
    unsure = rng.random(300) < 0.7
    crowded = in_unsure_crowds(boxes, unsure)
    assert crowded.mean() > 0.75  # all but some at the field's edges, with fewer around them


def test_a_page_of_writing_with_a_few_unsure_digits_is_no_crowd() -> None:
    boxes = rows_of_digits(20, 30)
    unsure = np.zeros(len(boxes), bool)
    unsure[::5] = True  # one digit in five unsure: a poor hand, not a texture
    assert not in_unsure_crowds(boxes, unsure).any()


def test_the_speckle_beside_a_page_goes_and_the_writing_stays() -> None:
    writing = rows_of_digits(6, 12)
    rng = np.random.default_rng(1)
    speckle = np.c_[rng.uniform(600, 900, (200, 2)), rng.uniform(6, 20, (200, 2))]
    boxes = np.concatenate([writing, speckle])
    unsure = np.r_[np.zeros(len(writing), bool), rng.random(200) < 0.6]
    crowded = in_unsure_crowds(boxes, unsure)
    assert not crowded[: len(writing)].any()
    assert crowded[len(writing):].mean() > 0.8


def test_too_few_digits_make_no_crowd() -> None:
    boxes = rows_of_digits(1, CROWD_SIZE - 1)
    assert not in_unsure_crowds(boxes, np.ones(len(boxes), bool)).any()
    assert in_unsure_crowds(np.zeros((0, 4)), np.zeros(0, bool)).shape == (0,)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 120))
def test_crowds_do_not_depend_on_the_order_or_place_of_the_digits(seed: int, count: int) -> None:
    rng = np.random.default_rng(seed)
    boxes = np.c_[rng.uniform(0, 300, (count, 2)), rng.uniform(5, 40, (count, 2))]
    unsure = rng.random(count) < rng.uniform(0, 1)
    crowded = in_unsure_crowds(boxes, unsure)
    order = rng.permutation(count)
    assert np.array_equal(in_unsure_crowds(boxes[order], unsure[order]), crowded[order])
    moved = boxes + np.array([1000.0, 500.0, 0.0, 0.0])
    assert np.array_equal(in_unsure_crowds(moved, unsure), crowded)
    # Nothing unsure, no crowd.
    assert not in_unsure_crowds(boxes, np.zeros(count, bool)).any()


def test_once_a_texture_is_found_its_thinner_parts_go_too() -> None:
    # A texture thins out where the desk's flecks are fewer: its digits there stand 50
    # pixels apart, too far for a crowd in CROWD_REACH (48 here), and were read as digits
    # (a flecked worktop: 155 of the 301 digits left on 200 empty desks).
    thin = np.array([(500 + 50 * i, 50 * j, 12, 12) for i in range(10) for j in range(10)], np.float64)
    thin_unsure = np.arange(len(thin)) % 4 != 0  # one in four sure
    assert not in_unsure_crowds(thin, thin_unsure).any()
    # Beside a crowd of them, the unsure ones inside it go; the sure ones stay.
    rng = np.random.default_rng(2)
    field = np.c_[rng.uniform(0, 400, (300, 2)), np.full((300, 2), 12.0)]
    crowded = in_unsure_crowds(np.concatenate([field, thin]), np.r_[rng.random(300) < 0.7, thin_unsure])
    assert crowded[:300].mean() > 0.75
    assert crowded[300:][thin_unsure].mean() > 0.5
    assert not crowded[300:][~thin_unsure].any()


def test_unsure_writing_beside_a_texture_stays() -> None:
    # One digit in five of the writing unsure, a speckled desk beside it read as a crowd:
    # the wider reach that follows a crowd does not take the writing's unsure digits.
    writing = rows_of_digits(6, 12)
    unsure_writing = np.arange(len(writing)) % 5 == 0
    rng = np.random.default_rng(1)
    speckle = np.c_[rng.uniform(600, 900, (200, 2)), rng.uniform(6, 20, (200, 2))]
    crowded = in_unsure_crowds(np.concatenate([writing, speckle]), np.r_[unsure_writing, rng.random(200) < 0.6])
    assert crowded[len(writing):].mean() > 0.8
    assert not crowded[: len(writing)].any()
