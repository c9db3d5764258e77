"""Each stage of reading on a tiny synthetic picture, where the right answer is obvious."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from digitscan.reading.normalise import normalise_like_mnist, stroke_width
from digitscan.reading.preprocess import (
    find_sheet,
    flatten_sheet,
    ink_is_dark,
    ink_mask,
    ink_strength,
    pattern_dots,
    percentile,
    remove_rules,
    rule_skew,
    straighten,
)
from digitscan.reading.segment import find_candidates, group_lines, number_breaks, text_height_of
from digitscan.training.mnist import load_mnist


def stroke_picture(dark_ink: bool = True) -> np.ndarray:
    page = np.full((60, 60), 230, np.uint8)
    cv2.line(page, (30, 10), (30, 50), 30, 3)
    return page if dark_ink else 255 - page


@given(st.integers(0, 2**32 - 1), st.integers(8_000, 120_000), st.sampled_from(["uniform", "paper", "levels"]),
       st.sampled_from([0.0, 1.0, 50.0, 75.0, 99.7, 100.0]))
@settings(max_examples=60, deadline=None)
def test_the_bracketed_percentile_is_numpys(seed: int, size: int, kind: str, percent: float) -> None:
    # The ink map's median and top percentile partition only the values near the answer;
    # the answer must be numpy's, whatever the values look like (mostly paper with a little
    # ink, or a few repeated levels where the bracket holds many ties).
    rng = np.random.default_rng(seed)
    if kind == "uniform":
        values = rng.random(size, dtype=np.float32)
    elif kind == "paper":
        values = np.maximum(rng.normal(0.0, 0.02, size), 0.0).astype(np.float32)
        values[rng.random(size) < 0.03] = 0.8
    else:
        values = rng.integers(0, 4, size).astype(np.float32)
    # As the ink map gives them: a 2-D picture, or every other pixel of one (a strided view).
    picture = values[: size // 100 * 100].reshape(-1, 100)
    for given_values in (picture, picture[::2, ::2]):
        expected = float(np.percentile(given_values, percent))
        assert percentile(given_values, percent) == pytest.approx(expected, rel=1e-6, abs=1e-9)


def test_polarity_is_found_both_ways() -> None:
    assert ink_is_dark(stroke_picture(dark_ink=True))
    assert not ink_is_dark(stroke_picture(dark_ink=False))


def test_polarity_of_a_bold_digit_filling_its_crop() -> None:
    # More than half of this 16x16 crop is ink, so "the median pixel is paper" fails; the
    # paper falls apart into corners and loops while the ink is one piece.
    crop = np.full((16, 16), 255, np.uint8)
    cv2.ellipse(crop, (7, 4), (6, 4), 0, 0, 360, 0, 2)
    cv2.ellipse(crop, (7, 11), (7, 4), 0, 0, 360, 0, 2)
    assert (crop < 128).mean() > 0.5
    assert ink_is_dark(crop)
    assert not ink_is_dark(255 - crop)


def test_uneven_lighting_is_divided_out() -> None:
    ramp = np.linspace(120, 250, 400, dtype=np.float32)[None, :].repeat(300, axis=0)
    page = ramp.copy()
    for x in (60, 340):  # the same stroke in the shadow and in the light
        cv2.line(page, (x, 100), (x, 200), float(ramp[0, x] * 0.3), 4)
    ink = ink_strength(page.astype(np.uint8))
    assert ink[150, 60] > 180 and ink[150, 340] > 180
    assert ink[50, 60] < 30 and ink[50, 340] < 30  # paper is paper on both sides
    assert abs(int(ink[150, 60]) - int(ink[150, 340])) < 40


def test_blank_paper_has_no_ink() -> None:
    rng = np.random.default_rng(0)
    paper = np.clip(rng.normal(230, 3, (200, 200)), 0, 255).astype(np.uint8)
    assert not ink_mask(ink_strength(paper)).any()


def test_ruling_line_goes_but_the_digit_crossing_it_stays() -> None:
    mask = np.zeros((100, 300), bool)
    mask[60:62, :] = True              # a rule across the page
    mask[35:75, 100:103] = True        # a "1" standing across it
    digits, rules = remove_rules(mask, text_height=40)
    assert not digits[61, 20] and not digits[61, 250]
    assert digits[35:75, 100:103].all()
    assert rules[61, 20]


def test_sheet_on_a_desk_is_found_and_flattened() -> None:
    desk = np.full((400, 500), 60, np.uint8)
    corners = np.array([[80, 50], [420, 70], [400, 360], [100, 340]], np.int32)
    cv2.fillConvexPoly(desk, corners, 235)
    found = find_sheet(desk)
    assert found is not None
    assert np.abs(found - corners).max() < 12
    flat, back = flatten_sheet(desk, found)
    assert flat[5:-5, 5:-5].min() > 200  # only paper left
    assert back.shape == (3, 3)
    assert find_sheet(np.full((400, 500), 235, np.uint8)) is None  # a flatbed scan


def test_normalise_like_mnist_fits_20_pixels_and_centres_the_mass() -> None:
    crop = np.zeros((90, 30), np.uint8)
    crop[5:85, 10:20] = 255
    digit = normalise_like_mnist(crop)
    assert digit.shape == (28, 28) and digit.dtype == np.float32
    rows = np.flatnonzero(digit.max(axis=1) > 0.5)
    assert 18 <= rows[-1] - rows[0] + 1 <= 21
    ys, xs = np.nonzero(digit > 0.05)
    weights = digit[ys, xs]
    assert abs(np.average(ys, weights=weights) - 13.5) < 1.0
    assert abs(np.average(xs, weights=weights) - 13.5) < 1.0


def test_thin_strokes_are_brought_near_mnist_width() -> None:
    crop = np.zeros((200, 200), np.uint8)
    cv2.circle(crop, (100, 100), 80, 255, 2)  # a biro "0" on a big photo
    digit = normalise_like_mnist(crop)
    assert 1.5 <= stroke_width(digit > 0.4) <= 4.5


def test_candidates_merge_broken_pieces_and_drop_specks_and_dashes() -> None:
    mask = np.zeros((80, 300), bool)
    mask[20:38, 20:26] = True      # the top half of a broken "1" ...
    mask[41:60, 20:26] = True      # ... and its bottom half
    mask[20:60, 80:84] = True      # a whole "1"
    mask[50:52, 150:151] = True    # a speck
    mask[39:42, 200:230] = True    # a dash
    found = find_candidates(mask)
    boxes = sorted(c.box for c in found.candidates)
    assert boxes == [(20, 20, 6, 40), (80, 20, 4, 40)]


def test_lines_and_numbers_come_in_reading_order() -> None:
    boxes = [(300, 110, 20, 40), (10, 12, 20, 40), (40, 10, 20, 40), (200, 14, 20, 40),
             (10, 108, 20, 40)]
    lines = group_lines(boxes)
    assert lines == [[1, 2, 3], [4, 0]]
    first = [boxes[i] for i in lines[0]]
    assert number_breaks(first, text_height=40, typical_gap=10) == [False, True]


def test_a_digit_stretched_to_fill_its_box_is_narrowed_back() -> None:
    from digitscan.reading.normalise import unstretch

    stretched = np.zeros((16, 16), np.float32)
    cv2.line(stretched, (2, 15), (13, 0), 1.0, 2)  # a "1" slanted across the whole box
    stretched[:, 0] = stretched[:, -1] = 0
    stretched[8, 0] = stretched[8, -1] = 1.0  # ink on all four edges
    narrowed = unstretch(stretched)
    assert narrowed.shape[1] / narrowed.shape[0] == pytest.approx(0.75, abs=0.02)
    natural = np.zeros((40, 20), np.float32)
    natural[5:35, 9:12] = 1.0
    assert unstretch(natural) is natural  # an ordinary crop is left alone


def ruled_page(angle: float) -> np.ndarray:
    """Faint thin rules and a few strokes, turned by ``angle`` degrees (counter-clockwise)."""
    page = np.full((400, 700), 235, np.uint8)
    for y in range(80, 400, 70):
        cv2.line(page, (0, y), (699, y), 170, 1)
    for x in range(100, 600, 60):
        cv2.line(page, (x, 150), (x + 8, 195), 40, 3)
    turn = cv2.getRotationMatrix2D((350, 200), angle, 1.0)
    return cv2.warpAffine(page, turn, (700, 400), borderMode=cv2.BORDER_REPLICATE)


@pytest.mark.parametrize("angle", [-5.0, -2.0, 0.0, 3.0])
def test_the_slope_of_faint_slanted_rules_is_measured(angle: float) -> None:
    assert rule_skew(ink_strength(ruled_page(angle))) == pytest.approx(-angle, abs=0.25)


def test_a_page_without_lines_has_no_skew() -> None:
    page = np.full((300, 500), 235, np.uint8)
    rng = np.random.default_rng(1)
    for x, y in rng.integers((20, 20), (480, 280), size=(25, 2)):
        cv2.circle(page, (int(x), int(y)), 6, 30, 2)
    assert rule_skew(ink_strength(page)) == 0.0


def test_straighten_levels_the_rules_and_maps_back_to_the_input() -> None:
    ink = ink_strength(ruled_page(4.0))
    level, back = straighten(ink, rule_skew(ink))
    assert abs(rule_skew(level)) <= 0.2
    # The middle of the straightened picture maps back to the middle of the input.
    middle = np.array([[[level.shape[1] / 2, level.shape[0] / 2]]], np.float32)
    assert cv2.perspectiveTransform(middle, back)[0, 0] == pytest.approx([350, 200], abs=1.0)
    # Once level, the rules are found and taken out.
    digits, rules = remove_rules(ink_mask(level), text_height=45, ink=level)
    assert rules.sum() > 4 * 600


def dotted(radius: int, pitch: int, shape: tuple[int, int] = (400, 600)) -> np.ndarray:
    """A mask of discs on a staggered lattice, as a dotted desk gives."""
    mask = np.zeros(shape, np.uint8)
    for row, y in enumerate(range(radius + 2, shape[0] - radius - 2, pitch)):
        for x in range(radius + 2 + (row % 2) * pitch // 2, shape[1] - radius - 2, pitch):
            cv2.circle(mask, (x, y), radius, 1, -1)
    return mask.astype(bool)


@pytest.mark.parametrize("pattern", ["fine dots", "large dots", "squares", "checks"])
def test_the_dots_and_checks_of_a_printed_pattern_are_found(pattern: str) -> None:
    if pattern == "fine dots":
        mask = dotted(2, 7)
    elif pattern == "large dots":
        mask = dotted(9, 30)
    elif pattern == "squares":
        mask = (np.indices((400, 600)) % 16 < 10).all(axis=0)
    else:  # a checkerboard: its squares touch at their corners only
        mask = (np.indices((400, 600)) // 12).sum(axis=0) % 2 == 1
    found = pattern_dots(mask)
    assert found is not None
    assert not (found & ~mask).any()
    assert found.sum() >= 0.97 * mask.sum()


def test_a_pattern_beside_writing_takes_the_pattern_only(mnist_dir: Path) -> None:
    digits = load_mnist("test", mnist_dir, download=False).images
    mask = dotted(6, 24, (300, 600))
    mask[100:200, 150:450] = False  # a slip of paper lying on the dots
    for column in range(9):
        mask[130:158, 160 + 31 * column:188 + 31 * column] = digits[column] > 100
    found = pattern_dots(mask)
    assert found is not None
    writing = np.zeros_like(mask)
    writing[100:200, 150:450] = True
    assert not (found & writing).any()
    assert found.sum() >= 0.95 * (mask & ~writing).sum()


@pytest.mark.parametrize("height", [8, 10, 14, 20])
def test_small_dense_writing_is_no_pattern(mnist_dir: Path, height: int) -> None:
    # Small digits blur into solid blobs, and rows of them stand close: still, nothing on
    # this table of 240 handwritten digits stands on a lattice.
    digits = load_mnist("test", mnist_dir, download=False).images
    rows, columns = 12, 20
    mask = np.zeros((rows * int(1.5 * height) + 10, columns * (height + 1) + 10), bool)
    for index in range(rows * columns):
        digit = cv2.resize(digits[index], (height, height), interpolation=cv2.INTER_AREA) > 100
        y, x = 5 + (index // columns) * int(1.5 * height), 5 + (index % columns) * (height + 1)
        mask[y:y + height, x:x + height] |= digit
    found = pattern_dots(mask)
    assert found is None or found.sum() <= 0.01 * mask.sum()


def test_text_height_is_the_writings_not_a_few_towering_blobs() -> None:
    # Twenty-two digits about 30 pixels tall and three patches of a checked desk beside
    # them (as on a simulated desk photo, where the height came out 106).
    rng = np.random.default_rng(0)
    digits = rng.integers(26, 34, 22)
    heights = np.concatenate([digits, [75, 106, 172]])
    areas = np.concatenate([digits * 12, [2_100, 3_900, 5_400]])
    assert 26 <= text_height_of(heights, areas) <= 34
    # Three digits among dots and specks: the tall ones are the writing, however few.
    heights = np.concatenate([[53, 56, 64], rng.integers(4, 7, 20)])
    areas = np.concatenate([[600, 620, 640], rng.integers(95, 120, 20)])
    assert text_height_of(heights, areas) >= 50


def test_text_height_is_the_digits_not_the_pieces_of_a_grid_left_in() -> None:
    # A sudoku photographed on a page (sudoku-photos/train 02_18_iphone_14_0): 56 marks of
    # digits and printed words 38-56 pixels tall and ten thin pieces of the grid 140-353
    # tall (15% of the marks): the height came out 323, and the page was read at a scale
    # where 11 of its 32 digits were lost.
    rng = np.random.default_rng(1)
    marks = rng.integers(38, 57, 56)
    pieces = np.array([140, 145, 156, 167, 177, 178, 211, 228, 293, 353])
    heights = np.concatenate([marks, pieces])
    areas = np.concatenate([marks * 10, pieces * 3])
    assert 38 <= text_height_of(heights, areas) <= 56


def test_a_side_that_writing_runs_across_is_no_sheet_edge() -> None:
    # A quadrilateral found round a lit strip of a page: the page's strokes run on across
    # its right side into the shade. Strokes only inside it, or a side along bare paper,
    # leave it a sheet's outline.
    from digitscan.reading.preprocess import _crossed_by_writing, _paper_light

    strip = np.array([[40, 40], [200, 40], [200, 300], [40, 300]], np.float64)
    page = np.full((360, 480), 225, np.uint8)
    for y in range(70, 290, 40):  # short strokes, each across x = 200
        cv2.line(page, (185, y), (215, y + 6), 40, 2)
    assert _crossed_by_writing(page, _paper_light(page), strip)
    inside = np.full((360, 480), 225, np.uint8)
    for y in range(70, 290, 40):  # the same strokes, kept inside the strip
        cv2.line(inside, (150, y), (180, y + 6), 40, 2)
    assert not _crossed_by_writing(inside, _paper_light(inside), strip)
