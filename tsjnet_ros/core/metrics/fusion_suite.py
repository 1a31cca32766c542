"""All fusion metrics by name, with conventions selectable per metric or by a named preset.

``evaluate_fusion(ir, visible, fused)`` returns every metric for one fused pair, computed
under the ``"default"`` conventions (see docs/metrics.md). The ``"cddfuse"`` preset matches
the Python evaluator shipped with CDDFuse and reused by many later papers (two-source
metrics summed for SSIM/VIF/MI, MI in nats, PSNR peak max(F), SSIM 7x7 uniform window with
data_range 2), so numbers can be compared with tables produced by it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from tsjnet_ros.core.metrics.chen_varshney import chen_varshney
from tsjnet_ros.core.metrics.error import mean_squared_error, peak_signal_to_noise_ratio
from tsjnet_ros.core.metrics.gradient import average_gradient, spatial_frequency
from tsjnet_ros.core.metrics.image_input import as_gray_set
from tsjnet_ros.core.metrics.information import entropy, mutual_information
from tsjnet_ros.core.metrics.qabf import qabf
from tsjnet_ros.core.metrics.ssim import structural_similarity
from tsjnet_ros.core.metrics.statistics import (
    correlation_coefficient,
    standard_deviation,
    sum_of_correlation_differences,
)
from tsjnet_ros.core.metrics.vif import visual_information_fidelity


@dataclass(frozen=True)
class FusionMetric:
    """A named metric: its function, whether it needs the sources, and its direction."""

    name: str
    function: Callable[..., float]
    uses_sources: bool
    higher_is_better: bool
    unit: str
    description: str

    def __call__(
        self, ir: np.ndarray, visible: np.ndarray, fused: np.ndarray, **options: Any
    ) -> float:
        if self.uses_sources:
            return self.function(ir, visible, fused, **options)
        return self.function(fused, **options)


FUSION_METRICS: dict[str, FusionMetric] = {
    m.name: m
    for m in (
        FusionMetric('SSIM', structural_similarity, True, True, '', 'structural similarity'),
        FusionMetric(
            'PSNR', peak_signal_to_noise_ratio, True, True, 'dB', 'peak signal-to-noise ratio'
        ),
        FusionMetric(
            'MSE', mean_squared_error, True, False, 'grey levels^2', 'mean squared error'
        ),
        FusionMetric(
            'VIF', visual_information_fidelity, True, True, '', 'visual information fidelity'
        ),
        FusionMetric('CC', correlation_coefficient, True, True, '', 'correlation coefficient'),
        FusionMetric('CV', chen_varshney, True, False, 'grey levels^2', 'Chen-Varshney'),
        FusionMetric('EN', entropy, False, True, 'bits', 'entropy'),
        FusionMetric('SD', standard_deviation, False, True, 'grey levels', 'standard deviation'),
        FusionMetric('SF', spatial_frequency, False, True, 'grey levels', 'spatial frequency'),
        FusionMetric('AG', average_gradient, False, True, 'grey levels', 'average gradient'),
        FusionMetric('MI', mutual_information, True, True, 'bits', 'mutual information'),
        FusionMetric(
            'SCD', sum_of_correlation_differences, True, True, '', 'sum of correlation differences'
        ),
        FusionMetric('Qabf', qabf, True, True, '', 'edge preservation Q^AB/F'),
    )
}

PAPER_METRICS = ('SSIM', 'PSNR', 'MSE', 'VIF', 'CC', 'CV')

CONVENTION_PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    'default': {},
    'cddfuse': {
        'SSIM': {'window': 'uniform', 'data_range': 2.0, 'combine': 'sum'},
        'PSNR': {'peak': 'max_fused'},
        'VIF': {'combine': 'sum'},
        'MI': {'base': 'nats', 'combine': 'sum'},
        'AG': {'difference': 'central'},
    },
}


def resolve_conventions(
    convention: str | Mapping[str, Mapping[str, Any]] = 'default',
) -> dict[str, dict[str, Any]]:
    """Turn a preset name or a {metric: {option: value}} mapping into per-metric options."""
    if isinstance(convention, str):
        try:
            preset = CONVENTION_PRESETS[convention]
        except KeyError:
            raise ValueError(
                f'unknown convention preset {convention!r}; available: '
                f'{", ".join(CONVENTION_PRESETS)}'
            ) from None
        return {name: dict(options) for name, options in preset.items()}
    resolved: dict[str, dict[str, Any]] = {}
    for name, options in convention.items():
        if name not in FUSION_METRICS:
            raise ValueError(f'unknown metric {name!r}; known: {", ".join(FUSION_METRICS)}')
        resolved[name] = dict(options)
    return resolved


def evaluate_fusion(
    ir: np.ndarray,
    visible: np.ndarray,
    fused: np.ndarray,
    metrics: list[str] | tuple[str, ...] | None = None,
    convention: str | Mapping[str, Mapping[str, Any]] = 'default',
) -> dict[str, float]:
    """Compute the named fusion metrics (all by default) for one IR/visible/fused triple."""
    names = list(FUSION_METRICS) if metrics is None else list(metrics)
    unknown = [n for n in names if n not in FUSION_METRICS]
    if unknown:
        raise ValueError(f'unknown metrics {unknown}; known: {", ".join(FUSION_METRICS)}')
    options = resolve_conventions(convention)
    a, b, f = as_gray_set(ir, visible, fused)
    return {name: float(FUSION_METRICS[name](a, b, f, **options.get(name, {}))) for name in names}
