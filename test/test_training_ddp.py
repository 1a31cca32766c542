"""The DistributedDataParallel path: two CPU processes (gloo) started by torchrun."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tsjnet_ros.core.model.checkpoint import read_checkpoint
from tsjnet_ros.core.training.run_log import read_csv_log

REPO = Path(__file__).resolve().parents[1]


def test_two_process_gloo_run_trains_and_exports(tmp_path: Path) -> None:
    shared = (REPO / '..' / 'shared' / 'data').resolve()
    if not shared.is_dir():
        pytest.skip(f'real IR/VIS pairs not found at {shared}')
    if not torch.distributed.is_available():
        pytest.skip('this torch build has no torch.distributed')
    cmd = [
        sys.executable,
        '-m',
        'torch.distributed.run',
        '--standalone',
        '--nproc_per_node',
        '2',
        '-m',
        'tsjnet_ros.tools.train',
        str(REPO / 'config' / 'train' / 'tiny.yaml'),
        '--no-progress',
        '--set',
        f'data.sources.0.root={shared / "msrs"}',
        '--set',
        f'output_dir={tmp_path}',
        '--set',
        f'export_path={tmp_path / "ddp.pt"}',
        '--set',
        'stages.0.steps=4',
        '--set',
        'stages.1.steps=4',
        '--set',
        'log_every=2',
    ]
    env = dict(os.environ, OMP_NUM_THREADS='1')
    done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count('trained 8 steps') == 1  # only rank 0 reports
    meta = read_checkpoint(tmp_path / 'ddp.pt')['metadata']
    assert meta['world_size'] == 2 and meta['steps'] == 8
    rows = read_csv_log(tmp_path / 'train.csv')
    assert [r['step'] for r in rows] == ['2', '4', '6', '8']
    assert all(float(r['total']) > 0 for r in rows) and rows[-1]['detection'] != ''
