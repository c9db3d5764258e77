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
    """An RGB copy of ``image`` with the reading's boxes and digits drawn on it."""
    picture = image if image.ndim == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    picture = np.ascontiguousarray(picture[..., :3]).copy()
    height = max(picture.shape[:2])
    thickness = max(1, height // 400)
    for digit in reading.digits:
        x, y, w, h = digit.box
        colour = _UNSURE if digit.unsure else _SURE
        cv2.rectangle(picture, (x, y), (x + w - 1, y + h - 1), colour, thickness)
        scale = max(0.3, h / 40.0)
        label = f"{digit.digit}?" if digit.unsure else str(digit.digit)
        baseline_y = y - 3 if y > h // 2 + 4 else y + h + int(22 * scale)
        cv2.putText(picture, label, (x, baseline_y), cv2.FONT_HERSHEY_SIMPLEX, scale,
                    colour, max(1, int(round(scale * 2))), cv2.LINE_AA)
    return picture
