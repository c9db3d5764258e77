"""Drawing what was read onto the picture: a box per digit and the digit above it.

Green boxes are digits the model is sure of, orange ones are marked unsure.

>>> picture = draw_reading(page.image, reading)      # doctest: +SKIP
"""

from __future__ import annotations

import cv2
import numpy as np

from .results import Reading

__all__ = ["draw_reading"]

_SURE = (0, 170, 0)
_UNSURE = (255, 140, 0)


def draw_reading(image: np.ndarray, reading: Reading) -> np.ndarray:
    """An RGB copy of ``image`` with the reading's boxes and digits drawn on it.

    Every label has the same size, set by the median digit height of the page (a label per
    digit sized to its own box made a tall 1 shout and a short 0 whisper), and is written
    white on a filled tab of the box's colour, readable on any paper and ink.
    """
    picture = image if image.ndim == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    picture = np.ascontiguousarray(picture[..., :3]).copy()
    if not reading.digits:
        return picture
    thickness = max(1, max(picture.shape[:2]) // 400)
    typical_height = float(np.median([digit.box[3] for digit in reading.digits]))
    scale = min(2.0, max(0.45, typical_height / 45.0))
    stroke = max(1, int(round(scale * 2)))
    for digit in reading.digits:
        x, y, w, h = digit.box
        colour = _UNSURE if digit.unsure else _SURE
        cv2.rectangle(picture, (x, y), (x + w - 1, y + h - 1), colour, thickness)
        label = f"{digit.digit}?" if digit.unsure else str(digit.digit)
        (text_w, text_h), base = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, stroke)
        pad = max(2, stroke)
        tab_h = text_h + base + 2 * pad
        # Above the box where there is room, else below it.
        top = y - tab_h if y >= tab_h else min(y + h, picture.shape[0] - tab_h)
        left = min(max(0, x), max(0, picture.shape[1] - text_w - 2 * pad))
        cv2.rectangle(picture, (left, top), (left + text_w + 2 * pad, top + tab_h), colour, cv2.FILLED)
        cv2.putText(picture, label, (left + pad, top + pad + text_h), cv2.FONT_HERSHEY_SIMPLEX, scale,
                    (255, 255, 255), stroke, cv2.LINE_AA)
    return picture
