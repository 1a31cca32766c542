"""Lower bound on ``tsjnet_official``'s CPU time per frame: its multiplies at sgemm peak.

Counts the multiply-accumulates (MACs) of every conv, transposed conv and linear layer of
the faithful model at one input size, measures this machine's fp32 sgemm rate with the
same thread count, and prints the time those multiplies need if every 3x3 stride-1 conv
ran as Winograd F(6x6, 3x3) (64 multiplies per 36 outputs instead of 9 per output:
Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", CVPR 2016; NNPACK's
tile) and everything else at the sgemm rate, with no transforms, memory traffic,
normalisation, activations or attention core. No implementation of the same function
with these algorithms can beat it; ``--time`` also runs the inference form the pipeline
uses once and prints how close it comes.

    python bench/official_floor.py [--size 480 640] [--threads 2] [--time]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

WINOGRAD_F6_MULTIPLIES = 64 / 36  # per output pixel and (in, out) channel pair, vs 9 direct


def layer_macs(model, *inputs) -> dict[str, int]:
    """MACs of the conv / transposed conv / linear layers in one forward, by kind."""
    import torch
    from torch import nn

    kinds: dict[str, int] = {}

    def count(module, args, output):
        if isinstance(module, nn.Conv2d):
            per_output = module.in_channels // module.groups * module.weight[0, 0].numel()
            winograd = (
                module.kernel_size == (3, 3)
                and module.stride == (1, 1)
                and module.dilation == (1, 1)
            )
            kind = 'conv 3x3 stride 1' if winograd else 'conv, other'
            macs = output.numel() * per_output
        elif isinstance(module, nn.ConvTranspose2d):
            kind = 'transposed conv'
            macs = args[0].numel() * module.weight[0].numel()
        elif isinstance(module, nn.Linear):
            kind = 'linear'
            macs = output.numel() * module.in_features
        else:
            return
        kinds[kind] = kinds.get(kind, 0) + macs

    handles = [m.register_forward_hook(count) for m in model.modules()]
    try:
        with torch.inference_mode():
            model(*inputs)
    finally:
        for handle in handles:
            handle.remove()
    return kinds


def sgemm_gmacs(repeats: int = 5) -> float:
    """fp32 matrix-product rate (GMAC/s) on shapes like the model's 1x1 convs."""
    import torch

    a, b = torch.rand(512, 4096), torch.rand(4096, 8192)
    torch.mm(a, b)
    start = time.perf_counter()
    for _ in range(repeats):
        torch.mm(a, b)
    return repeats * a.shape[0] * a.shape[1] * b.shape[1] / (time.perf_counter() - start) / 1e9


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--size', type=int, nargs=2, default=(480, 640), metavar=('H', 'W'))
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument(
        '--time', action='store_true', help='also time one frame of the inference form'
    )
    args = parser.parse_args()
    import torch

    from tsjnet_ros.core.model.inference_form import inference_copy
    from tsjnet_ros.core.model.official_checkpoint import (
        official_system,
        seeded_official_weights,
    )

    torch.set_num_threads(args.threads)
    print(
        f'{args.size[0]}x{args.size[1]}, {args.threads} thread(s); '
        f'load average before {os.getloadavg()[0]:.2f}',
        flush=True,
    )
    model = official_system(seeded_official_weights(seed=0))[0].fusion.eval()
    generator = torch.Generator().manual_seed(0)
    ir, vis = (torch.rand(1, 1, *args.size, generator=generator) for _ in range(2))
    kinds = layer_macs(model, ir, vis)
    rate = sgemm_gmacs()
    floor = 0.0
    for kind, macs in sorted(kinds.items(), key=lambda item: -item[1]):
        multiplies = macs * WINOGRAD_F6_MULTIPLIES / 9 if kind == 'conv 3x3 stride 1' else macs
        floor += multiplies / 1e9 / rate
        print(f'{kind:18s} {macs / 1e9:8.1f} GMAC -> {multiplies / 1e9:7.1f} G multiplies')
    print(f'sgemm rate {rate:.1f} GMAC/s -> floor {floor:.2f} s/frame')
    if args.time:
        fast = inference_copy(model)
        del model
        with torch.inference_mode():
            start = time.perf_counter()
            fast(ir, vis)
            seconds = time.perf_counter() - start
        print(f'inference form {seconds:.2f} s/frame = {floor / seconds:.0%} of the floor rate')
    print(f'load average after {os.getloadavg()[0]:.2f}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
