"""Classical fusion backends and YCbCr colour handling."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tsjnet_ros.core.fusion import FusionBackend, available_backends, create_backend
from tsjnet_ros.core.image.color import (
    luminance_and_chroma,
    merge_luminance,
    rgb_to_ycbcr,
    ycbcr_to_rgb,
)


def test_registry_lists_classical_and_neural():
    assert {'average', 'max', 'laplacian_pyramid', 'tsjnet'} <= set(available_backends())
    with pytest.raises(ValueError, match="unknown fusion backend 'nope'"):
        create_backend('nope')


def test_average_and_max_on_hand_values():
    ir = np.array([[0, 200], [100, 255]], np.uint8)
    vis = np.array([[100, 100], [100, 0]], np.uint8)
    avg = create_backend('average').fuse(ir, vis)
    mx = create_backend('max').fuse(ir, vis)
    np.testing.assert_array_equal(avg.fused, [[50, 150], [100, 128]])
    np.testing.assert_array_equal(mx.fused, [[100, 200], [100, 255]])
    assert isinstance(create_backend('max'), FusionBackend)


def test_brighter_weight_blends_between_average_and_max():
    from tsjnet_ros.core.fusion.classical import PixelFusion

    ir = np.array([[0, 200], [100, 255]], np.uint8)
    vis = np.array([[100, 100], [100, 0]], np.uint8)
    half_way = PixelFusion('blend', brighter_weight=0.75).fuse(ir, vis).fused
    np.testing.assert_array_equal(
        half_way, [[75, 175], [100, 191]]
    )  # 3/4 brighter + 1/4 darker, rounded
    np.testing.assert_array_equal(
        PixelFusion('blend', brighter_weight=1.0).fuse(ir, vis).fused,
        create_backend('max').fuse(ir, vis).fused,
    )
    with pytest.raises(ValueError, match=r'in \[0.5, 1\]'):
        PixelFusion('blend', brighter_weight=0.3)
    with pytest.raises(ValueError, match='only with it'):
        PixelFusion('average', brighter_weight=0.7)


def test_laplacian_base_weight_moves_base_towards_the_brighter_source():
    ir = np.zeros((64, 64), np.uint8)
    ir[16:48, 16:48] = 200  # a large warm region: mostly base-level content
    vis = np.full((64, 64, 3), 60, np.uint8)
    default = create_backend('laplacian_pyramid').fuse(ir, vis).fused.astype(float)
    same = (
        create_backend('laplacian_pyramid', base_brighter_weight=0.5)
        .fuse(ir, vis)
        .fused.astype(float)
    )
    brighter = (
        create_backend('laplacian_pyramid', base_brighter_weight=1.0)
        .fuse(ir, vis)
        .fused.astype(float)
    )
    np.testing.assert_array_equal(default, same)
    assert brighter[24:40, 24:40].mean() > default[24:40, 24:40].mean() + 20
    with pytest.raises(ValueError, match='brighter-source weight'):
        create_backend('laplacian_pyramid', base_brighter_weight=1.5)


def test_laplacian_pyramid_keeps_edges_of_both_cameras():
    ir = np.zeros((64, 64), np.uint8)
    ir[20:40, 20:40] = 220  # warm target only IR sees
    vis = np.zeros((64, 64, 3), np.uint8)
    vis[:, 50:] = 180  # bright wall only the visible camera sees
    fused = create_backend('laplacian_pyramid').fuse(ir, vis).fused.astype(float)
    avg = create_backend('average').fuse(ir, vis).fused.astype(float)
    # the target's contrast survives better than with plain averaging
    target_contrast = fused[25:35, 25:35].mean() - fused[25:35, 5:15].mean()
    assert target_contrast > 1.3 * (avg[25:35, 25:35].mean() - avg[25:35, 5:15].mean())
    assert fused[:, 55:].mean() > fused[:, 40:45].mean() + 50  # wall edge kept


def test_identical_inputs_reproduce_the_image():
    rng = np.random.default_rng(0)
    img = cv2.GaussianBlur(rng.integers(0, 255, (48, 80), dtype=np.uint8), (5, 5), 2)
    for name in ('average', 'max', 'laplacian_pyramid'):
        fused = create_backend(name).fuse(img, img).fused
        assert np.abs(fused.astype(int) - img).max() <= 1, name


def test_colour_output_keeps_visible_chroma():
    rng = np.random.default_rng(1)
    vis = rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)
    y, _ = luminance_and_chroma(vis)
    ir = (y * 255).round().astype(np.uint8)
    result = create_backend('average').fuse(ir, vis)
    # fused luminance equals the visible one here, so colour comes back (rounding aside)
    assert np.abs(result.fused_color.astype(int) - vis).max() <= 2


def test_ycbcr_round_trip_and_grey():
    rgb = np.random.default_rng(2).integers(0, 255, (8, 8, 3), dtype=np.uint8)
    assert np.abs(ycbcr_to_rgb(rgb_to_ycbcr(rgb)).astype(int) - rgb).max() <= 1
    grey = merge_luminance(np.full((2, 2), 77, np.uint8), None)
    assert grey.shape == (2, 2, 3) and (grey == 77).all()


def test_sixteen_bit_ir_and_errors():
    ir16 = np.full((32, 32), 1000, np.uint16)
    ir16[:, 16:] = 2000  # cold and warm halves, a narrow band of the 16-bit range
    vis = np.zeros((32, 32), np.uint8)
    fused = create_backend('max').fuse(ir16, vis).fused
    assert fused[:, :16].max() == 0 and fused[:, 16:].min() == 255
    with pytest.raises(ValueError, match='differ in size'):
        create_backend('average').fuse(np.zeros((10, 10), np.uint8), vis)
    with pytest.raises(TypeError, match='dtype'):
        create_backend('average').fuse(np.zeros((32, 32), np.int32), vis)


def test_single_camera_baselines_pass_one_camera_through():
    rng = np.random.default_rng(3)
    ir = rng.integers(0, 256, (24, 32), dtype=np.uint8)
    visible = rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)
    ir_only = create_backend('ir_only').fuse(ir, visible)
    assert np.array_equal(ir_only.fused, ir) and np.array_equal(
        ir_only.fused_color, np.stack([ir] * 3, axis=2)
    )
    visible_only = create_backend('visible_only').fuse(ir, visible)
    assert np.abs(visible_only.fused_color.astype(int) - visible).max() <= 2  # YCbCr round trip
    assert visible_only.detections == [] and visible_only.segmentation is None
    with pytest.raises(ValueError, match='differ in size'):
        create_backend('ir_only').fuse(ir[:10], visible)
