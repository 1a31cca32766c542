"""Turning a synchronised pair of decoded camera images into the backend's input.

The fusion node and the offline bag tools both need this step, so that a pair is fused
the same way live and offline: IR to a single channel (16-bit and float kept; the
backend scales them by their value range), visible to RGB (or mono), a visible image
wider than 8 bit (16-bit, float) scaled to 8 bit by its value range (automatic gain or a
fixed range), then both resized to one camera's size.
"""

from __future__ import annotations

import numpy as np

from tsjnet_ros.core.image.color import RangeScaler, fixed_range_scaler, unit_to_uint8
from tsjnet_ros.core.image.image_encoding import MONO_ENCODINGS, ImageFormatError, to_mono, to_rgb
from tsjnet_ros.core.preparation.pair_alignment import RESIZE_POLICIES, align_pair
from tsjnet_ros.core.preparation.registration import Registration

MIN_IMAGE_SIDE = 16  # smaller images cannot carry a meaningful pair


def check_image_size(array: np.ndarray) -> None:
    """Raise :class:`ImageFormatError` for an image too small to fuse."""
    height, width = array.shape[:2]
    if min(height, width) < MIN_IMAGE_SIDE:
        raise ImageFormatError(
            f'image {width}x{height} is smaller than {MIN_IMAGE_SIDE} pixels', 'too small'
        )


def prepare_pair(
    ir_array: np.ndarray,
    ir_encoding: str,
    vis_array: np.ndarray,
    vis_encoding: str,
    resize_to: str = 'visible',
    visible_scaler: RangeScaler | None = None,
    registration: Registration | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(ir, visible) ready for ``backend.fuse``.

    IR comes back HxW uint8, uint16 or float32; visible HxWx3 uint8 RGB, or HxW uint8 for a
    mono camera; both at the size of the camera named by ``resize_to``. ``visible_scaler``
    maps a visible image wider than 8 bit to [0, 1] (keep one per stream so its automatic
    gain is smoothed over frames; None: this frame's percentiles). ``registration`` warps
    instead of resizing (see :func:`~tsjnet_ros.core.preparation.pair_alignment.align_pair`).
    """
    ir_mono = to_mono(ir_array, ir_encoding)
    vis = (
        to_mono(vis_array, vis_encoding)
        if vis_encoding in MONO_ENCODINGS
        else to_rgb(vis_array, vis_encoding)
    )
    if vis.dtype != np.uint8:
        vis = unit_to_uint8((visible_scaler or RangeScaler(momentum=0.0))(vis))
    return align_pair(ir_mono, vis, resize_to, registration)


class PairPreparation:
    """:func:`prepare_pair` with the node's per-stream state, built from its parameters.

    ``resize_to`` (``visible`` | ``ir``), ``visible_range`` (``[low, high]`` or ``[0, 0]``
    for automatic gain, smoothed over the frames this object sees) and ``registration`` (a
    YAML path, ``""`` = resize only) are the fusion node's parameters of those names; the
    node and the bag tools each keep one object per camera pair, so a bag is prepared
    frame by frame as the node prepares the live stream. :class:`ValueError` names a bad parameter
    (an unreadable or malformed registration file included).
    """

    def __init__(
        self,
        resize_to: str = 'visible',
        visible_range: object = (0.0, 0.0),
        registration: str = '',
    ) -> None:
        if resize_to not in RESIZE_POLICIES:
            raise ValueError(f'resize_to must be one of {RESIZE_POLICIES}, got {resize_to!r}')
        self.resize_to = resize_to
        try:
            self.visible_scaler = fixed_range_scaler(visible_range) or RangeScaler()
        except ValueError as exc:
            raise ValueError(f'visible_range {exc}') from None
        try:
            self.registration = Registration.load(registration) if registration else None
        except (OSError, ValueError) as exc:
            raise ValueError(f'registration: {exc}') from None

    def __call__(
        self, ir_array: np.ndarray, ir_encoding: str, vis_array: np.ndarray, vis_encoding: str
    ) -> tuple[np.ndarray, np.ndarray]:
        """(ir, visible) ready for ``backend.fuse``, as :func:`prepare_pair` returns them."""
        return prepare_pair(
            ir_array,
            ir_encoding,
            vis_array,
            vis_encoding,
            self.resize_to,
            self.visible_scaler,
            self.registration,
        )
