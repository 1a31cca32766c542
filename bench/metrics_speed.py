"""Time every fusion metric on one 640x480 IR/visible/fused triple (target: all in < 1 s).

Uses the first MSRS pair from ../shared/data when present (fused by the Laplacian pyramid
baseline), otherwise a synthetic textured pair of the same size. Prints the median of
``--repeats`` runs per metric and for the whole suite.

    python bench/metrics_speed.py [--repeats 5] [--convention default]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import cv2
import numpy as np

from tsjnet_ros.core.metrics import FUSION_METRICS, evaluate_fusion
from tsjnet_ros.core.metrics.fusion_suite import resolve_conventions

DATA = Path(__file__).resolve().parents[1] / '..' / 'shared' / 'data' / 'msrs'


def _triple() -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    ir_path, vis_path = DATA / 'ir' / '00004N.png', DATA / 'vi' / '00004N.png'
    if ir_path.is_file() and vis_path.is_file():
        ir = cv2.imread(str(ir_path), cv2.IMREAD_GRAYSCALE)
        vis = cv2.imread(str(vis_path), cv2.IMREAD_GRAYSCALE)
        source = 'MSRS 00004N'
    else:
        rng = np.random.default_rng(0)
        ir = cv2.resize(rng.integers(0, 256, (60, 80)).astype(np.uint8), (640, 480))
        vis = cv2.GaussianBlur(rng.integers(0, 256, (480, 640)).astype(np.uint8), (5, 5), 1.0)
        source = 'synthetic'
    try:
        from tsjnet_ros.core.fusion import create_backend

        fused = create_backend('laplacian_pyramid').fuse(ir, vis).fused
    except ImportError:
        fused = ((ir.astype(np.uint16) + vis) // 2).astype(np.uint8)
    return ir, vis, fused, source


def _median_seconds(function, repeats: int) -> tuple[float, float]:
    """Median wall-clock and median process CPU seconds of ``repeats`` calls."""
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        function()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(wall), statistics.median(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--convention', default='default')
    args = parser.parse_args()
    ir, vis, fused, source = _triple()
    options = resolve_conventions(args.convention)
    a, b, f = (x.astype(np.float64) for x in (ir, vis, fused))
    print(
        f'pair: {source}, {ir.shape[1]}x{ir.shape[0]}, convention {args.convention}, '
        f'median of {args.repeats}'
    )
    print(f'  {"metric":6s} {"wall ms":>8s} {"cpu ms":>8s}')
    for name, metric in FUSION_METRICS.items():
        wall, cpu = _median_seconds(lambda: metric(a, b, f, **options.get(name, {})), args.repeats)
        print(f'  {name:6s} {wall * 1000:8.1f} {cpu * 1000:8.1f}')
    wall, cpu = _median_seconds(
        lambda: evaluate_fusion(ir, vis, fused, convention=args.convention), args.repeats
    )
    verdict = 'OK' if wall < 1.0 else 'SLOW'
    print(
        f'all {len(FUSION_METRICS)} metrics: {wall * 1000:.0f} ms wall, {cpu * 1000:.0f} ms CPU '
        f'per pair (target < 1000 ms wall: {verdict})'
    )


if __name__ == '__main__':
    main()
