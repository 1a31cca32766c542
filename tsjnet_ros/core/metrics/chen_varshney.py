"""Chen-Varshney metric Q_CV (Chen & Varshney 2007): lower is better, 0 for a perfect fusion.

Follows the widely used MATLAB implementation (Z. Liu's fusion-metrics toolbox, also used by
VIFB), so values are comparable with tables computed with it:

1. Each image (IR, VIS, F) is min-max normalised to 0..255 and rounded.
2. Edge strength G of each source by the 3x3 Sobel operator (zero padding).
3. The image is cut into non-overlapping 16x16 blocks (the last partial blocks are zero
   padded); a source's saliency in block w is lambda(w) = sum over w of G^alpha, alpha = 5.
4. The difference images IR - F and VIS - F are filtered in the frequency domain by the
   Mannos-Sakrison contrast sensitivity function
   S(r) = 2.6 (0.0192 + 0.144 r) exp(-(0.144 r)^1.1), where r = sqrt(kx^2 + ky^2) / 4 for
   integer frequency indices (cycles per image) kx, ky, as in the toolbox. D(w) is the mean
   square of the filtered difference over block w.
5. Q_CV = sum_w (lambda_IR(w) D_IR(w) + lambda_VIS(w) D_VIS(w)) / sum_w (lambda_IR + lambda_VIS).

Units: squared grey levels (a perceptually weighted local MSE).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from tsjnet_ros.core.metrics.image_input import as_gray_set
from tsjnet_ros.core.metrics.qabf import sobel_strength_orientation

_BLOCK = 16
_ALPHA = 5.0


def _normalise(image: np.ndarray) -> np.ndarray:
    low, high = float(image.min()), float(image.max())
    if high == low:
        return image
    return np.rint((image - low) / (high - low) * 255.0)


def _block_reduce(values: np.ndarray, block: int, reduce: str) -> np.ndarray:
    """Sum or mean over non-overlapping block x block tiles, zero padding partial tiles."""
    h, w = values.shape
    ph, pw = -h % block, -w % block
    padded = np.pad(values, ((0, ph), (0, pw)))
    tiles = padded.reshape(padded.shape[0] // block, block, padded.shape[1] // block, block)
    total = tiles.sum(axis=(1, 3))
    return total if reduce == 'sum' else total / (block * block)


@lru_cache(maxsize=8)
def mannos_sakrison_csf(shape: tuple[int, int]) -> np.ndarray:
    """CSF gain for each bin of ``numpy.fft.rfft2`` of an image of ``shape``.

    Cached per image size (evaluation runs see few sizes); the array is read-only.
    """
    h, w = shape
    ky = np.fft.fftfreq(h) * h
    kx = np.fft.rfftfreq(w) * w  # real-input FFT layout: non-negative x frequencies only
    r = np.sqrt(kx[None, :] ** 2 + ky[:, None] ** 2) / 4.0
    gain = 2.6 * (0.0192 + 0.144 * r) * np.exp(-((0.144 * r) ** 1.1))
    gain.flags.writeable = False
    return gain


def chen_varshney(
    ir: np.ndarray,
    visible: np.ndarray,
    fused: np.ndarray,
    alpha: float = _ALPHA,
    block: int = _BLOCK,
) -> float:
    """Q_CV of the fused image (lower is better); see the module docstring for the steps."""
    if block < 1:
        raise ValueError(f'block must be >= 1, got {block}')
    a, b, f = (_normalise(x) for x in as_gray_set(ir, visible, fused))
    csf = mannos_sakrison_csf(f.shape)
    saliency = []
    distortion = []
    for source in (a, b):
        strength, _ = sobel_strength_orientation(source)
        saliency.append(_block_reduce(strength**alpha, block, 'sum'))
        filtered = np.fft.irfft2(np.fft.rfft2(source - f) * csf, s=f.shape)
        distortion.append(_block_reduce(filtered * filtered, block, 'mean'))
    weight = saliency[0] + saliency[1]
    total_weight = float(weight.sum())
    if total_weight == 0:
        # Flat sources: no block is more salient than another, so weigh blocks equally.
        return float(np.mean(distortion[0] + distortion[1]) / 2.0)
    return float(np.sum(saliency[0] * distortion[0] + saliency[1] * distortion[1]) / total_weight)
