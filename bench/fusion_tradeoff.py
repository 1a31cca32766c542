"""PSNR against contrast metrics along the classical path from average to max fusion.

Average fusion minimises the two-source MSE, so it holds the best PSNR; max fusion holds
the best VIF, Qabf and CV of the classical baselines on MSRS. This sweeps the weight of the
brighter source from 0.5 (average) to 1 (max), per pixel and in the base level of the
Laplacian pyramid, prints every method's mean metrics over the pairs, then which methods
keep PSNR within ``--psnr-margin`` dB of average fusion and the best VIF, Qabf, SF and CV
among those. ``--checkpoint`` adds trained models (named by file): for each it prints the
classical methods at least as good on all six metrics (none: it is beyond the frontier)
and its VIF/Qabf/PSNR against the Laplacian pyramid; ``--plot`` draws all on the frontier.

    .venv/bin/python bench/fusion_tradeoff.py [--data ../shared/data/msrs] [--names-file F]
        [--checkpoint models/tsjnet_rt.pt] [--plot output/fusion_frontier.png]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tsjnet_ros.core.metrics.fusion_frontier import (
    FRONTIER_METRICS,
    classical_methods,
    dominating_methods,
    plot_frontier,
    score_methods,
)
from tsjnet_ros.core.training.config import read_name_list

DATA = Path(__file__).resolve().parents[1] / '..' / 'shared' / 'data' / 'msrs'
LOWER_IS_BETTER = {'CV'}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--data', type=Path, default=DATA, help='a pair dataset (default: the MSRS pairs)'
    )
    parser.add_argument(
        '--names-file', type=Path, default=None, help='only these pairs (one name per line)'
    )
    parser.add_argument('--limit', type=int, default=None, help='first N pairs only')
    parser.add_argument(
        '--checkpoint', action='append', default=[], help='a trained model to place (repeatable)'
    )
    parser.add_argument(
        '--plot', type=Path, default=None, help='write the frontier plot (PNG) here'
    )
    parser.add_argument(
        '--psnr-margin',
        type=float,
        default=1.0,
        help='allowed PSNR loss against average fusion, dB',
    )
    parser.add_argument('--workers', type=int, default=2)
    args = parser.parse_args()
    if not args.data.is_dir():
        print(f'no dataset at {args.data}', file=sys.stderr)
        return 1
    from tsjnet_ros.core.datasets import PairDataset

    names = (
        read_name_list(args.names_file) if args.names_file else list(PairDataset(args.data).names)
    )
    names = names[: args.limit] if args.limit else names
    means = score_methods(args.data, names, classical_methods(), workers=args.workers)
    classical = list(means)
    models = []
    for path in args.checkpoint:
        from tsjnet_ros.core.fusion import create_backend

        label = Path(path).name
        means.update(
            score_methods(args.data, names, {label: create_backend('tsjnet', checkpoint=path)})
        )
        models.append(label)
    print(
        f'{len(names)} pairs from {args.data.resolve()}; means, 8-bit luminance, '
        'default metric conventions'
    )
    print(f'{"method":22s}' + ''.join(f'{m:>9s}' for m in FRONTIER_METRICS))
    for name, row in means.items():
        print(f'{name:22s}' + ''.join(f'{row[m]:9.4g}' for m in FRONTIER_METRICS))
    floor = means['average']['PSNR'] - args.psnr_margin
    inside = [name for name in classical if means[name]['PSNR'] >= floor]
    print(
        f'\nwithin {args.psnr_margin:g} dB of average fusion (PSNR >= '
        f'{floor:.2f}): {", ".join(inside)}'
    )
    for m in FRONTIER_METRICS[2:]:
        pick = min if m in LOWER_IS_BETTER else max
        best_inside = pick(inside, key=lambda n: means[n][m])
        print(
            f'  {m:5s} best classical inside the budget '
            f'{means[best_inside][m]:8.4g} ({best_inside})'
        )
    lap = means['laplacian_pyramid']
    for label in models:
        row = means[label]
        dominated_by = dominating_methods(means, label, classical)
        print(
            f'\n{label}: classical methods at least as good on all six metrics: '
            f'{", ".join(dominated_by) or "none (beyond the classical frontier)"}'
        )
        print(
            f'  against laplacian_pyramid: VIF {row["VIF"]:.4f} vs {lap["VIF"]:.4f}, '
            f'Qabf {row["Qabf"]:.4f} vs {lap["Qabf"]:.4f}, PSNR '
            f'{row["PSNR"]:.2f} vs {lap["PSNR"]:.2f} dB'
        )
    if args.plot:
        print(f'\nplot: {plot_frontier(means, models, args.plot)}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
