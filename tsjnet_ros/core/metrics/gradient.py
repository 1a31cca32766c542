"""Sharpness metrics of the fused image alone: spatial frequency (SF) and average gradient (AG).

Both are in grey levels per pixel on the 0..255 scale; higher means more detail (and more
noise, so read them next to a reference-based metric).
"""

from __future__ import annotations

import numpy as np

from tsjnet_ros.core.metrics.image_input import as_gray_float

AG_DIFFERENCES = ('central', 'forward')


def spatial_frequency(fused: np.ndarray) -> float:
    """SF = sqrt(RF^2 + CF^2) (Eskicioglu & Fisher 1995).

    RF^2 is the mean squared difference of horizontally adjacent pixels, CF^2 that of
    vertically adjacent ones; each mean is over the available differences, H*(W-1) and
    (H-1)*W (MATLAB toolboxes that divide by H*W give values smaller by a factor close to 1).
    """
    f = as_gray_float(fused, 'fused')
    row_freq_sq = np.mean(np.diff(f, axis=1) ** 2)
    col_freq_sq = np.mean(np.diff(f, axis=0) ** 2)
    return float(np.sqrt(row_freq_sq + col_freq_sq))


def average_gradient(fused: np.ndarray, difference: str = 'central') -> float:
    """AG = mean(sqrt((Gx^2 + Gy^2) / 2)).

    ``difference="central"`` (default): Gx, Gy are ``numpy.gradient`` derivatives (central
    differences inside, one-sided at the border), averaged over all H*W pixels, as in the
    Python evaluators used by recent fusion papers. ``"forward"``: Gx, Gy are forward
    differences averaged over the (H-1)*(W-1) interior, as in the VIFB MATLAB toolbox.
    """
    f = as_gray_float(fused, 'fused')
    if difference == 'central':
        gy, gx = np.gradient(f)
    elif difference == 'forward':
        gx = np.diff(f, axis=1)[:-1, :]
        gy = np.diff(f, axis=0)[:, :-1]
    else:
        raise ValueError(f'difference must be one of {AG_DIFFERENCES}, got {difference!r}')
    return float(np.mean(np.sqrt((gx * gx + gy * gy) / 2.0)))
