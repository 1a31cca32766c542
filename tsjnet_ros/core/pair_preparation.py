"""Turning a synchronised pair of decoded camera images into the backend's input.

The fusion node and the offline bag tools both need this step, so that a pair is fused
the same way live and offline: IR to a single channel (16-bit kept; the backend scales
it), visible to RGB (or mono), a visible image wider than 8 bit down to its top 8 bits,
then both resized to one camera's size.
"""

from __future__ import annotations

import numpy as np

from tsjnet_ros.core.image_encoding import ImageFormatError, to_mono, to_rgb8
from tsjnet_ros.core.pair_alignment import align_pair

MIN_IMAGE_SIDE = 16  # smaller images cannot carry a meaningful pair


def check_image_size(array: np.ndarray) -> None:
    """Raise :class:`ImageFormatError` for an image too small to fuse."""
    height, width = array.shape[:2]
    if min(height, width) < MIN_IMAGE_SIDE:
        raise ImageFormatError(f"image {width}x{height} is smaller than {MIN_IMAGE_SIDE} pixels", "too small")


def prepare_pair(
    ir_array: np.ndarray,
    ir_encoding: str,
    vis_array: np.ndarray,
    vis_encoding: str,
    resize_to: str = "visible",
) -> tuple[np.ndarray, np.ndarray]:
    """(ir, visible) ready for ``backend.fuse``.

    IR comes back HxW uint8 or uint16; visible HxWx3 uint8 RGB, or HxW uint8 for a mono
    camera; both at the size of the camera named by ``resize_to``.
    """
    ir_mono = to_mono(ir_array, ir_encoding)
    vis = to_mono(vis_array, vis_encoding) if vis_array.ndim == 2 else to_rgb8(vis_array, vis_encoding)
    if vis.dtype != np.uint8:  # 16-bit or float visible camera: keep the top 8 bits
        vis = (vis >> 8).astype(np.uint8)
    return align_pair(ir_mono, vis, resize_to)
