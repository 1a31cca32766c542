"""Whole-system speed: fusion + detection + segmentation per 640x480 pair on the CPU.

Times the shipped checkpoint and the previous real-time system (``tsjnet_rt`` with its
source-blend head and the ``light`` heads, as shipped before; random weights of the same
architecture unless ``--baseline`` names its file) through :class:`FusionPipeline`, pair
by pair in turn on the MSRS pairs, so both see the same machine load. Prints the median
per-pair time, frames per second and the ratio. Goal: the shipped system >= 10 fps on two
cores. Each ``--size`` other than the camera's runs through ``inference_size``.

    python bench/system_speed.py [--pairs 20] [--threads 0] [--baseline OLD.pt]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / '..' / 'shared' / 'data' / 'msrs'


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--data', type=Path, default=DATA, help='pair folder (default: the MSRS pairs)'
    )
    parser.add_argument('--pairs', type=int, default=20, help='pairs timed per system')
    parser.add_argument('--threads', type=int, default=0, help='cpu_threads (0 = auto)')
    parser.add_argument(
        '--checkpoint', default='', help='system under test (default: the shipped one)'
    )
    parser.add_argument(
        '--baseline',
        default='',
        help="previous system's checkpoint (default: its architecture, random weights)",
    )
    args = parser.parse_args()

    from tsjnet_ros.core.datasets import PairDataset
    from tsjnet_ros.core.model.checkpoint import Normalization, build_system
    from tsjnet_ros.core.model.heads.config import HEADS_PRESETS
    from tsjnet_ros.core.runtime.pipeline import FusionPipeline
    from tsjnet_ros.resources import default_checkpoint

    shipped = FusionPipeline.from_checkpoint(
        args.checkpoint or default_checkpoint(), cpu_threads=args.threads
    )
    if args.baseline:
        previous = FusionPipeline.from_checkpoint(args.baseline, cpu_threads=args.threads)
    else:
        system = build_system(
            'tsjnet_rt', {'image_head': 'source_blend'}, HEADS_PRESETS['light'], seed=0
        )
        previous = FusionPipeline(system, Normalization(), device='cpu', cpu_threads=args.threads)
    dataset = PairDataset(args.data)
    samples = [dataset[i % len(dataset)] for i in range(args.pairs)]
    times: dict[str, list[float]] = {'shipped': [], 'previous': []}
    print(
        f'load average at start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs, '
        f'{shipped.cpu_threads} thread(s), {len(samples)} pairs of '
        f'{samples[0].ir.shape[1]}x{samples[0].ir.shape[0]}'
    )
    for s in samples:
        for name, pipeline in (('shipped', shipped), ('previous', previous)):
            start = time.perf_counter()
            pipeline(s.ir, s.visible)
            times[name].append(time.perf_counter() - start)
    medians = {k: statistics.median(v) for k, v in times.items()}
    for name, label in (
        ('previous', 'previous system (source-blend + light heads)'),
        ('shipped', 'shipped system'),
    ):
        print(f'{label:46s} {1000 * medians[name]:7.1f} ms per pair  {1 / medians[name]:5.1f} fps')
    print(
        f'speed-up: {medians["previous"] / medians["shipped"]:.2f}x   load average at end: '
        f'{os.getloadavg()[0]:.2f}'
    )
    return 0


if __name__ == '__main__':
    sys.exit(main())
