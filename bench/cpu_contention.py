"""Per-pair time of the shipped system while other processes keep the CPUs busy.

Robot computers run many nodes on few cores. This starts 0, 1 and 2 busy processes (pure
Python loops, one core each) beside a child process that runs the shipped pipeline on
640x480 MSRS pairs, and prints the median per-pair time for two OpenMP wait policies:

* ``passive``: what every tsjnet_ros entry point uses (``OMP_WAIT_POLICY=PASSIVE``, set by
  ``tsjnet_ros/__init__.py`` unless a policy is chosen);
* ``spin``: libgomp's own default (idle threads spin ``GOMP_SPINCOUNT=300000`` times
  before sleeping), i.e. the behaviour without that setting.

Goal: with 1 and 2 busy processes, time per pair grows at most in proportion to the CPU
share the pipeline gets (busy / quiet <= 3 on two cores). The load average is printed.

    python bench/cpu_contention.py [--pairs 6] [--threads 0] [--checkpoint PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / '..' / 'shared' / 'data' / 'msrs'
POLICIES = {'passive': {'OMP_WAIT_POLICY': 'PASSIVE'}, 'spin': {'GOMP_SPINCOUNT': '300000'}}
CHILD = r"""
import json, statistics, sys, time
import cv2, numpy as np
from tsjnet_ros.core.runtime.pipeline import FusionPipeline
from tsjnet_ros.core.datasets import PairDataset
data, pairs, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
checkpoint = sys.argv[4] or None
start = time.perf_counter()
from tsjnet_ros.resources import default_checkpoint
pipeline = FusionPipeline.from_checkpoint(checkpoint or default_checkpoint(), cpu_threads=threads)
load_s = time.perf_counter() - start
dataset = PairDataset(data)
samples = [dataset[i % len(dataset)] for i in range(pairs)]
pipeline(samples[0].ir, samples[0].visible)
times = []
for s in samples:
    t = time.perf_counter(); pipeline(s.ir, s.visible); times.append(time.perf_counter() - t)
print(json.dumps({"median_ms": 1000 * statistics.median(times), "load_s": load_s}))
"""


def run_child(args: argparse.Namespace, policy: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ('OMP_WAIT_POLICY', 'GOMP_SPINCOUNT')}
    env.update(POLICIES[policy])
    out = subprocess.run(
        [
            sys.executable,
            '-c',
            CHILD,
            str(args.data),
            str(args.pairs),
            str(args.threads),
            args.checkpoint,
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--data', type=Path, default=DATA, help='pair folder (default: the MSRS pairs)'
    )
    parser.add_argument('--pairs', type=int, default=6, help='pairs timed per run')
    parser.add_argument(
        '--threads', type=int, default=0, help='cpu_threads of the pipeline (0 = auto)'
    )
    parser.add_argument('--checkpoint', default='', help='model file (default: the shipped one)')
    parser.add_argument(
        '--busy', type=int, nargs='+', default=[0, 1, 2], help='busy process counts'
    )
    args = parser.parse_args()
    print(f'load average at start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs')
    results: dict[tuple[str, int], dict] = {}
    for busy in args.busy:
        hogs = [subprocess.Popen([sys.executable, '-c', 'while True: pass']) for _ in range(busy)]
        try:
            time.sleep(1.0 if busy else 0.0)
            for policy in POLICIES:
                results[policy, busy] = r = run_child(args, policy)
                print(
                    f'busy {busy}  {policy:8s} per pair {r["median_ms"]:8.1f} ms   model '
                    f'load {r["load_s"]:5.1f} s'
                    f'   load average {os.getloadavg()[0]:.2f}',
                    flush=True,
                )
        finally:
            for hog in hogs:
                hog.kill()
                hog.wait()
    print('\nslow-down against no busy process (per pair; goal <= 3x on 2 cores):')
    for policy in POLICIES:
        if (policy, 0) not in results:
            continue
        quiet = results[policy, 0]['median_ms']
        ratios = ', '.join(
            f'{b} busy {results[policy, b]["median_ms"] / quiet:.2f}x' for b in args.busy if b
        )
        print(f'  {policy:8s} {ratios}')
    for busy in args.busy:
        spin, passive = results.get(('spin', busy)), results.get(('passive', busy))
        if spin and passive:
            print(
                f'  {busy} busy: spin / passive = {spin["median_ms"] / passive["median_ms"]:.2f}'
            )
    return 0


if __name__ == '__main__':
    sys.exit(main())
