"""The pipeline's CPU path: inference-optimized copy of the network and its thread count."""

import logging

import numpy as np
import pytest
import torch

from tsjnet_ros.core.model.checkpoint import load_checkpoint
from tsjnet_ros.core.runtime.pipeline import FusionPipeline
from tsjnet_ros.resources import default_checkpoint


@pytest.fixture
def msrs_pair(shared_data):
    import cv2

    ir = cv2.imread(str(shared_data / 'msrs' / 'ir' / '00004N.png'), cv2.IMREAD_GRAYSCALE)
    vis = cv2.cvtColor(
        cv2.imread(str(shared_data / 'msrs' / 'vi' / '00004N.png')), cv2.COLOR_BGR2RGB
    )
    return ir[:240, :320], vis[:240, :320]


def test_optimized_pipeline_matches_the_reference_network(msrs_pair):
    # The shipped checkpoint has trained norm statistics, so folding changes real numbers.
    ckpt = default_checkpoint()
    fast = FusionPipeline.from_checkpoint(ckpt, device='cpu', warmup=False, cpu_threads=1)
    ref = FusionPipeline.from_checkpoint(
        ckpt, device='cpu', warmup=False, cpu_threads=1, optimize=False
    )
    assert fast.optimized and not ref.optimized
    a, b = fast(*msrs_pair), ref(*msrs_pair)
    assert np.abs(a.fused.astype(int) - b.fused.astype(int)).max() <= 1
    assert (a.segmentation == b.segmentation).mean() > 0.999
    assert len(a.detections) == len(b.detections)
    for da, db in zip(a.detections, b.detections):
        assert da.class_id == db.class_id and abs(da.score - db.score) < 1e-3
        assert np.allclose(da.box_xyxy, db.box_xyxy, atol=0.5)


def test_optimization_leaves_the_callers_system_untouched():
    loaded = load_checkpoint(default_checkpoint())
    fusion_before = loaded.system.fusion
    n_norms = sum(isinstance(m, torch.nn.BatchNorm2d) for m in loaded.system.modules())
    pipe = FusionPipeline(
        loaded.system, loaded.normalization, device='cpu', warmup=False, cpu_threads=1
    )
    assert loaded.system.fusion is fusion_before
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in loaded.system.modules()) == n_norms > 0
    # The pipeline's copy has its norms folded away.
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in pipe.system.fusion.modules()) == 0


def test_thread_count_is_set_and_logged(caplog):
    before = torch.get_num_threads()
    try:
        with caplog.at_level(logging.INFO, logger='tsjnet_ros'):
            pipe = FusionPipeline.from_checkpoint(
                default_checkpoint(), device='cpu', warmup=False, cpu_threads=3
            )
        assert pipe.cpu_threads == 3 and torch.get_num_threads() == 3
        assert '3 CPU thread(s)' in caplog.text and 'inference-optimized' in caplog.text
        with pytest.raises(ValueError, match='cpu_threads must be >= 0'):
            FusionPipeline.from_checkpoint(
                default_checkpoint(), device='cpu', warmup=False, cpu_threads=-2
            )
    finally:
        torch.set_num_threads(before)
