"""Structural similarity (SSIM, Wang et al. 2004) of the fused image with each source.

Default convention: 11x11 Gaussian window with sigma 1.5, K1 = 0.01, K2 = 0.03, dynamic
range L = 255, SSIM map averaged over the "valid" region (pixels whose whole window lies
inside the image), and the two sources averaged: ``SSIM = (SSIM(IR, F) + SSIM(VIS, F)) / 2``.

Alternatives found in published evaluators: ``window="uniform"`` (7x7 box window with
sample covariance, scikit-image's default), ``combine="sum"`` (range up to 2), and other
``data_range`` values (scikit-image used 2 for float input before it required the argument,
which nearly removes the stabilising constants).
"""

from __future__ import annotations

import cv2
import numpy as np

from tsjnet_ros.core.metrics.image_input import as_gray_float, as_gray_set, combine_two

SSIM_WINDOWS = ('gaussian', 'uniform')
_K1 = 0.01
_K2 = 0.03
_GAUSSIAN_SIZE = 11
_GAUSSIAN_SIGMA = 1.5
_UNIFORM_SIZE = 7


def _local_mean(image: np.ndarray, window: str) -> np.ndarray:
    if window == 'gaussian':
        return cv2.GaussianBlur(
            image,
            (_GAUSSIAN_SIZE, _GAUSSIAN_SIZE),
            _GAUSSIAN_SIGMA,
            borderType=cv2.BORDER_REFLECT,
        )
    return cv2.blur(image, (_UNIFORM_SIZE, _UNIFORM_SIZE), borderType=cv2.BORDER_REFLECT)


def ssim_map(
    x: np.ndarray, y: np.ndarray, window: str = 'gaussian', data_range: float = 255.0
) -> np.ndarray:
    """Per-pixel SSIM of two same-size grey images, cropped to the valid region."""
    if window not in SSIM_WINDOWS:
        raise ValueError(f'window must be one of {SSIM_WINDOWS}, got {window!r}')
    if not data_range > 0:
        raise ValueError(f'data_range must be positive, got {data_range}')
    x = as_gray_float(x, 'x')
    y = as_gray_float(y, 'y')
    if x.shape != y.shape:
        raise ValueError(f'images differ in shape: {x.shape} vs {y.shape}')
    size = _GAUSSIAN_SIZE if window == 'gaussian' else _UNIFORM_SIZE
    if min(x.shape) < size:
        raise ValueError(f'images must be at least {size}x{size} for the SSIM window')
    c1 = (_K1 * data_range) ** 2
    c2 = (_K2 * data_range) ** 2
    mu_x = _local_mean(x, window)
    mu_y = _local_mean(y, window)
    var_x = _local_mean(x * x, window) - mu_x * mu_x
    var_y = _local_mean(y * y, window) - mu_y * mu_y
    cov = _local_mean(x * y, window) - mu_x * mu_y
    if window == 'uniform':
        n = _UNIFORM_SIZE * _UNIFORM_SIZE
        scale = n / (n - 1.0)
        var_x, var_y, cov = var_x * scale, var_y * scale, cov * scale
    numerator = (2.0 * mu_x * mu_y + c1) * (2.0 * cov + c2)
    denominator = (mu_x * mu_x + mu_y * mu_y + c1) * (var_x + var_y + c2)
    pad = (size - 1) // 2
    return (numerator / denominator)[pad:-pad, pad:-pad]


def ssim_pair(
    x: np.ndarray, y: np.ndarray, window: str = 'gaussian', data_range: float = 255.0
) -> float:
    """Mean SSIM of two grey images (1 for identical images)."""
    return float(np.mean(ssim_map(x, y, window, data_range)))


def structural_similarity(
    ir: np.ndarray,
    visible: np.ndarray,
    fused: np.ndarray,
    window: str = 'gaussian',
    data_range: float = 255.0,
    combine: str = 'mean',
) -> float:
    """Two-source SSIM of the fused image; see the module docstring for the conventions."""
    a, b, f = as_gray_set(ir, visible, fused)
    return combine_two(
        ssim_pair(a, f, window, data_range), ssim_pair(b, f, window, data_range), combine
    )
