"""Soak test: push many frames through the fusion node and check memory stays flat.

Publishes ``--frames`` synthetic 640x480 pairs (default 10,000) at ``--rate`` Hz through
the fusion node in one process, prints RSS (current and peak) after warm-up and at the
end, and the end-to-end latency percentiles. Skipped pairs (node busy) are expected when
the rate exceeds the backend's speed; they are counted, not leaked.

    .venv/bin/python bench/soak.py [--frames 10000] [--rate 30] [--backend NAME]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ros_loop import FusionLoop, default_backend_params, percentiles, rss_mb  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--frames', type=int, default=10_000)
    parser.add_argument('--rate', type=float, default=30.0)
    parser.add_argument('--backend', default=None)
    args = parser.parse_args()
    params = default_backend_params() if args.backend is None else {'fusion_backend': args.backend}
    loop = FusionLoop(params)
    warmup = min(300, args.frames // 10)
    try:
        loop.run(warmup, args.rate)
        start_rss = rss_mb()
        print(
            f'after {warmup} warm-up frames: RSS {start_rss[0]:.1f} MB '
            f'(peak {start_rss[1]:.1f} MB)',
            flush=True,
        )
        samples = []

        def progress(k: int) -> None:
            if k % 1000 == 0:
                current = rss_mb()
                samples.append(current[0])
                print(
                    f'  frame {k:6d}: RSS {current[0]:.1f} MB, fused {loop.fusion.stats().fused}',
                    flush=True,
                )

        result = loop.run(args.frames, args.rate, on_progress=progress)
        end_rss = rss_mb()
    finally:
        c = loop.fusion.stats()
        loop.close()
    lat = percentiles(result.latencies_ms)
    print(
        f'backend {params["fusion_backend"]}: sent {args.frames + warmup} pairs, fused '
        f'{c.fused}, skipped {c.skipped}, '
        f'errors {c.errors}, received {result.received}'
    )
    print(
        f'RSS start {start_rss[0]:.1f} MB (peak {start_rss[1]:.1f}), end {end_rss[0]:.1f} MB '
        f'(peak {end_rss[1]:.1f}); '
        f'growth {end_rss[0] - start_rss[0]:+.1f} MB'
    )
    print(
        f'latency ms: p50 {lat["p50"]:.1f}  p95 {lat["p95"]:.1f}  p99 '
        f'{lat["p99"]:.1f}  max {lat["max"]:.1f}'
    )
    return 0


if __name__ == '__main__':
    sys.exit(main())
