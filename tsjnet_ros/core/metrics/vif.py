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
        raise ValueError("image is too small for the 4-scale VIF (use at least 41x41 pixels)")
    out = cv2.sepFilter2D(image, cv2.CV_64F, kernel, kernel, borderType=cv2.BORDER_REFLECT)
    return out[half:-half, half:-half]


def vif_pair(reference: np.ndarray, distorted: np.ndarray) -> float:
    """Multi-scale pixel-domain VIF of ``distorted`` against ``reference``."""
    ref = as_gray_float(reference, "reference")
    dist = as_gray_float(distorted, "distorted")
    if ref.shape != dist.shape:
        raise ValueError(f"images differ in shape: {ref.shape} vs {dist.shape}")
    numerator = 0.0
    denominator = 0.0
    for scale in range(1, _SCALES + 1):
        kernel = _gaussian_kernel(2 ** (_SCALES - scale + 1) + 1)
        if scale > 1:
            ref = _valid_filter(ref, kernel)[::2, ::2]
            dist = _valid_filter(dist, kernel)[::2, ::2]
        mu_r = _valid_filter(ref, kernel)
        mu_d = _valid_filter(dist, kernel)
        var_r = np.maximum(_valid_filter(ref * ref, kernel) - mu_r * mu_r, 0.0)
        var_d = np.maximum(_valid_filter(dist * dist, kernel) - mu_d * mu_d, 0.0)
        cov = _valid_filter(ref * dist, kernel) - mu_r * mu_d

        gain = cov / (var_r + _EPS)
        noise = var_d - gain * cov
        flat_ref = var_r < _EPS
        gain[flat_ref] = 0.0
        noise[flat_ref] = var_d[flat_ref]
        var_r[flat_ref] = 0.0
        flat_dist = var_d < _EPS
        gain[flat_dist] = 0.0
        noise[flat_dist] = 0.0
        negative = gain < 0
        noise[negative] = var_d[negative]
        gain[negative] = 0.0
        noise = np.maximum(noise, _EPS)

        numerator += float(
            np.sum(np.log10(1.0 + gain * gain * var_r / (noise + _NOISE_VARIANCE)))
        )
        denominator += float(np.sum(np.log10(1.0 + var_r / _NOISE_VARIANCE)))
    if denominator == 0:
        # A perfectly flat reference carries no information; by convention nothing is lost.
        return 1.0
    return numerator / denominator


def visual_information_fidelity(
    ir: np.ndarray, visible: np.ndarray, fused: np.ndarray, combine: str = "mean"
) -> float:
    """Two-source VIF of the fused image; see the module docstring for the conventions."""
    a, b, f = as_gray_set(ir, visible, fused)
    return combine_two(vif_pair(a, f), vif_pair(b, f), combine)
