"""Visual information fidelity (VIF), pixel-domain multi-scale form (Sheikh & Bovik 2006).

For a reference R (a source image) and a distorted image D (the fused image) the Gaussian
scale mixture model is evaluated at 4 scales. At scale s = 1..4 a Gaussian window of size
N = 2^(5-s) + 1 (17, 9, 5, 3) with standard deviation N/5 gives local means, variances and
the covariance ("valid" filtering); from scale 2 on both images are first filtered with that
window and subsampled by 2. With g = sigma_RD / sigma_R^2 and
sigma_v^2 = sigma_D^2 - g sigma_RD, and the HVS noise variance sigma_n^2 = 2:

    VIF(R, D) = sum log10(1 + g^2 sigma_R^2 / (sigma_v^2 + sigma_n^2))
                / sum log10(1 + sigma_R^2 / sigma_n^2)

summed over all positions and scales. Default two-source convention:
``VIF = (VIF(IR, F) + VIF(VIS, F)) / 2``; several Python evaluators report the sum
(``combine="sum"``). VIF(R, R) = 1; contrast-enhanced images can exceed 1.
"""

from __future__ import annotations

import cv2
import numpy as np

from tsjnet_ros.core.metrics.image_input import as_gray_float, as_gray_set, combine_two

_NOISE_VARIANCE = 2.0
_EPS = 1e-10
_SCALES = 4


def _gaussian_kernel(size: int) -> np.ndarray:
    sd = size / 5.0
    x = np.arange(size) - (size - 1) / 2.0
    g = np.exp(-(x * x) / (2.0 * sd * sd))
    return g / g.sum()


def _valid_filter(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Correlate with the separable kernel and keep only fully covered positions."""
    half = (kernel.size - 1) // 2
    if image.shape[0] <= 2 * half or image.shape[1] <= 2 * half:
        raise ValueError('image is too small for the 4-scale VIF (use at least 41x41 pixels)')
    out = cv2.sepFilter2D(image, cv2.CV_64F, kernel, kernel, borderType=cv2.BORDER_REFLECT)
    return out[half:-half, half:-half]


def _local_statistics(image: np.ndarray, kernel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = _valid_filter(image, kernel)
    variance = np.maximum(_valid_filter(image * image, kernel) - mean * mean, 0.0)
    return mean, variance


def _information_terms(
    var_r: np.ndarray, var_d: np.ndarray, cov: np.ndarray
) -> tuple[float, float]:
    """(numerator, denominator) sums of one scale, with the reference code's guards."""
    gain = cov / (var_r + _EPS)
    noise = var_d - gain * cov
    flat_ref = var_r < _EPS
    gain[flat_ref] = 0.0
    noise[flat_ref] = var_d[flat_ref]
    var_r = np.where(flat_ref, 0.0, var_r)
    flat_dist = var_d < _EPS
    gain[flat_dist] = 0.0
    noise[flat_dist] = 0.0
    negative = gain < 0
    noise[negative] = var_d[negative]
    gain[negative] = 0.0
    np.maximum(noise, _EPS, out=noise)
    numerator = float(np.sum(np.log10(1.0 + gain * gain * var_r / (noise + _NOISE_VARIANCE))))
    denominator = float(np.sum(np.log10(1.0 + var_r / _NOISE_VARIANCE)))
    return numerator, denominator


def vif_pairs(references: list[np.ndarray], distorted: np.ndarray) -> list[float]:
    """Multi-scale pixel-domain VIF of ``distorted`` against each reference.

    The distorted image's pyramid and local statistics are computed once for all references.
    """
    refs = [as_gray_float(r, 'reference') for r in references]
    dist = as_gray_float(distorted, 'distorted')
    for ref in refs:
        if ref.shape != dist.shape:
            raise ValueError(f'images differ in shape: {ref.shape} vs {dist.shape}')
    numerators = [0.0] * len(refs)
    denominators = [0.0] * len(refs)
    for scale in range(1, _SCALES + 1):
        kernel = _gaussian_kernel(2 ** (_SCALES - scale + 1) + 1)
        if scale > 1:
            refs = [_valid_filter(r, kernel)[::2, ::2] for r in refs]
            dist = _valid_filter(dist, kernel)[::2, ::2]
        mu_d, var_d = _local_statistics(dist, kernel)
        for i, ref in enumerate(refs):
            mu_r, var_r = _local_statistics(ref, kernel)
            cov = _valid_filter(ref * dist, kernel) - mu_r * mu_d
            numerator, denominator = _information_terms(var_r, var_d, cov)
            numerators[i] += numerator
            denominators[i] += denominator
    # A perfectly flat reference carries no information; by convention nothing is lost.
    return [n / d if d > 0 else 1.0 for n, d in zip(numerators, denominators)]


def vif_pair(reference: np.ndarray, distorted: np.ndarray) -> float:
    """Multi-scale pixel-domain VIF of ``distorted`` against ``reference``."""
    return vif_pairs([reference], distorted)[0]


def visual_information_fidelity(
    ir: np.ndarray, visible: np.ndarray, fused: np.ndarray, combine: str = 'mean'
) -> float:
    """Two-source VIF of the fused image; see the module docstring for the conventions."""
    a, b, f = as_gray_set(ir, visible, fused)
    vif_ir, vif_visible = vif_pairs([a, b], f)
    return combine_two(vif_ir, vif_visible, combine)
