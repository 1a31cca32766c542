"""Fusion metric invariants, known orderings, conventions and input validation."""

import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from tsjnet_ros.core.metrics import (
    CONVENTION_PRESETS,
    FUSION_METRICS,
    average_gradient,
    entropy,
    evaluate_fusion,
    ir_to_uint8,
    mutual_information,
    peak_signal_to_noise_ratio,
    qabf,
    spatial_frequency,
    structural_similarity,
)

DATA = Path(__file__).resolve().parents[1] / '..' / 'shared' / 'data'


def _scene(seed=0, shape=(96, 128)):
    """Two different, textured 8-bit sources with blocks and edges."""
    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 256, (shape[0] // 8, shape[1] // 8)).astype(np.uint8)
    ir = cv2.resize(blocks, shape[::-1], interpolation=cv2.INTER_NEAREST)
    vis = np.clip(rng.normal(120, 40, shape), 0, 255).astype(np.uint8)
    vis = cv2.GaussianBlur(vis, (3, 3), 0.8)
    return ir, vis


def test_identical_images_give_the_ideal_values():
    image, _ = _scene()
    m = evaluate_fusion(image, image, image)
    assert m['SSIM'] == pytest.approx(1.0)
    assert m['CC'] == pytest.approx(1.0)
    assert m['MSE'] == 0.0
    assert m['PSNR'] == math.inf
    assert peak_signal_to_noise_ratio(image, image, image, max_db=100.0) == 100.0
    assert m['CV'] == 0.0
    assert m['VIF'] == pytest.approx(1.0, abs=1e-6)
    assert m['MI'] == pytest.approx(2 * entropy(image))  # MI(A, A) = H(A), summed twice


def test_a_blurred_fusion_scores_lower_on_sharpness_and_edge_metrics():
    ir, vis = _scene(1)
    sharp = np.maximum(ir, vis)
    blurred = cv2.GaussianBlur(sharp, (0, 0), 2.0)
    assert spatial_frequency(blurred) < spatial_frequency(sharp)
    assert average_gradient(blurred) < average_gradient(sharp)
    assert qabf(ir, vis, blurred) < qabf(ir, vis, sharp)
    assert structural_similarity(ir, vis, blurred) < structural_similarity(ir, vis, sharp)


def test_metrics_accept_rgb_and_gray_equivalently():
    ir, vis = _scene(2)
    rgb = np.repeat(vis[..., None], 3, axis=2)
    fused = ((ir.astype(np.uint16) + vis) // 2).astype(np.uint8)
    assert evaluate_fusion(ir, rgb, fused) == pytest.approx(evaluate_fusion(ir, vis, fused))


def test_two_source_metrics_are_symmetric_in_the_sources():
    ir, vis = _scene(3)
    fused = np.maximum(ir, vis)
    forward = evaluate_fusion(ir, vis, fused)
    backward = evaluate_fusion(vis, ir, fused)
    assert forward == pytest.approx(backward)


def test_cddfuse_preset_changes_exactly_the_documented_metrics():
    ir, vis = _scene(4)
    fused = ((ir.astype(np.uint16) + vis) // 2).astype(np.uint8)
    default = evaluate_fusion(ir, vis, fused)
    other = evaluate_fusion(ir, vis, fused, convention='cddfuse')
    changed = {k for k in default if not default[k] == pytest.approx(other[k])}
    assert changed == {'SSIM', 'PSNR', 'VIF', 'MI'}
    assert other['VIF'] == pytest.approx(2 * default['VIF'])
    assert other['MI'] == pytest.approx(default['MI'] * math.log(2))
    assert set(CONVENTION_PRESETS) >= {'default', 'cddfuse'}


def test_per_metric_conventions_and_subsets():
    ir, vis = _scene(5)
    fused = np.maximum(ir, vis)
    result = evaluate_fusion(ir, vis, fused, metrics=['MI'], convention={'MI': {'base': 'nats'}})
    assert list(result) == ['MI']
    assert result['MI'] == pytest.approx(mutual_information(ir, vis, fused, base='nats'))


def test_direction_flags_match_the_paper():
    lower_is_better = {n for n, m in FUSION_METRICS.items() if not m.higher_is_better}
    assert lower_is_better == {'MSE', 'CV'}


@pytest.mark.parametrize(
    'call, error',
    [
        (lambda a: evaluate_fusion(a, a, a[:-1]), ValueError),
        (lambda a: evaluate_fusion(a.astype(np.uint16), a, a), TypeError),
        (lambda a: evaluate_fusion(a.astype(np.int32), a, a), TypeError),
        (lambda a: evaluate_fusion(a, a, np.full(a.shape, np.nan)), ValueError),
        (lambda a: evaluate_fusion(a, a, a, metrics=['FOO']), ValueError),
        (lambda a: evaluate_fusion(a, a, a, convention='nope'), ValueError),
        (lambda a: evaluate_fusion(a, a, a, convention={'XYZ': {}}), ValueError),
        (lambda a: structural_similarity(a, a, a, combine='median'), ValueError),
        (lambda a: structural_similarity(a, a, a, window='box'), ValueError),
        (lambda a: mutual_information(a, a, a, base='dits'), ValueError),
        (lambda a: peak_signal_to_noise_ratio(a, a, a, peak='max'), ValueError),
        (lambda a: average_gradient(a, difference='sideways'), ValueError),
        (lambda a: evaluate_fusion([[1, 2]], a, a), TypeError),
    ],
)
def test_bad_input_raises_a_clear_error(call, error):
    image, _ = _scene(6)
    with pytest.raises(error):
        call(image)


def test_ir_to_uint8_scales_16_bit_linearly():
    ir16 = np.array([[0, 65535], [32768, 257]], np.uint16)
    np.testing.assert_array_equal(ir_to_uint8(ir16), [[0, 255], [128, 1]])
    with pytest.raises(TypeError):
        ir_to_uint8(np.zeros((2, 2), np.int32))


def test_ir_to_uint8_stretches_a_float_frame_by_its_percentiles():
    celsius = np.linspace(-10.0, 30.0, 101, dtype=np.float32).reshape(1, 101)
    celsius[0, 50] = np.nan
    out = ir_to_uint8(celsius)
    assert out.dtype == np.uint8 and out.shape == (1, 101)
    assert out[0, 0] == 0 and out[0, -1] == 255 and out[0, 50] == 0  # 1st/99th pct, NaN
    assert np.all(np.diff(out[0, 1:50].astype(int)) >= 0)  # order kept


@pytest.mark.skipif(not (DATA / 'msrs').is_dir(), reason='shared MSRS sample data not present')
def test_real_msrs_pair_sanity_and_blur_ordering():
    ir = cv2.imread(str(DATA / 'msrs' / 'ir' / '00004N.png'), cv2.IMREAD_GRAYSCALE)
    vis = cv2.imread(str(DATA / 'msrs' / 'vi' / '00004N.png'), cv2.IMREAD_GRAYSCALE)
    fused = np.maximum(ir, vis)
    blurred = cv2.GaussianBlur(fused, (0, 0), 1.5)
    sharp_m = evaluate_fusion(ir, vis, fused)
    blur_m = evaluate_fusion(ir, vis, blurred)
    for name in ('SF', 'AG', 'Qabf'):
        assert blur_m[name] < sharp_m[name], name
    assert 0 < sharp_m['SSIM'] < 1 and 0 < sharp_m['Qabf'] < 1
    assert all(np.isfinite(v) for v in sharp_m.values())
