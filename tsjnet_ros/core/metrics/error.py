"""Pixel error metrics against the two sources: MSE and PSNR.

Default (the convention the TSJNet paper's magnitudes point to):
``MSE = (mean((IR - F)^2) + mean((VIS - F)^2)) / 2`` in squared grey levels, and
``PSNR = 10 log10(peak^2 / MSE)`` in dB with ``peak = 255``. Some Python evaluators use the
fused image's maximum as the peak (``peak="max_fused"``). When MSE is 0 (the fused image
equals both sources) PSNR is ``inf``, or ``max_db`` when a cap is given.
"""

from __future__ import annotations

import numpy as np

from tsjnet_ros.core.metrics.image_input import as_gray_set, combine_two


def mean_squared_error(
    ir: np.ndarray, visible: np.ndarray, fused: np.ndarray, combine: str = 'mean'
) -> float:
    """Per-source mean squared error, averaged (default) or summed over the two sources."""
    a, b, f = as_gray_set(ir, visible, fused)
    return combine_two(float(np.mean((a - f) ** 2)), float(np.mean((b - f) ** 2)), combine)


def peak_signal_to_noise_ratio(
    ir: np.ndarray,
    visible: np.ndarray,
    fused: np.ndarray,
    peak: float | str = 255.0,
    max_db: float | None = None,
) -> float:
    """PSNR in dB from the two-source mean MSE; ``peak`` is a number or ``"max_fused"``."""
    a, b, f = as_gray_set(ir, visible, fused)
    if isinstance(peak, str):
        if peak != 'max_fused':
            raise ValueError(f"peak must be a positive number or 'max_fused', got {peak!r}")
        peak_value = float(f.max())
    else:
        peak_value = float(peak)
        if not peak_value > 0:
            raise ValueError(f'peak must be positive, got {peak}')
    mse = combine_two(float(np.mean((a - f) ** 2)), float(np.mean((b - f) ** 2)), 'mean')
    if mse == 0:
        psnr = float('inf')
    elif peak_value == 0:
        psnr = float('-inf')
    else:
        psnr = float(10.0 * np.log10(peak_value**2 / mse))
    if max_db is not None:
        psnr = min(psnr, float(max_db))
    return psnr
