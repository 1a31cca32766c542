"""Speed of this source tree against another commit's, measured in one run, turn by turn.

Two worker processes, one per tree, each build the same workload once; the parent then
asks them for one forward at a time in ABBA order, so both see the same machine load.
Prints per tree the median wall time and the median CPU time of the process per frame
(CPU time is the steadier figure on a machine shared with other jobs), and the ratios
reference / this tree (> 1: this tree is faster). Workloads:

* ``system``: the shipped checkpoint through ``FusionPipeline`` on MSRS pairs, as
  ``bench/system_speed.py`` runs it;
* ``official``: ``tsjnet_official`` with seeded weights in its CPU inference form, as the
  "ours" path of ``bench/official_speed.py``, on a random pair of ``--size``.

    python bench/ab_speed.py --ref main [--workload system] [--rounds 10] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / '..' / 'shared' / 'data' / 'msrs'

WORKER = r"""
import json, sys, time
import torch
args = json.loads(sys.argv[1])
torch.set_num_threads(args["threads"])
if args["workload"] == "system":
    from tsjnet_ros.core.datasets import PairDataset
    try:
        from tsjnet_ros.core.runtime.pipeline import FusionPipeline
    except ImportError:  # trees before core/ was grouped by concern
        from tsjnet_ros.core.pipeline import FusionPipeline
    from tsjnet_ros.resources import default_checkpoint
    pipeline = FusionPipeline.from_checkpoint(default_checkpoint(), cpu_threads=args["threads"])
    dataset = PairDataset(args["data"])
    samples = [dataset[i % len(dataset)] for i in range(args["pairs"])]
    def run(i):
        pipeline(samples[i % len(samples)].ir, samples[i % len(samples)].visible)
else:
    from tsjnet_ros.core.model.official_checkpoint import official_system, seeded_official_weights
    try:
        from tsjnet_ros.core.model.inference_form import inference_copy as fast_form
    except ImportError:  # trees before the inference form
        from tsjnet_ros.core.model.inference_optimization import (
            optimize_for_inference as fast_form,
        )
    system, _ = official_system(seeded_official_weights(seed=0))
    fast = fast_form(system.fusion)
    gen = torch.Generator().manual_seed(0)
    pair = [torch.rand(1, 1, *args["size"], generator=gen) for _ in range(2)]
    def run(i):
        with torch.inference_mode():
            fast(*pair)
run(0)  # warm-up
print("ready", flush=True)
for line in sys.stdin:
    i = int(line)
    wall, cpu = time.perf_counter(), time.process_time()
    run(i)
    print(json.dumps([time.perf_counter() - wall, time.process_time() - cpu]), flush=True)
"""


def _export(ref: str, into: Path) -> Path:
    """Extract the tree of commit ``ref`` (git archive) under ``into``; return its path."""
    archive = into / 'ref.tar'
    subprocess.run(['git', '-C', str(ROOT), 'archive', '-o', str(archive), ref], check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into / 'tree', filter='data')
    return into / 'tree'


def _start(tree: Path, spec: dict) -> subprocess.Popen:
    env = {**os.environ, 'PYTHONPATH': str(tree)}
    proc = subprocess.Popen(
        [sys.executable, '-c', WORKER, json.dumps(spec)],
        cwd=tree,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    if proc.stdout.readline().strip() != 'ready':
        raise RuntimeError(f'worker for {tree} failed to start')
    return proc


def _ask(proc: subprocess.Popen, i: int) -> tuple[float, float]:
    proc.stdin.write(f'{i}\n')
    proc.stdin.flush()
    return tuple(json.loads(proc.stdout.readline()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--ref', required=True, help='commit to compare with (e.g. main)')
    parser.add_argument('--workload', choices=('system', 'official'), default='system')
    parser.add_argument(
        '--rounds', type=int, default=10, help='ABBA rounds (two frames per tree each)'
    )
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--pairs', type=int, default=20, help='MSRS pairs cycled through (system)')
    parser.add_argument(
        '--size',
        type=int,
        nargs=2,
        default=(480, 640),
        metavar=('H', 'W'),
        help='pair size (official)',
    )
    parser.add_argument('--data', type=Path, default=DATA)
    args = parser.parse_args()
    spec = {
        'workload': args.workload,
        'threads': args.threads,
        'pairs': args.pairs,
        'size': list(args.size),
        'data': str(args.data),
    }
    with tempfile.TemporaryDirectory() as tmp:
        trees = {'reference': _export(args.ref, Path(tmp)), 'this tree': ROOT}
        workers = {name: _start(tree, spec) for name, tree in trees.items()}
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in trees}
        print(
            f'{args.workload}: {args.ref} vs this tree, {args.threads} thread(s), '
            f'load average at start {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs'
        )
        frame = 0
        for r in range(args.rounds):
            order = ['reference', 'this tree'] if r % 2 == 0 else ['this tree', 'reference']
            for name in order + order[::-1]:
                times[name].append(_ask(workers[name], frame // 4))
                frame += 1
        for proc in workers.values():
            proc.stdin.close()
            proc.wait()
    median = {
        name: [statistics.median(t[k] for t in v) for k in (0, 1)] for name, v in times.items()
    }
    for name, (wall, cpu) in median.items():
        print(f'{name:10s} wall {1000 * wall:8.1f} ms  cpu {1000 * cpu:8.1f} ms per frame')
    ref, new = median['reference'], median['this tree']
    print(
        f'reference / this tree: wall {ref[0] / new[0]:.3f}  cpu {ref[1] / new[1]:.3f}   '
        f'load average at end {os.getloadavg()[0]:.2f}'
    )
    return 0


if __name__ == '__main__':
    sys.exit(main())
