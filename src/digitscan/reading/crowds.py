"""Digits read off a surface's texture: crowds of digits the reader is unsure of.

A speckled worktop, a rough weave or a granite-look laminate left in a photo beside the
sheet is cut up into digit-sized marks, and the line recogniser reads rows of them. Its
answers there are mostly unsure, while writing, even a poor hand, is read mostly sure: on
80 real sudoku photos (``sudoku-photos/train``) 2.3% of the digits read right were unsure
against 35% of the rest. One unsure digit says little; many together, with half or more of
them unsure, are the texture.
"""

from __future__ import annotations

import numpy as np

# A digit belongs to a crowd when, in the square reaching this many of its own heights
# around it, at least CROWD_SIZE digits were read and at least CROWD_UNSURE_SHARE of them
# unsure. On sudoku-photos/train read as pages: 568 of the 1,355 digits read outside the
# grids (desk, speckle, the book's other page) dropped, 8 of the 2,589 right ones inside
# them; on val/ (full-resolution photos, plainer desks) 0 of either; on 350 simulated pages
# of 14 conditions, none.
CROWD_REACH = 4.0
CROWD_SIZE = 8
CROWD_UNSURE_SHARE = 0.5
# Once this many digits stood in crowds, the picture holds a texture, and its thinner
# parts are read as unsure digits too sparse for CROWD_REACH: there an unsure digit goes
# with a crowd in twice the reach. On 200 photos of empty desks (seeds 100-299, after
# reader._speckled_windows) 301 -> 155 digits; on the real sudoku photos read as pages,
# val/ unchanged, train/ one digit more right (28 and 7 on two photos against 26 and 8) and
# 12 fewer wrong.
TEXTURE_CROWD = 24
WIDE_REACH = 2 * CROWD_REACH


def in_unsure_crowds(boxes: np.ndarray, unsure: np.ndarray) -> np.ndarray:
    """Which digits (their ``boxes``, (n, 4) as x, y, w, h, and whether each is ``unsure``)
    stand in a crowd of unsure digits: a boolean array of n.

    Where a texture's crowds were found, the unsure digits in its thinner parts go too:
    those with a crowd in ``WIDE_REACH`` of their heights."""
    crowded = _in_crowds(boxes, unsure, CROWD_REACH)
    if crowded.sum() >= TEXTURE_CROWD:
        crowded |= _in_crowds(boxes, unsure, WIDE_REACH) & np.asarray(unsure, bool)
    return crowded


def _in_crowds(boxes: np.ndarray, unsure: np.ndarray, reach_heights: float) -> np.ndarray:
    """Which digits have, in the square reaching ``reach_heights`` of their own heights
    around them, CROWD_SIZE digits or more, CROWD_UNSURE_SHARE of them unsure."""
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    unsure = np.asarray(unsure, bool)
    crowded = np.zeros(len(boxes), bool)
    # A crowd needs CROWD_SIZE digits, half of them unsure: most pages have too few.
    if len(boxes) < CROWD_SIZE or unsure.sum() < CROWD_SIZE * CROWD_UNSURE_SHARE:
        return crowded
    centre_x = boxes[:, 0] + boxes[:, 2] / 2
    centre_y = boxes[:, 1] + boxes[:, 3] / 2
    reach = reach_heights * np.maximum(boxes[:, 3], 1.0)
    order = np.argsort(centre_x, kind="stable")
    sorted_x = centre_x[order]
    starts = np.searchsorted(sorted_x, centre_x - reach, side="left")
    stops = np.searchsorted(sorted_x, centre_x + reach, side="right")
    for index in np.flatnonzero(stops - starts >= CROWD_SIZE):
        beside = order[starts[index]: stops[index]]
        near = beside[np.abs(centre_y[beside] - centre_y[index]) <= reach[index]]
        if len(near) >= CROWD_SIZE and unsure[near].mean() >= CROWD_UNSURE_SHARE:
            crowded[index] = True
    return crowded
