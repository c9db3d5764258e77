"""Grouping components into digits and lines: the grid-indexed grouping answers exactly as
looking at every group would (the plain loops below are that specification), and a photo
with tens of thousands of specks is grouped without looking at every pair."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from digitscan.reading import segment
from digitscan.reading.segment import _attach_fragments, _box_gap, _merge_broken, _union, group_lines

PROPERTY = settings(max_examples=150, deadline=None, derandomize=True)


def merge_broken_everywhere(boxes: np.ndarray, text_height: float) -> list[list[int]]:
    """``_merge_broken`` as first written: every piece against every group."""
    order = sorted(range(len(boxes)), key=lambda i: -int(boxes[i][2]) * int(boxes[i][3]))
    groups: list[list[int]] = []
    group_boxes: list[tuple[int, int, int, int]] = []
    for index in order:
        x, y, w, h = (int(v) for v in boxes[index])
        joined = False
        for number, (gx, gy, gw, gh) in enumerate(group_boxes):
            overlap = min(x + w, gx + gw) - max(x, gx)
            if overlap < 0.5 * min(w, gw):
                continue
            merged = _union([(x, y, w, h), (gx, gy, gw, gh)])
            vertical_gap = max(y, gy) - min(y + h, gy + gh)
            if merged[3] <= 1.35 * text_height and vertical_gap <= 0.3 * text_height:
                groups[number].append(index)
                group_boxes[number] = merged
                joined = True
                break
        if not joined:
            groups.append([index])
            group_boxes.append((x, y, w, h))
    return attach_fragments_everywhere(groups, group_boxes, text_height)


def attach_fragments_everywhere(groups, group_boxes, text_height):
    order = sorted(range(len(groups)), key=lambda g: group_boxes[g][3])
    alive = [True] * len(groups)
    for number in order:
        box = group_boxes[number]
        if box[3] >= 0.7 * text_height:
            continue
        best, best_distance = -1, float("inf")
        for other, other_box in enumerate(group_boxes):
            if other == number or not alive[other]:
                continue
            merged = _union([box, other_box])
            if merged[3] > 1.3 * text_height or merged[2] > 1.2 * text_height:
                continue
            distance = _box_gap(box, other_box)
            if distance < best_distance and distance <= 0.25 * text_height:
                best, best_distance = other, distance
        if best >= 0:
            groups[best].extend(groups[number])
            group_boxes[best] = _union([group_boxes[best], box])
            alive[number] = False
    return [group for group, keep in zip(groups, alive, strict=True) if keep]


def group_lines_everywhere(boxes):
    order = sorted(range(len(boxes)), key=lambda i: boxes[i][0])
    lines: list[list[int]] = []
    for index in order:
        x, y, w, h = boxes[index]
        best, best_overlap = -1, 0.0
        for number, line in enumerate(lines):
            _, ly, _, lh = boxes[line[-1]]
            overlap = min(y + h, ly + lh) - max(y, ly)
            share = overlap / max(min(h, lh), 1)
            if share > best_overlap:
                best, best_overlap = number, share
        if best >= 0 and best_overlap >= 0.4:
            lines[best].append(index)
        else:
            lines.append([index])
    lines.sort(key=lambda line: float(np.mean([boxes[i][1] + boxes[i][3] / 2 for i in line])))
    return lines


# Boxes of pieces of writing: crowded into a small page so that they overlap, touch and
# stack, at sizes from specks to strokes taller and wider than a digit.
boxes_strategy = st.lists(
    st.tuples(st.integers(0, 120), st.integers(0, 90), st.integers(1, 40), st.integers(1, 45)),
    min_size=0, max_size=60)


@PROPERTY
@given(boxes_strategy, st.floats(4.0, 30.0))
def test_pieces_are_grouped_into_digits_as_when_every_group_is_looked_at(boxes, text_height) -> None:
    array = np.array(boxes, np.int64).reshape(-1, 4)
    assert _merge_broken(array, text_height) == merge_broken_everywhere(array, text_height)


@PROPERTY
@given(boxes_strategy, st.floats(4.0, 30.0))
def test_fragments_are_attached_as_when_every_group_is_looked_at(boxes, text_height) -> None:
    groups = [[i] for i in range(len(boxes))]
    expected = attach_fragments_everywhere([list(g) for g in groups], list(boxes), text_height)
    assert _attach_fragments([list(g) for g in groups], list(boxes), text_height) == expected


@PROPERTY
@given(boxes_strategy)
def test_lines_are_grouped_as_when_every_line_is_looked_at(boxes) -> None:
    assert group_lines(boxes) == group_lines_everywhere(boxes)


def test_tens_of_thousands_of_specks_are_grouped_near_each_other_only(monkeypatch) -> None:
    # A blank sheet on a checked cloth gave 16,523 components of text height 5: every piece
    # against every group took over a minute. Counted, not timed: the boxes compared stay
    # a small multiple of the boxes, not their square.
    rng = np.random.default_rng(0)
    columns, rows = np.meshgrid(np.arange(130) * 9, np.arange(130) * 9)
    boxes = np.stack([columns.ravel() + rng.integers(0, 3, columns.size), rows.ravel() + rng.integers(0, 3, rows.size),
                      rng.integers(2, 6, columns.size), rng.integers(2, 6, columns.size)], axis=1)
    compared = 0
    unions = segment._union

    def counted(pair):
        nonlocal compared
        compared += 1
        return unions(pair)

    monkeypatch.setattr(segment, "_union", counted)
    groups = _merge_broken(boxes, 5.0)
    assert sum(len(g) for g in groups) == len(boxes)
    assert compared < 20 * len(boxes), compared
    lines = group_lines([tuple(int(v) for v in b) for b in boxes])
    assert sum(len(line) for line in lines) == len(boxes)
