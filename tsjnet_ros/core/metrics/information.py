"""Information-theoretic fusion metrics: entropy (EN) and mutual information (MI).

Both use 256-bin grey-level histograms of the images rounded to integer levels 0..255.
EN is in bits. MI defaults to bits summed over the two sources,
``MI = MI(IR, F) + MI(VIS, F)`` (Qu et al. 2002); ``base="nats"`` gives the natural-log
values that scikit-learn's ``mutual_info_score`` (and evaluators built on it) report, and
``combine="mean"`` halves the sum.
"""

from __future__ import annotations

import numpy as np

from tsjnet_ros.core.metrics.image_input import (
    as_gray_float,
    as_gray_levels,
    as_gray_set,
    combine_two,
)

_LEVELS = 256
_LOG_BASES = {'bits': np.log(2.0), 'nats': 1.0}


def _log_divisor(base: str) -> float:
    try:
        return _LOG_BASES[base]
    except KeyError:
        raise ValueError(f'base must be one of {sorted(_LOG_BASES)}, got {base!r}') from None


def _entropy_of(probabilities: np.ndarray) -> float:
    p = probabilities[probabilities > 0]
    return float(-np.sum(p * np.log(p)))


def entropy(fused: np.ndarray, base: str = 'bits') -> float:
    """EN = -sum_l p(l) log p(l) over the 256-level histogram of ``fused`` (bits by default)."""
    levels = as_gray_levels(as_gray_float(fused, 'fused')).ravel()
    hist = np.bincount(levels, minlength=_LEVELS) / levels.size
    return _entropy_of(hist) / _log_divisor(base)


def _pair_mutual_information(source: np.ndarray, fused: np.ndarray) -> float:
    """MI in nats from the 256x256 joint histogram: H(S) + H(F) - H(S, F)."""
    joint = np.bincount((source * _LEVELS + fused).ravel(), minlength=_LEVELS * _LEVELS)
    joint = joint / source.size
    joint2d = joint.reshape(_LEVELS, _LEVELS)
    return _entropy_of(joint2d.sum(axis=1)) + _entropy_of(joint2d.sum(axis=0)) - _entropy_of(joint)


def mutual_information(
    ir: np.ndarray,
    visible: np.ndarray,
    fused: np.ndarray,
    base: str = 'bits',
    combine: str = 'sum',
) -> float:
    """MI between each source and the fused image, combined over the two sources."""
    a, b, f = (as_gray_levels(x) for x in as_gray_set(ir, visible, fused))
    divisor = _log_divisor(base)
    mi_a = _pair_mutual_information(a, f) / divisor
    mi_b = _pair_mutual_information(b, f) / divisor
    return combine_two(mi_a, mi_b, combine)
