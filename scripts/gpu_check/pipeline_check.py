r"""The shipped model through the node's inference path on one device, against the CPU.

The fusion node builds its backend on an :class:`InferenceThread`, fuses pairs there and on
*cleanup* drops the backend and calls :func:`free_model_memory` on that thread before ending
it. This check does the same outside ROS, on real pairs:

1. CPU fp32 pipeline: the reference fused image, segmentation and detections per pair;
2. per precision (fp32, bf16) on ``--device``: the same pairs through a backend built, run
   and released on an inference thread; fused images, segmentation and detections compared
   with the CPU's; ``torch.cuda.memory_allocated`` before building and after cleanup
   (must be equal), peak memory, median inference time per pair and per pair in a batch of
   ``--batch``.

Limits (fused 8-bit images): fp32 mean |d| <= 0.5 and 99th percentile <= 2 grey levels
(cuDNN may run fp32 convs as TF32, 10-bit mantissa); bf16 mean <= 1.5 and 99th percentile
<= 6 (8-bit mantissa: about one grey level per rounding, a few roundings deep); segmentation
agreeing on >= 99.5 % (fp32) / 98 % (bf16) of pixels. Detections are reported (count and
mean best IoU), not limited: a score near the threshold may flip. Exit status 1 when a limit
or the memory check fails.

    python scripts/gpu_check/pipeline_check.py --data gpu_pack/data/msrs_test --pairs 8 \
        --json pipeline.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tsjnet_ros.core.datasets import PairDataset  # noqa: E402
from tsjnet_ros.core.fusion import create_backend  # noqa: E402
from tsjnet_ros.core.runtime.inference_thread import InferenceThread, free_model_memory  # noqa: E402
from tsjnet_ros.core.runtime.pipeline import FusionPipeline  # noqa: E402
from tsjnet_ros.resources import default_checkpoint  # noqa: E402

LIMITS = {
    'fp32': {'mean': 0.5, 'p99': 2.0, 'seg': 0.995},
    'bf16': {'mean': 1.5, 'p99': 6.0, 'seg': 0.98},
}


def _iou(a, b) -> float:
    x1, y1 = max(a[0], b[0]), max(a[1], b[1])
    x2, y2 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def compare(results, references) -> dict:
    diffs = np.concatenate(
        [
            np.abs(r.fused.astype(np.int16) - c.fused.astype(np.int16)).ravel()
            for r, c in zip(results, references)
        ]
    )
    seg = [
        float((r.segmentation == c.segmentation).mean())
        for r, c in zip(results, references)
        if r.segmentation is not None and c.segmentation is not None
    ]
    ious, counts = [], []
    for r, c in zip(results, references):
        counts.append((len(r.detections), len(c.detections)))
        for d in c.detections:
            same = [_iou(d.box_xyxy, o.box_xyxy) for o in r.detections if o.class_id == d.class_id]
            ious.append(max(same, default=0.0))
    return {
        'fused_mean_abs': float(diffs.mean()),
        'fused_p99_abs': float(np.percentile(diffs, 99)),
        'fused_max_abs': int(diffs.max()),
        'segmentation_agreement': min(seg) if seg else None,
        'detections_device_vs_cpu': [sum(c[0] for c in counts), sum(c[1] for c in counts)],
        'detection_mean_best_iou': float(np.mean(ious)) if ious else None,
    }


def run_precision(
    device: str, precision: str, pairs, checkpoint: Path, batch_size: int
) -> tuple[list, dict]:
    """Build, run and release a backend on an inference thread as the node does."""
    cuda = device.startswith('cuda')
    thread = InferenceThread(f'check_{precision}')
    if cuda:
        torch.cuda.synchronize()
    start_mem = torch.cuda.memory_allocated() if cuda else None
    backend = thread.call(
        lambda: create_backend(
            'tsjnet',
            checkpoint=str(checkpoint),
            device=device,
            precision=precision,
            warmup_size=pairs[0][0].shape[:2],
        )
    )
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    results = [thread.call(backend.fuse, ir, vis) for ir, vis in pairs]
    pipeline = backend.pipeline
    batch = [pairs[i % len(pairs)] for i in range(batch_size)]
    batch_ms = []
    for _ in range(3):
        frames = thread.call(pipeline.process_batch, [p[0] for p in batch], [p[1] for p in batch])
        batch_ms.append(frames[0].timings['inference_ms'] / len(batch))
    info = {
        'inference_ms_per_pair': statistics.median(r.timings['inference_ms'] for r in results),
        'total_ms_per_pair': statistics.median(r.timings['total_ms'] for r in results),
        'batch_size': batch_size,
        'inference_ms_per_pair_batched': min(batch_ms),
    }
    if cuda:
        info['peak_allocated_mb'] = torch.cuda.max_memory_allocated() / 2**20
        info['allocated_while_loaded_mb'] = torch.cuda.memory_allocated() / 2**20
    # cleanup, as the node's on_cleanup: drop every reference, free on the thread, end it
    del backend, pipeline, frames
    thread.call(free_model_memory)
    closed = thread.close()
    if cuda:
        torch.cuda.synchronize()
        end_mem = torch.cuda.memory_allocated()
        info.update(
            {
                'allocated_before_bytes': start_mem,
                'allocated_after_cleanup_bytes': end_mem,
                'reserved_after_cleanup_mb': torch.cuda.memory_reserved() / 2**20,
                'memory_returned': end_mem == start_mem,
            }
        )
    info['thread_closed'] = closed
    return results, info


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--data', type=Path, required=True, help='folder of pairs (MSRS layout)')
    parser.add_argument('--pairs', type=int, default=8)
    parser.add_argument(
        '--batch', type=int, default=8, help='pairs per forward in the batched timing'
    )
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument(
        '--precisions', nargs='+', default=['fp32', 'bf16'], choices=sorted(LIMITS)
    )
    parser.add_argument(
        '--checkpoint', type=Path, default=None, help='default: the shipped checkpoint'
    )
    parser.add_argument('--json', type=Path)
    args = parser.parse_args()
    checkpoint = args.checkpoint or default_checkpoint()
    dataset = PairDataset(args.data)
    step = max(1, len(dataset) // args.pairs)
    samples = [dataset[i] for i in range(0, len(dataset), step)][: args.pairs]
    pairs = [(s.ir, s.visible) for s in samples]
    print(
        f'pipeline_check: {len(pairs)} pairs of '
        f'{pairs[0][0].shape[1]}x{pairs[0][0].shape[0]} from {args.data}, '
        f'device {args.device}, checkpoint {checkpoint}'
    )
    cpu = FusionPipeline.from_checkpoint(checkpoint, device='cpu', warmup=False)
    references = [cpu(ir, vis) for ir, vis in pairs]
    del cpu
    report, failed = {'device': args.device, 'pairs': len(pairs), 'precisions': {}}, 0
    for precision in args.precisions:
        results, info = run_precision(args.device, precision, pairs, checkpoint, args.batch)
        info.update(compare(results, references))
        limit = LIMITS[precision]
        checks = {
            'fused_mean': info['fused_mean_abs'] <= limit['mean'],
            'fused_p99': info['fused_p99_abs'] <= limit['p99'],
            'segmentation': info['segmentation_agreement'] is None
            or info['segmentation_agreement'] >= limit['seg'],
            'memory': info.get('memory_returned', True),
            'thread': info['thread_closed'],
        }
        info['limits'], info['checks'] = limit, checks
        failed += not all(checks.values())
        report['precisions'][precision] = info
        mem = (
            f'memory before {info["allocated_before_bytes"]} B, after cleanup '
            f'{info["allocated_after_cleanup_bytes"]} B, peak {info["peak_allocated_mb"]:.0f} MB'
            if 'allocated_before_bytes' in info
            else 'memory check: CUDA only'
        )
        seg = info['segmentation_agreement']
        print(
            f'{"ok  " if all(checks.values()) else "FAIL"} {precision} vs '
            'CPU fp32: fused |d| mean '
            f'{info["fused_mean_abs"]:.3f} p99 {info["fused_p99_abs"]:.1f} max '
            f'{info["fused_max_abs"]} '
            f'(limits {limit["mean"]}, {limit["p99"]}); segmentation agreement '
            f'{"n/a" if seg is None else f"{seg:.4f}"}; detections '
            f'{info["detections_device_vs_cpu"][0]} vs '
            f'{info["detections_device_vs_cpu"][1]}; inference '
            f'{info["inference_ms_per_pair"]:.2f} ms/pair, '
            f'{info["inference_ms_per_pair_batched"]:.2f} ms/pair in batches of '
            f'{info["batch_size"]}; {mem}',
            flush=True,
        )
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
