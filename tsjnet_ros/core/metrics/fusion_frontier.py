"""Where a fusion method stands against the classical trade-off between PSNR and contrast.

Average fusion minimises the two-source MSE, so it holds the best PSNR; max fusion holds the
best VIF, Qabf and CV of the classical baselines. Between them lies a path (the brighter
source weighted from 0.5 to 1, per pixel or in the Laplacian pyramid's base level). A
learnt method earns its place when no classical method is at least as good on every one of
the six metrics (it is not dominated) and it beats the Laplacian pyramid on VIF and Qabf at
equal or better PSNR. This module scores methods over a pair folder, names the methods
that dominate a candidate, and draws the frontier.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from tsjnet_ros.core.datasets import PairDataset
from tsjnet_ros.core.metrics.fusion_suite import FUSION_METRICS, evaluate_fusion
from tsjnet_ros.core.metrics.image_input import ir_to_uint8

FRONTIER_METRICS = ('SSIM', 'PSNR', 'VIF', 'Qabf', 'SF', 'CV')
BLEND_WEIGHTS = (0.6, 0.7, 0.8, 0.9)
Fuser = Callable[
    [np.ndarray, np.ndarray], np.ndarray
]  # (ir, visible) camera frames -> fused uint8


def classical_methods() -> dict[str, Any]:
    """Return the classical baselines and the blend path, by display name.

    The values are objects with ``fuse``.
    """
    from tsjnet_ros.core.fusion import create_backend
    from tsjnet_ros.core.fusion.classical import PixelFusion

    methods: dict[str, Any] = {
        name: create_backend(name) for name in ('average', 'max', 'laplacian_pyramid')
    }
    for w in BLEND_WEIGHTS:
        methods[f'pixel blend {w:g}'] = PixelFusion('blend', brighter_weight=w)
    for w in (*BLEND_WEIGHTS, 1.0):
        methods[f'pyramid base {w:g}'] = create_backend(
            'laplacian_pyramid', base_brighter_weight=w
        )
    return methods


def _score(job: tuple[str, str, dict[str, Any], tuple[str, ...]]) -> dict[str, dict[str, float]]:
    root, name, methods, metrics = job
    dataset = PairDataset(root)
    sample = dataset[dataset.names.index(name)]
    ir8 = ir_to_uint8(sample.ir)
    luma = (
        cv2.cvtColor(sample.visible, cv2.COLOR_RGB2GRAY)
        if sample.visible.ndim == 3
        else sample.visible
    )
    return {
        label: evaluate_fusion(
            ir8, luma, method.fuse(sample.ir, sample.visible).fused, list(metrics)
        )
        for label, method in methods.items()
    }


def score_methods(
    root: str | Path,
    names: Sequence[str] | None,
    methods: Mapping[str, Any],
    metrics: Sequence[str] = FRONTIER_METRICS,
    workers: int = 1,
) -> dict[str, dict[str, float]]:
    """Mean of each metric per method over the pairs ``names`` of ``root`` (all when None).

    ``methods`` map a display name to an object with ``fuse(ir, visible)`` returning a
    result with a uint8 ``fused`` image; with ``workers`` > 1 they must be picklable.
    Metrics are computed on 8-bit luminance under the default conventions.
    """
    dataset = PairDataset(root)
    chosen = list(names) if names else list(dataset.names)
    missing = sorted(set(chosen) - set(dataset.names))
    if missing:
        raise ValueError(f'pairs not in {root}: {", ".join(missing[:5])}')
    jobs = [(str(root), name, dict(methods), tuple(metrics)) for name in chosen]
    if workers > 1:
        with ProcessPoolExecutor(workers) as pool:
            per_pair = list(pool.map(_score, jobs))
    else:
        per_pair = [_score(job) for job in jobs]
    return {
        label: {m: float(np.mean([p[label][m] for p in per_pair])) for m in metrics}
        for label in methods
    }


def _at_least_as_good(
    a: Mapping[str, float], b: Mapping[str, float], metrics: Sequence[str]
) -> bool:
    """Return True when ``a`` is at least as good as ``b`` on every metric."""
    for m in metrics:
        higher = FUSION_METRICS[m].higher_is_better
        if (a[m] < b[m]) if higher else (a[m] > b[m]):
            return False
    return True


def dominating_methods(
    means: Mapping[str, Mapping[str, float]],
    candidate: str,
    among: Sequence[str],
    metrics: Sequence[str] = FRONTIER_METRICS,
) -> list[str]:
    """Return the methods of ``among`` at least as good as ``candidate`` on all ``metrics``."""
    return [
        name
        for name in among
        if name != candidate and _at_least_as_good(means[name], means[candidate], metrics)
    ]


def plot_frontier(
    means: Mapping[str, Mapping[str, float]], highlight: Sequence[str], path: str | Path
) -> Path:
    """PSNR against VIF and against Qabf for every method; ``highlight`` drawn as stars."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    for ax, metric in zip(axes, ('VIF', 'Qabf')):
        for prefix, style in (('pixel blend', 'o-'), ('pyramid base', 's-')):
            path_names = [n for n in means if n.startswith(prefix)]
            ax.plot(
                [means[n]['PSNR'] for n in path_names],
                [means[n][metric] for n in path_names],
                style,
                label=f'{prefix} {BLEND_WEIGHTS[0]:g}..1',
                alpha=0.7,
            )
        for name in ('average', 'max', 'laplacian_pyramid'):
            ax.plot(means[name]['PSNR'], means[name][metric], 'D', label=name)
        for name in highlight:
            ax.plot(means[name]['PSNR'], means[name][metric], '*', markersize=16, label=name)
        ax.set_xlabel('PSNR (dB)')
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.suptitle('Fusion methods against the classical path (means over the pairs)')
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
