"""Bring an IR and a visible image to one common size before fusion.

Thermal cores are usually lower resolution than colour cameras (e.g. 640x512 vs
1280x1024), so the pair is brought to the pixel grid of the camera chosen by
``resize_to``: resized, or warped with a
:class:`~tsjnet_ros.core.preparation.registration.Registration` when the rig has one. Outputs
then carry that camera's header, and detections are in its pixels. Resizing cameras of
different aspect ratios stretches the scene: :func:`aspect_mismatch` says so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tsjnet_ros.core.image.resize import resize_image

if TYPE_CHECKING:
    from tsjnet_ros.core.preparation.registration import Registration

RESIZE_POLICIES = ('visible', 'ir')
ASPECT_TOLERANCE = 0.02  # relative difference of width/height ratios that counts as a mismatch


def align_pair(
    ir: np.ndarray,
    visible: np.ndarray,
    resize_to: str = 'visible',
    registration: Registration | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Return (ir, visible) in the pixels of the camera named by ``resize_to``.

    Without ``registration`` the other image is resized, so different aspect ratios are
    stretched (the cameras are assumed to share a field of view); with it, the other image
    is warped by the homography.
    """
    if resize_to not in RESIZE_POLICIES:
        raise ValueError(f'resize_to must be one of {RESIZE_POLICIES}, got {resize_to!r}')
    if registration is not None:
        return registration.warp(ir, visible, resize_to)
    if ir.shape[:2] == visible.shape[:2]:
        return ir, visible
    if resize_to == 'visible':
        return resize_image(ir, visible.shape[:2]), visible
    return ir, resize_image(visible, ir.shape[:2])


def aspect_mismatch(ir_shape: tuple[int, ...], visible_shape: tuple[int, ...]) -> str | None:
    """Return a sentence naming both sizes when their aspect ratios differ, else None.

    Ratios differing by at most :data:`ASPECT_TOLERANCE` count as equal; beyond it, resizing
    would stretch one camera's scene.
    """
    ir_ratio = ir_shape[1] / ir_shape[0]
    vis_ratio = visible_shape[1] / visible_shape[0]
    if abs(ir_ratio / vis_ratio - 1.0) <= ASPECT_TOLERANCE:
        return None
    return (
        f'IR {ir_shape[1]}x{ir_shape[0]} (aspect {ir_ratio:.2f}) '
        f'and visible {visible_shape[1]}x{visible_shape[0]} (aspect {vis_ratio:.2f}) '
        'differ in aspect ratio: resizing stretches the scene; '
        'set the `registration` parameter to a homography '
        '(tsjnet-register estimates one from matched points)'
    )
