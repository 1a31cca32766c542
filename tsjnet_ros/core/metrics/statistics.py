"""Statistical fusion metrics: SD, CC and SCD.

Standard deviation (SD), correlation coefficient (CC) and the sum of the correlations of
differences (SCD).

Correlations are Pearson coefficients over all pixels. They are undefined (NaN) when an
image involved is constant.
"""

from __future__ import annotations

import numpy as np

from tsjnet_ros.core.metrics.image_input import as_gray_float, as_gray_set, combine_two


def standard_deviation(fused: np.ndarray) -> float:
    """SD = sqrt(mean((F - mean F)^2)), population form, in grey levels (contrast)."""
    return float(np.std(as_gray_float(fused, 'fused')))


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson correlation of two equally shaped arrays; NaN if either is constant."""
    dx = x - x.mean()
    dy = y - y.mean()
    denominator = np.sqrt(np.sum(dx * dx) * np.sum(dy * dy))
    if denominator == 0:
        return float('nan')
    return float(np.sum(dx * dy) / denominator)


def correlation_coefficient(
    ir: np.ndarray, visible: np.ndarray, fused: np.ndarray, combine: str = 'mean'
) -> float:
    """CC = (r(IR, F) + r(VIS, F)) / 2 by default; ``combine="sum"`` adds them instead."""
    a, b, f = as_gray_set(ir, visible, fused)
    return combine_two(pearson(a, f), pearson(b, f), combine)


def sum_of_correlation_differences(
    ir: np.ndarray, visible: np.ndarray, fused: np.ndarray
) -> float:
    """SCD = r(F - VIS, IR) + r(F - IR, VIS) (Aslantas & Bendes 2015), range [-2, 2].

    F - VIS is what the fused image took beyond the visible image; it should correlate with
    the IR image, and symmetrically for F - IR and the visible image.
    """
    a, b, f = as_gray_set(ir, visible, fused)
    return pearson(f - b, a) + pearson(f - a, b)
