"""Full-range YCbCr (BT.601, JPEG convention) conversions.

Fusion works on luminance; colour is restored by keeping the visible image's Cb/Cr, which
is what the TSJNet authors do at inference and what users expect from a colour camera.
"""

from __future__ import annotations

import numpy as np

_RGB_TO_YCBCR = np.array(
    [[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]],
    dtype=np.float32,
)
_YCBCR_TO_RGB = np.array(
    [[1.0, 0.0, 1.402], [1.0, -0.344136, -0.714136], [1.0, 1.772, 0.0]], dtype=np.float32
)


def rgb_to_ycbcr(rgb: np.ndarray) -> np.ndarray:
    """HxWx3 uint8 RGB -> HxWx3 float32 YCbCr, Y in [0, 1], Cb/Cr centred on 0."""
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected HxWx3 RGB, got shape {rgb.shape}")
    return (rgb.astype(np.float32) / 255.0) @ _RGB_TO_YCBCR.T


def ycbcr_to_rgb(ycbcr: np.ndarray) -> np.ndarray:
    """HxWx3 float32 YCbCr (as from :func:`rgb_to_ycbcr`) -> HxWx3 uint8 RGB."""
    rgb = ycbcr @ _YCBCR_TO_RGB.T
    return np.clip(rgb * 255.0 + 0.5, 0, 255).astype(np.uint8)


def luminance_and_chroma(visible: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Split a uint8 visible image into Y in [0, 1] and CbCr (None for a mono camera)."""
    if visible.ndim == 2:
        return visible.astype(np.float32) / 255.0, None
    ycc = rgb_to_ycbcr(visible)
    return ycc[..., 0], ycc[..., 1:]


def merge_luminance(fused_u8: np.ndarray, chroma: np.ndarray | None) -> np.ndarray:
    """Fused uint8 luminance + visible CbCr -> HxWx3 uint8 RGB (grey when chroma is None)."""
    if chroma is None:
        return np.repeat(fused_u8[..., None], 3, axis=2)
    ycc = np.concatenate([fused_u8[..., None].astype(np.float32) / 255.0, chroma], axis=2)
    return ycbcr_to_rgb(ycc)
