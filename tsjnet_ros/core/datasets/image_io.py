"""Reading IR, visible and label images into the arrays the project passes around.

Files store the same content in many ways (TNO and LLVIP save grey IR as 3-channel images,
OpenCV loads BGR); these readers return one canonical form: IR HxW uint8/uint16, visible
HxWx3 uint8 RGB, segmentation HxW uint8 class ids.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

IMAGE_SUFFIXES = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff')


def _read(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise ValueError(f'cannot read image file {path}')
    return image


def read_ir(path: Path) -> np.ndarray:
    """IR as HxW uint8 or uint16; 3- or 4-channel files are reduced to one channel."""
    image = _read(path)
    if image.ndim == 3:
        image = image[..., :3]
        if np.array_equal(image[..., 0], image[..., 1]) and np.array_equal(
            image[..., 0], image[..., 2]
        ):
            image = image[..., 0].copy()
        else:
            image = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    if image.dtype not in (np.uint8, np.uint16):
        raise ValueError(f'IR image {path} has unsupported dtype {image.dtype}')
    return image


def read_visible(path: Path) -> np.ndarray:
    """Visible image as HxWx3 uint8 RGB; grey files are replicated to three channels."""
    image = _read(path)
    if image.dtype == np.uint16:
        image = (image >> 8).astype(np.uint8)
    if image.dtype != np.uint8:
        raise ValueError(f'visible image {path} has unsupported dtype {image.dtype}')
    if image.ndim == 2:
        return np.repeat(image[..., None], 3, axis=2)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2RGB)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def read_segmentation(path: Path) -> np.ndarray:
    """Class-index label image as HxW uint8 (colour visualisations are rejected)."""
    image = _read(path)
    if image.ndim == 3:
        channels = image[..., :3]
        if not (
            np.array_equal(channels[..., 0], channels[..., 1])
            and np.array_equal(channels[..., 0], channels[..., 2])
        ):
            raise ValueError(
                f'segmentation label {path} is a colour image; expected a single-channel map of '
                "class ids (MSRS 'Segmentation_labels', not 'Segmentation_visualize')"
            )
        image = channels[..., 0]
    if image.dtype != np.uint8:
        if image.max(initial=0) > 255:
            raise ValueError(f'segmentation label {path} has class ids above 255')
        image = image.astype(np.uint8)
    return np.ascontiguousarray(image)
