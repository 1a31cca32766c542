"""Offline evaluation throughput: `tsjnet-bag evaluate` against the bare pipeline.

Makes a synthetic bag, then times (a) the bare pipeline on the same pairs held in memory
(pair preparation + backend.fuse, plus the fusion metrics when they are selected) and
(b) the full bag evaluation (read, synchronise, decode, the same work, overlay drawing and
writing the output bag). Prints pairs per second for both and their ratio; the bag tools
are meant to stay above 90 % of the bare pipeline, i.e. bag I/O must never be the
bottleneck. Run with OMP_NUM_THREADS set as in production; the figures are wall times on
this machine.

Usage: python bench/bag_eval_throughput.py [--pairs 60] [--size 640x480] [--backend NAME]
       [--metrics none|all|EN,SSIM] [--repeats 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import cv2

from tsjnet_ros.core.bag.evaluation import EvaluationOptions, evaluate_bag
from tsjnet_ros.core.bag.frame_sources import SyntheticSource
from tsjnet_ros.core.bag.maker import CameraTiming, MakeOptions, make_bag
from tsjnet_ros.core.bag.pairing import PairStream
from tsjnet_ros.core.bag.reader import BagReader
from tsjnet_ros.core.bag.topics import InputTopics
from tsjnet_ros.core.fusion import create_backend
from tsjnet_ros.core.metrics.fusion_suite import FUSION_METRICS, evaluate_fusion
from tsjnet_ros.core.metrics.image_input import ir_to_uint8
from tsjnet_ros.core.preparation.pair_preparation import prepare_pair
from tsjnet_ros.core.runtime.stream_settings import StreamSettings


def _metric_names(spec: str) -> list[str]:
    if spec == 'none':
        return []
    if spec == 'all':
        return list(FUSION_METRICS)
    return [m.strip() for m in spec.split(',') if m.strip()]


def bare_pipeline(
    pairs: list, backend, settings: StreamSettings, metrics: list[str]
) -> tuple[float, float]:
    """(wall s, CPU s) for prepare + fuse (+ metrics) over in-memory pairs."""
    start, cpu = time.perf_counter(), time.process_time()
    for ir, ir_enc, vis, vis_enc in pairs:
        a, b = prepare_pair(ir, ir_enc, vis, vis_enc, settings.resize_to)
        result = backend.fuse(a, b)
        if metrics:
            luma = cv2.cvtColor(b, cv2.COLOR_RGB2GRAY) if b.ndim == 3 else b
            evaluate_fusion(ir_to_uint8(a), luma, result.fused, metrics)
    return time.perf_counter() - start, time.process_time() - cpu


def bag_evaluation(
    bag: Path, out: Path | None, backend, settings: StreamSettings, options: EvaluationOptions
) -> tuple[float, float]:
    """(wall s, CPU s of all threads) for the whole bag evaluation."""
    start, cpu = time.perf_counter(), time.process_time()
    evaluate_bag(bag, backend, settings, out, options=options)
    return time.perf_counter() - start, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--pairs', type=int, default=60)
    parser.add_argument('--size', default='640x480')
    parser.add_argument('--backend', default='laplacian_pyramid')
    parser.add_argument('--metrics', default='none', help='none | all | comma-separated names')
    parser.add_argument(
        '--repeats', type=int, default=3, help='runs of each side; the fastest counts'
    )
    parser.add_argument(
        '--no-output-bag', action='store_true', help='evaluate without writing the output bag'
    )
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.lower().split('x'))
    metrics = _metric_names(args.metrics)
    settings = StreamSettings(fusion_backend=args.backend)
    backend = create_backend(args.backend)
    with tempfile.TemporaryDirectory() as tmp:
        bag = Path(tmp) / 'bench_bag'
        make_bag(
            bag, SyntheticSource(args.pairs / 30.0, width, height), CameraTiming(), MakeOptions()
        )
        with BagReader(bag) as reader:
            pairs = [
                (p.ir.array.copy(), p.ir.encoding, p.visible.array.copy(), p.visible.encoding)
                for p in PairStream(reader, InputTopics(), settings)
            ]
        backend.fuse(*prepare_pair(*pairs[0], settings.resize_to))  # warm-up
        options = EvaluationOptions(metrics=tuple(metrics), contact_sheet_rows=0, overwrite=True)
        bare_runs, bag_runs = [], []
        for _ in range(args.repeats):  # interleaved, so both sides see the same machine load
            bare_runs.append(bare_pipeline(pairs, backend, settings, metrics))
            out = None if args.no_output_bag else Path(tmp) / 'out_bag'
            bag_runs.append(bag_evaluation(bag, out, backend, settings, options))
    n = len(pairs)
    bare_wall, bag_wall = min(r[0] for r in bare_runs), min(r[0] for r in bag_runs)
    bare_cpu, bag_cpu = min(r[1] for r in bare_runs), min(r[1] for r in bag_runs)
    print(
        f'pairs {n} at {width}x{height}, backend {args.backend}, metrics '
        f'{args.metrics}, best of {args.repeats}'
    )
    print(
        f'bare pipeline   {n / bare_wall:7.2f} pairs/s  wall {bare_wall / n * 1000:6.1f} ms/pair, '
        f'CPU {bare_cpu / n * 1000:6.1f} ms/pair'
    )
    print(
        f'bag evaluation  {n / bag_wall:7.2f} pairs/s  wall {bag_wall / n * 1000:6.1f} ms/pair, '
        f'CPU {bag_cpu / n * 1000:6.1f} ms/pair'
        f' (read, sync{"" if args.no_output_bag else ", output bag and overlay"} included)'
    )
    print(
        f'throughput ratio {bare_wall / bag_wall * 100:5.1f} % of the bare pipeline (CPU-time '
        f'ratio {bare_cpu / bag_cpu * 100:5.1f} %)'
    )


if __name__ == '__main__':
    main()
