"""Bring an IR and a visible image to one common size before fusion.

Thermal cores are usually lower resolution than colour cameras (e.g. 640x512 vs
1280x1024), so the pair is resized to the resolution of the camera chosen by
``resize_to``. The visible camera is the default because outputs carry its header and
detections are reported in its pixels.
"""

from __future__ import annotations

import cv2
import numpy as np

RESIZE_POLICIES = ("visible", "ir")


def align_pair(ir: np.ndarray, visible: np.ndarray, resize_to: str = "visible") -> tuple[np.ndarray, np.ndarray]:
    """Return (ir, visible) at the size of the camera named by ``resize_to``.

    Aspect ratios are not preserved when they differ: the cameras are assumed registered
    (same field of view), which is what pixel-level fusion requires anyway.
    """
    if resize_to not in RESIZE_POLICIES:
        raise ValueError(f"resize_to must be one of {RESIZE_POLICIES}, got {resize_to!r}")
    if ir.shape[:2] == visible.shape[:2]:
        return ir, visible
    if resize_to == "visible":
        return _resize(ir, visible.shape[:2]), visible
    return ir, _resize(visible, ir.shape[:2])


def _resize(image: np.ndarray, size_hw: tuple[int, int]) -> np.ndarray:
    height, width = size_hw
    shrinking = image.shape[0] > height or image.shape[1] > width
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    return cv2.resize(image, (width, height), interpolation=interpolation)
