"""End-to-end tiny training on real MSRS pairs.

The loss falls, the exported checkpoint loads into the inference pipeline, and an interrupted +
resumed run equals an uninterrupted one.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from tsjnet_ros.core.model.checkpoint import load_checkpoint, read_checkpoint
from tsjnet_ros.core.runtime.pipeline import FusionPipeline
from tsjnet_ros.core.training.run_log import read_csv_log
from tsjnet_ros.tools.train import main

REPO = Path(__file__).resolve().parents[1]
TINY = REPO / 'config' / 'train' / 'tiny.yaml'


def _run(shared_data: Path, out: Path, *extra: str) -> int:
    return main(
        [
            str(TINY),
            '--no-progress',
            '--set',
            f'data.sources.0.root={shared_data / "msrs"}',
            '--set',
            f'output_dir={out}',
            '--set',
            f'export_path={out / "tiny.pt"}',
            *extra,
        ]
    )


@pytest.fixture(scope='module')
def full_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    shared = (REPO / '..' / 'shared' / 'data').resolve()
    if not shared.is_dir():
        pytest.skip(f'real IR/VIS pairs not found at {shared}')
    out = tmp_path_factory.mktemp('tiny_full')
    assert _run(shared, out, '--restart') == 0
    return out


def test_loss_decreases_in_both_stages(full_run: Path) -> None:
    rows = read_csv_log(full_run / 'train.csv')
    fusion = [r for r in rows if r['stage'] == 'fusion']
    joint = [r for r in rows if r['stage'] == 'joint']
    assert len(fusion) >= 2 and len(joint) >= 2
    assert float(fusion[-1]['total']) < 0.9 * float(fusion[0]['total'])
    assert (
        fusion[0]['detection'] == '' and joint[0]['detection'] != ''
    )  # heads only join in stage 2

    def task(row: dict) -> float:
        return float(row['detection']) + float(row['segmentation'])

    assert task(joint[-1]) < task(joint[0])


def test_exported_checkpoint_is_fp16_with_classes_and_runs_in_the_pipeline(full_run: Path) -> None:
    path = full_run / 'tiny.pt'
    payload = read_checkpoint(path)
    floats = [t for t in payload['state_dict'].values() if t.is_floating_point()]
    assert floats and all(t.dtype == torch.float16 for t in floats)
    assert payload['detection_classes'] == ['person', 'bicycle', 'car']
    assert len(payload['segmentation_classes']) == 9
    meta = payload['metadata']
    assert (
        meta['trained'] is True and meta['steps'] == 24 and meta['weak_segmentation_masks'] is True
    )
    loaded = load_checkpoint(path)
    assert next(loaded.system.parameters()).dtype == torch.float32
    pipeline = FusionPipeline.from_checkpoint(path, device='cpu', warmup=False)
    rng = np.random.default_rng(0)
    result = pipeline.process(
        rng.integers(0, 255, (64, 80), dtype=np.uint8),
        rng.integers(0, 255, (64, 80, 3), dtype=np.uint8),
    )
    assert result.fused.shape == (64, 80) and result.segmentation.shape == (64, 80)


def test_interrupted_and_resumed_run_matches_the_uninterrupted_one(
    full_run: Path, tmp_path: Path
) -> None:
    shared = (REPO / '..' / 'shared' / 'data').resolve()
    assert _run(shared, tmp_path, '--restart', '--stop-after', '10') == 0
    assert not (tmp_path / 'tiny.pt').exists()  # no final export for an interrupted run
    assert (tmp_path / 'checkpoint_latest.pt').exists()  # but a usable checkpoint
    assert _run(shared, tmp_path) == 0
    expected = read_csv_log(full_run / 'train.csv')
    resumed = read_csv_log(tmp_path / 'train.csv')
    resumed = [r for r in resumed if int(r['step']) % 4 == 0]  # drop the extra row at the stop
    assert [r['step'] for r in resumed] == [r['step'] for r in expected]
    # The window mean of the row spanning the interruption is split; all other rows must match.
    for a, b in zip(expected, resumed):
        if int(a['step']) != 12:
            assert a['total'] == b['total'], a['step']
