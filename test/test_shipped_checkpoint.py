"""The shipped model loads with the current code and runs the whole pipeline."""

from __future__ import annotations

import numpy as np
import torch

from tsjnet_ros.core.fusion import create_backend
from tsjnet_ros.core.model.checkpoint import read_checkpoint
from tsjnet_ros.resources import default_checkpoint


def test_shipped_checkpoint_is_small_fp16_and_trained():
    path = default_checkpoint()
    assert path.stat().st_size < 20 * 2**20
    payload = read_checkpoint(path)
    assert payload['variant'] == 'tsjnet_rt' and payload['metadata']['trained'] is True
    floats = {t.dtype for t in payload['state_dict'].values() if t.is_floating_point()}
    assert floats == {torch.float16}


def test_shipped_checkpoint_runs_through_the_backend():
    backend = create_backend('tsjnet', checkpoint='', device='cpu', warmup=False)
    rng = np.random.default_rng(0)
    ir = rng.integers(0, 255, (100, 150), dtype=np.uint8)
    visible = rng.integers(0, 255, (100, 150, 3), dtype=np.uint8)
    result = backend.fuse(ir, visible)
    assert result.fused.shape == (100, 150) and result.fused.dtype == np.uint8
    assert result.fused_color.shape == (100, 150, 3)
    assert result.segmentation.shape == (100, 150)
    assert backend.detection_classes == ['person', 'bicycle', 'car']
    for det in result.detections:
        x0, y0, x1, y1 = det.box_xyxy
        assert 0 <= x0 <= x1 <= 150 and 0 <= y0 <= y1 <= 100
