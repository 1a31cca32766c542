"""PSNR against contrast metrics along the classical path from average to max fusion.

Average fusion minimises the two-source MSE, so it holds the best PSNR; max fusion holds
the best VIF, Qabf and CV of the classical baselines on MSRS. This sweeps the weight of the
brighter source from 0.5 (average) to 1 (max), per pixel and in the base level of the
Laplacian pyramid, and prints every method's mean metrics over the pairs, then which
methods keep PSNR within ``--psnr-margin`` dB of average fusion and the best VIF, Qabf, SF
and CV among those. It shows how far a fusion method can move towards the contrast goals
before it leaves the PSNR budget.

    .venv/bin/python bench/fusion_tradeoff.py [--data ../shared/data/msrs] [--limit N]
"""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import cv2
import numpy as np

from tsjnet_ros.core.datasets import PairDataset
from tsjnet_ros.core.fusion import create_backend
from tsjnet_ros.core.fusion.classical import PixelFusion
from tsjnet_ros.core.metrics import evaluate_fusion
from tsjnet_ros.core.metrics.image_input import ir_to_uint8

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "msrs"
METRICS = ["SSIM", "PSNR", "VIF", "Qabf", "SF", "CV"]
LOWER_IS_BETTER = {"CV"}
WEIGHTS = (0.6, 0.7, 0.8, 0.9)


def methods() -> dict[str, object]:
    chosen = {name: create_backend(name) for name in ("average", "max", "laplacian_pyramid")}
    for w in WEIGHTS:
        chosen[f"pixel blend {w:g}"] = PixelFusion("blend", brighter_weight=w)
    for w in (*WEIGHTS, 1.0):
        chosen[f"pyramid base {w:g}"] = create_backend("laplacian_pyramid", base_brighter_weight=w)
    return chosen


def score_pair(args: tuple[str, int]) -> dict[str, dict[str, float]]:
    root, index = args
    sample = PairDataset(root)[index]
    ir8 = ir_to_uint8(sample.ir)
    luma = cv2.cvtColor(sample.visible, cv2.COLOR_RGB2GRAY)
    return {name: evaluate_fusion(ir8, luma, backend.fuse(sample.ir, sample.visible).fused, METRICS)
            for name, backend in methods().items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA, help="a pair dataset (default: the MSRS pairs)")
    parser.add_argument("--limit", type=int, default=None, help="first N pairs only")
    parser.add_argument("--psnr-margin", type=float, default=1.0, help="allowed PSNR loss against average fusion, dB")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    if not args.data.is_dir():
        print(f"no dataset at {args.data}", file=sys.stderr)
        return 1
    count = len(PairDataset(args.data)) if args.limit is None else min(args.limit, len(PairDataset(args.data)))
    with ProcessPoolExecutor(args.workers) as pool:
        per_pair = list(pool.map(score_pair, [(str(args.data), i) for i in range(count)]))
    means = {name: {m: float(np.mean([p[name][m] for p in per_pair])) for m in METRICS} for name in per_pair[0]}
    print(f"{count} pairs from {args.data.resolve()}; means, 8-bit luminance, default metric conventions")
    print(f"{'method':22s}" + "".join(f"{m:>9s}" for m in METRICS))
    for name, row in means.items():
        print(f"{name:22s}" + "".join(f"{row[m]:9.4g}" for m in METRICS))
    floor = means["average"]["PSNR"] - args.psnr_margin
    inside = [name for name, row in means.items() if row["PSNR"] >= floor]
    print(f"\nwithin {args.psnr_margin:g} dB of average fusion (PSNR >= {floor:.2f}): {', '.join(inside)}")
    baselines = ("average", "max", "laplacian_pyramid")
    for m in METRICS[2:]:
        pick = min if m in LOWER_IS_BETTER else max
        best_inside = pick(inside, key=lambda n: means[n][m])
        best_base = pick(baselines, key=lambda n: means[n][m])
        print(f"  {m:5s} best inside the budget {means[best_inside][m]:8.4g} ({best_inside}); "
              f"best classical baseline {means[best_base][m]:8.4g} ({best_base})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
