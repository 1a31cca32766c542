"""Pyramid-blend image head and the fusion network's work_scale."""

import cv2
import numpy as np
import pytest
import torch

from tsjnet_ros.core.model import create_model
from tsjnet_ros.core.model.blocks import pyramid_blend as pb


def test_pyramid_matches_opencv_and_reconstructs_exactly():
    rng = np.random.default_rng(0)
    image = rng.random((37, 50)).astype(np.float32)
    bands = pb.laplacian_pyramid(torch.from_numpy(image)[None, None], 4)
    assert [tuple(b.shape[-2:]) for b in bands] == [(37, 50), (19, 25), (10, 13), (5, 7), (3, 4)]
    assert torch.allclose(pb.collapse_pyramid(bands)[0, 0], torch.from_numpy(image), atol=1e-6)
    down = pb._down(torch.from_numpy(image)[None, None])[0, 0].numpy()
    # Same binomial taps as OpenCV; borders differ (reflect vs reflect-101), the interior must not.
    assert np.abs(down - cv2.pyrDown(image))[2:-2, 2:-2].max() < 1e-6
    up = pb._up(torch.from_numpy(down)[None, None], (37, 50))[0, 0].numpy()
    assert np.abs(up - cv2.pyrUp(down, dstsize=(50, 37)))[2:-2, 2:-2].max() < 1e-6


def _energy_rule(a: np.ndarray, b: np.ndarray, levels: int = 4) -> np.ndarray:
    """Apply the classical rule an untrained head must equal, written with OpenCV."""

    def pyramid(img):
        g = [img]
        for _ in range(levels):
            g.append(cv2.pyrDown(g[-1]))
        return [
            f - cv2.pyrUp(c, dstsize=(f.shape[1], f.shape[0])) for f, c in zip(g[:-1], g[1:])
        ] + [g[-1]]

    fused = []
    for la, lb in list(zip(pyramid(a), pyramid(b)))[:-1]:
        ea = cv2.blur(la * la, (3, 3)) + 1e-8
        eb = cv2.blur(lb * lb, (3, 3)) + 1e-8
        w = ea**2 / (ea**2 + eb**2)
        fused.append(w * la + (1 - w) * lb)
    fused.append(0.5 * (pyramid(a)[-1] + pyramid(b)[-1]))
    out = fused[-1]
    for d in reversed(fused[:-1]):
        out = cv2.pyrUp(out, dstsize=(d.shape[1], d.shape[0])) + d
    return np.clip(out, 0, 1)


def test_untrained_head_is_the_energy_selection_rule():
    rng = np.random.default_rng(1)
    a = cv2.GaussianBlur(rng.random((128, 160)).astype(np.float32), (5, 5), 1.0)
    b = cv2.GaussianBlur(rng.random((128, 160)).astype(np.float32), (5, 5), 2.0)
    head = pb.PyramidBlendImageHead(8, levels=4)
    with torch.no_grad():
        out = head(
            torch.zeros(1, 8, 4, 5),
            None,
            (torch.from_numpy(a)[None, None], torch.from_numpy(b)[None, None]),
        )
    diff = np.abs(out[0, 0].numpy() - _energy_rule(a, b))
    # Border handling differs from OpenCV's and reaches inwards through the coarse levels.
    assert diff[32:-32, 32:-32].max() < 1e-3
    assert diff.mean() < 2e-3


def test_head_keeps_the_stronger_detail_and_blends_identical_sources_to_themselves():
    flat = torch.full((1, 1, 64, 64), 0.5)
    edges = flat.clone()
    edges[..., :, 32:] = 0.9
    head = pb.PyramidBlendImageHead(4)
    with torch.no_grad():
        same = head(torch.zeros(1, 4, 8, 8), None, (edges, edges))
        fused = head(torch.zeros(1, 4, 8, 8), None, (edges, flat))
    assert torch.allclose(same, edges, atol=1e-5)
    step = fused[0, 0, 32, 40] - fused[0, 0, 32, 24]
    assert step > 0.3  # the edge of the textured source survives (average fusion would give 0.2)


def test_maps_steer_the_base_weight():
    a, b = torch.full((1, 1, 32, 32), 0.8), torch.full((1, 1, 32, 32), 0.2)
    head = pb.PyramidBlendImageHead(2, levels=2)
    with torch.no_grad():
        head.to_maps.bias[-1] = 4.0  # base weight sigmoid(4) ~ 0.98 towards the first source
        out = head(torch.zeros(1, 2, 4, 4), None, (a, b))
    assert torch.allclose(
        out, torch.full_like(out, 0.2 + 0.6 * torch.sigmoid(torch.tensor(4.0))), atol=1e-5
    )


def test_work_scale_runs_the_network_small_and_returns_full_size():
    net = create_model('tsjnet_rt', image_head='pyramid_blend', work_scale=0.5).eval()
    assert net.network_size(480, 640) == (
        240,
        320,
    )  # half size, a multiple of the total stride (16)
    ir, vis = torch.rand(1, 1, 100, 130), torch.rand(1, 1, 100, 130)
    with torch.no_grad():
        out = net(ir, vis, reconstruct=True)
    assert out.fused.shape == ir.shape
    assert torch.allclose(
        out.ir_reconstruction, ir, atol=1e-5
    )  # same source twice blends to itself
    loss = net(ir, vis).fused.mean()
    loss.backward()
    assert net.decoder.head.to_maps.weight.grad is not None


def test_work_scale_needs_a_blending_head():
    with pytest.raises(ValueError, match='pyramid_blend'):
        create_model('tsjnet_rt', image_head='source_blend', work_scale=0.5)


def test_pipeline_inference_size_runs_smaller_with_results_in_camera_pixels():
    from tsjnet_ros.core.model.checkpoint import build_system
    from tsjnet_ros.core.model.heads.config import HEADS_PRESETS
    from tsjnet_ros.core.runtime.pipeline import FusionPipeline

    system = build_system(
        'tsjnet_rt',
        {'image_head': 'pyramid_blend', 'work_scale': 0.5},
        HEADS_PRESETS['rt'],
        seed=0,
    )
    pipeline = FusionPipeline(
        system, device='cpu', inference_size=(96, 128), warmup=False, score_threshold=0.0
    )
    assert pipeline.normalization.inference_size == (96, 128)
    rng = np.random.default_rng(0)
    ir = rng.integers(0, 255, (240, 320), dtype=np.uint8)
    visible = rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)
    result = pipeline(ir, visible)
    assert result.fused.shape == (240, 320) and result.segmentation.shape == (240, 320)
    assert result.detections  # score threshold 0: boxes exist, all inside the camera frame
    for det in result.detections:
        x1, y1, x2, y2 = det.box_xyxy
        assert 0 <= x1 <= x2 <= 320 and 0 <= y1 <= y2 <= 240
    assert (
        max(d.box_xyxy[2] for d in result.detections) > 128
    )  # mapped back, not left in network pixels
