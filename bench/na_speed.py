"""Time 2-D neighborhood attention on CPU: our PyTorch backend vs natten.

Prints milliseconds (median wall and process CPU time) for forward and forward+backward, eager and
torch.compile'd. natten 0.21 runs on CPU only through unfused flex attention, which builds
the full (H*W)^2 score matrix and has no CPU backward; it is timed on a smaller map when
the requested one would not fit in memory.

    .venv/bin/python bench/na_speed.py --threads 1
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tsjnet_ros.core.model.layers.neighborhood_attention import (  # noqa: E402
    neighborhood_attention_2d,
)


def _size(text: str) -> tuple[int, int]:
    height, width = text.lower().split('x')
    return int(height), int(width)


def median_ms(fn, repeats: int, warmup: int = 1) -> str:
    """Median wall time and median process CPU time (less sensitive to a busy machine)."""
    for _ in range(warmup):
        fn()
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    wall_ms, cpu_ms = 1e3 * statistics.median(wall), 1e3 * statistics.median(cpu)
    return f'{wall_ms:9.1f} ms wall {cpu_ms:9.1f} ms cpu'


def make_inputs(size, channels, heads, requires_grad=False, seed=0):
    gen = torch.Generator().manual_seed(seed)
    shape = (1, size[0], size[1], heads, channels // heads)
    return [torch.randn(shape, generator=gen).requires_grad_(requires_grad) for _ in range(3)]


def time_backend(name, attend, size, args, backward=True):
    """Print forward and forward+backward timings of one attention callable."""
    label = f'{name:<22} {size[0]}x{size[1]}'
    q, k, v = make_inputs(size, args.channels, args.heads)
    start = time.perf_counter()
    try:
        with torch.no_grad():
            attend(q, k, v)
    except Exception as exc:  # report and keep benchmarking the other variants
        print(f'{label}  forward          n/a ({type(exc).__name__}: {str(exc)[:80]})')
        return
    first_call = time.perf_counter() - start

    def forward():
        with torch.no_grad():
            attend(q, k, v)

    print(
        f'{label}  forward  {median_ms(forward, args.repeats)}   (first call {first_call:.1f} s)'
    )
    if not backward:
        print(f'{label}  fwd+bwd          n/a (no CPU backward)')
        return
    qg, kg, vg = make_inputs(size, args.channels, args.heads, requires_grad=True)

    def forward_backward():
        attend(qg, kg, vg).sum().backward()

    try:
        timing = median_ms(forward_backward, args.repeats)
    except Exception as exc:
        print(f'{label}  fwd+bwd          n/a ({type(exc).__name__}: {str(exc)[:80]})')
        return
    print(f'{label}  fwd+bwd  {timing}')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--size', type=_size, default=(120, 160), help='HxW of the map')
    parser.add_argument('--channels', type=int, default=64)
    parser.add_argument('--heads', type=int, default=2)
    parser.add_argument('--kernel', type=int, default=7)
    parser.add_argument('--threads', type=int, default=torch.get_num_threads())
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument(
        '--natten-size',
        type=_size,
        default=(48, 64),
        help='map used for natten when --size would not fit in memory',
    )
    parser.add_argument(
        '--natten-max-gb',
        type=float,
        default=2.0,
        help='largest estimated natten score memory to attempt',
    )
    parser.add_argument('--no-compile', action='store_true')
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    warnings.filterwarnings('ignore')
    print(
        f'torch {torch.__version__}, {args.threads} thread(s), channels {args.channels}, '
        f'heads {args.heads}, kernel {args.kernel}, median of {args.repeats}'
    )

    def ours(q, k, v):
        return neighborhood_attention_2d(q, k, v, args.kernel, backend='torch')

    sizes = [args.size]
    natten_bytes = 3 * 4 * args.heads * (args.size[0] * args.size[1]) ** 2
    if natten_bytes / 1e9 > args.natten_max_gb:
        print(
            f'natten at {args.size[0]}x{args.size[1]} skipped: unfused CPU flex attention '
            f'needs about {natten_bytes / 1e9:.0f} GB of scores'
        )
        sizes.append(args.natten_size)

    try:
        import natten
    except ImportError:
        natten = None
        print('natten not installed: natten rows skipped')

    for size in sizes:
        time_backend('ours eager', ours, size, args)
        if not args.no_compile:
            time_backend('ours compiled', torch.compile(ours), size, args)
        if natten is not None and size == sizes[-1]:

            def theirs(q, k, v):
                return natten.na2d(q, k, v, kernel_size=args.kernel, backend='flex-fna')

            time_backend('natten eager', theirs, size, args, backward=False)
            if not args.no_compile:
                time_backend('natten compiled', torch.compile(theirs), size, args, backward=False)


if __name__ == '__main__':
    main()
