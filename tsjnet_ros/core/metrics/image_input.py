"""Input checks and conversions shared by the fusion metrics.

Every fusion metric works on single-channel images on the 8-bit scale (0..255) as float64,
so that published formulas and constants (SSIM's K1/K2 with L=255, VIF's noise variance 2,
Qabf's sigmoids) apply unchanged. Colour inputs are reduced to ITU-R BT.601 luma, the same
luminance the fusion backends fuse.
"""

from __future__ import annotations

import numpy as np

from tsjnet_ros.core.image.color import RangeScaler

_BT601 = np.array([0.299, 0.587, 0.114])

COMBINE_MODES = ('mean', 'sum')


def as_gray_float(image: np.ndarray, name: str = 'image') -> np.ndarray:
    """Return ``image`` as an HxW float64 array on the 0..255 scale.

    Accepts HxW, HxWx1 or HxWx3 (RGB) arrays of dtype uint8 or float (floats are taken to
    be on the 0..255 scale already). 16-bit images must be brought to 8 bits first with
    :func:`ir_to_uint8`, because their intensity scale is camera specific.
    """
    if not isinstance(image, np.ndarray):
        raise TypeError(f'{name} must be a numpy array, got {type(image).__name__}')
    if image.dtype == np.uint16:
        raise TypeError(f'{name} is 16-bit; convert it to 8 bits first (ir_to_uint8)')
    if image.dtype != np.uint8 and not np.issubdtype(image.dtype, np.floating):
        raise TypeError(f'{name} must be uint8 or float on the 0..255 scale, got {image.dtype}')
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    if image.ndim == 3 and image.shape[2] == 3:
        if np.array_equal(image[..., 0], image[..., 1]) and np.array_equal(
            image[..., 0], image[..., 2]
        ):
            gray = image[..., 0].astype(np.float64)  # grey stored as RGB: exact, no rounding
        else:
            gray = image.astype(np.float64) @ _BT601
    elif image.ndim == 2:
        gray = np.asarray(image, dtype=np.float64)  # no copy for float64 input
    else:
        raise ValueError(f'{name} must be HxW, HxWx1 or HxWx3, got shape {image.shape}')
    if gray.shape[0] < 2 or gray.shape[1] < 2:
        raise ValueError(f'{name} must be at least 2x2 pixels, got shape {image.shape}')
    if not np.all(np.isfinite(gray)):
        raise ValueError(f'{name} contains NaN or infinite values')
    return gray


def as_gray_set(ir: np.ndarray, visible: np.ndarray, fused: np.ndarray):
    """Convert the IR, visible and fused images together and check they share one size."""
    a = as_gray_float(ir, 'ir')
    b = as_gray_float(visible, 'visible')
    f = as_gray_float(fused, 'fused')
    if not a.shape == b.shape == f.shape:
        raise ValueError(
            f'ir {a.shape}, visible {b.shape} and fused {f.shape} must have the same height '
            'and width'
        )
    return a, b, f


def as_gray_levels(gray: np.ndarray) -> np.ndarray:
    """Round a 0..255 float image to integer grey levels (histogram-based metrics need bins)."""
    return np.clip(np.rint(gray), 0, 255).astype(np.intp)


def combine_two(value_a: float, value_b: float, combine: str) -> float:
    """Combine the per-source scores of a two-source metric by ``mean`` or ``sum``."""
    if combine == 'mean':
        return 0.5 * (value_a + value_b)
    if combine == 'sum':
        return value_a + value_b
    raise ValueError(f'combine must be one of {COMBINE_MODES}, got {combine!r}')


def ir_to_uint8(ir: np.ndarray) -> np.ndarray:
    """Scale an IR frame to uint8 the way the fusion backends read it.

    uint8 is returned unchanged; uint16 is scaled linearly by 255/65535 (no per-frame
    stretch), matching the backends' fixed 0..65535 -> 0..1 mapping. Float frames (a thermal
    driver's degrees or kelvin) map their own 1st..99th percentile to 0..255, as the
    pipeline's automatic gain does on a stream's first frame (NaN -> 0, +inf -> 255).
    Raises TypeError for other dtypes.
    """
    if ir.dtype == np.uint8:
        return ir
    if ir.dtype == np.uint16:
        return np.clip(np.rint(ir.astype(np.float64) * (255.0 / 65535.0)), 0, 255).astype(np.uint8)
    if np.issubdtype(ir.dtype, np.floating):
        return (RangeScaler(mode='percentile')(ir) * 255.0 + 0.5).astype(np.uint8)
    raise TypeError(f'IR image must be uint8, uint16 or float, got {ir.dtype}')
