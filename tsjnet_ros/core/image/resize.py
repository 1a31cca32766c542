"""The one rule for resizing camera images and label maps (numpy, OpenCV).

Pair alignment (one camera resized to the other's size), the network's working size and
the training crops all resize through :func:`resize_image`, so a frame is interpolated the
same way wherever it is scaled.
"""

from __future__ import annotations

import cv2
import numpy as np

INTERPOLATIONS = ('auto', 'bilinear', 'nearest')


def resize_image(
    image: np.ndarray, size_hw: tuple[int, int], interpolation: str = 'auto'
) -> np.ndarray:
    """``image`` (HxW or HxWxC, any dtype OpenCV resizes) at ``size_hw`` = (height, width).

    ``interpolation``:

    * ``"auto"``: area averaging (``cv2.INTER_AREA``) when no side grows, so shrinking does
      not alias; bilinear (``cv2.INTER_LINEAR``) as soon as one side grows. OpenCV averages
      areas only when both sides shrink or stay; with one side growing its INTER_AREA is a
      sampling without averaging, so bilinear is used there.
    * ``"bilinear"``: always bilinear (the TSJNet authors' preprocessing).
    * ``"nearest"``: pixel-centre aligned nearest neighbour (``cv2.INTER_NEAREST_EXACT``), for
      class maps, where interpolation would invent class ids.

    An image already of that size is returned as it is (not copied). Raises ValueError for an
    unknown ``interpolation`` or a size that is not positive.
    """
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f'interpolation must be one of {INTERPOLATIONS}, got {interpolation!r}')
    height, width = int(size_hw[0]), int(size_hw[1])
    if height <= 0 or width <= 0:
        raise ValueError(f'target size must be positive (height, width), got {tuple(size_hw)}')
    if image.shape[:2] == (height, width):
        return image
    if interpolation == 'nearest':
        flag = cv2.INTER_NEAREST_EXACT
    elif interpolation == 'auto' and height <= image.shape[0] and width <= image.shape[1]:
        flag = cv2.INTER_AREA
    else:
        flag = cv2.INTER_LINEAR
    return cv2.resize(image, (width, height), interpolation=flag)
