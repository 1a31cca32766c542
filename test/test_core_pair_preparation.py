"""Pair alignment, thermal AGC, rate statistics and the synthetic scene."""

from __future__ import annotations

import numpy as np
import pytest

from tsjnet_ros.core.datasets.synthetic import CLASS_NAMES, SyntheticScene
from tsjnet_ros.core.fusion import create_backend
from tsjnet_ros.core.preparation.pair_alignment import align_pair
from tsjnet_ros.core.runtime.rate_stats import LatencyStats, RateMeter


def test_align_pair_resizes_to_the_chosen_camera():
    ir = np.zeros((512, 640), np.uint8)
    vis = np.zeros((720, 1280, 3), np.uint8)
    a, b = align_pair(ir, vis, 'visible')
    assert a.shape == (720, 1280) and b is vis
    a, b = align_pair(ir, vis, 'ir')
    assert a is ir and b.shape == (512, 640, 3)
    with pytest.raises(ValueError, match='resize_to'):
        align_pair(ir, vis, 'largest')


def test_sixteen_bit_ir_narrow_band_is_stretched_without_flicker():
    rng = np.random.default_rng(0)
    frame = rng.integers(7000, 7400, (120, 160)).astype(np.uint16)
    visible = np.zeros((120, 160), np.uint8)
    backend = create_backend('max')
    out = backend.fuse(frame, visible).fused
    assert out.min() <= 5 and out.max() >= 250  # not the near-black /65535 image
    hot = frame.copy()
    hot[:10, :10] = 20000  # a hot object enters: the range moves only gradually
    after = backend.fuse(hot, visible).fused
    assert abs(after[10:, 10:].mean() - out[10:, 10:].mean()) < 40


def test_rate_meter_and_latency_stats():
    meter = RateMeter(window=5.0)
    for k in range(11):
        meter.tick(k * 0.1)
    assert meter.rate(1.0) == pytest.approx(10.0)
    assert meter.rate(100.0) == 0.0
    stats = LatencyStats()
    for v in range(1, 101):
        stats.add(v)
    s = stats.summary()
    assert s['max'] == 100 and s['p50'] == pytest.approx(50.5) and s['mean'] == pytest.approx(50.5)
    assert LatencyStats().summary() == {}
    window = LatencyStats(capacity=3)
    for v in (1.0, 2.0, 3.0, 4.0):
        window.add(v)
    assert window.values() == [2.0, 3.0, 4.0]  # oldest first, the oldest beyond capacity dropped


def test_rate_meter_reads_streams_slower_than_two_events_per_window():
    """A model at 0.3 Hz leaves one event in a 5 s window; its rate is still 0.3 Hz, not 0."""
    meter = RateMeter(window=5.0)
    for k in range(6):
        meter.tick(k / 0.3)
        assert meter.rate(k / 0.3 + 1.0) == (0.0 if k == 0 else pytest.approx(0.3))
    assert meter.rate(5 / 0.3 + 5.5) == 0.0  # nothing for longer than the window: stopped


def test_synthetic_targets_hot_in_ir_dim_in_visible():
    scene = SyntheticScene(width=320, height=240, num_targets=4, seed=1)
    frame = scene.render(0.5)
    assert frame.ir.shape == (240, 320) and frame.visible.shape == (240, 320, 3)
    assert len(frame.boxes_xyxy) == 4 and set(frame.class_ids) <= set(range(len(CLASS_NAMES)))
    x0, y0, x1, y1 = frame.boxes_xyxy[0].astype(int)
    cx, cy = (x0 + x1) // 2, (y0 + y1) // 2
    assert frame.ir[cy, cx] > 150 and frame.ir.mean() < 100
    assert frame.visible[cy, cx].mean() < 90
    later = scene.render(1.5)
    assert not np.array_equal(later.boxes_xyxy, frame.boxes_xyxy)  # targets move
    np.testing.assert_array_equal(SyntheticScene(320, 240, 4, seed=1).render(0.5).ir, frame.ir)
    assert SyntheticScene(64, 48, ir_bits=16).render(0).ir.dtype == np.uint16
