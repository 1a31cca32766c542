"""Infrared input scaling and stable output scaling used by the pipeline."""

import numpy as np
import pytest

from tsjnet_ros.core.color import InfraredScaler, unit_to_uint8


def test_eight_bit_and_float_inputs():
    scaler = InfraredScaler()
    ir = np.array([[0, 51, 255]], np.uint8)
    assert np.allclose(scaler(ir), [[0.0, 0.2, 1.0]])
    assert np.allclose(scaler(np.array([[-0.5, 0.25, 2.0]], np.float32)), [[0.0, 0.25, 1.0]])
    with pytest.raises(TypeError, match="dtype"):
        scaler(np.zeros((2, 2), np.int32))
    with pytest.raises(ValueError, match="HxW"):
        scaler(np.zeros((2, 2, 3), np.uint8))


def test_fixed_range_is_linear_and_clipped():
    scaler = InfraredScaler(mode="fixed", fixed_range=(1000, 3000))
    ir = np.array([[0, 1000, 2000, 3000, 60000]], np.uint16)
    assert np.allclose(scaler(ir), [[0.0, 0.0, 0.5, 1.0, 1.0]])


def test_percentile_range_is_smoothed_over_frames():
    scaler = InfraredScaler(mode="percentile", low_percentile=0, high_percentile=100, momentum=0.75)
    first = np.array([[1000, 2000]], np.uint16)
    assert np.allclose(scaler(first), [[0.0, 1.0]])
    # the scene warms by 400 counts: the range moves a quarter of the way (to 1100..2100)
    second = np.array([[1400, 2400]], np.uint16)
    assert np.allclose(scaler(second), [[0.3, 1.0]])
    scaler.reset()
    assert np.allclose(scaler(second), [[0.0, 1.0]])
    flat = InfraredScaler()(np.full((4, 4), 5000, np.uint16))
    assert np.isfinite(flat).all()


def test_bad_scaler_settings():
    with pytest.raises(ValueError, match="high > low"):
        InfraredScaler(mode="fixed", fixed_range=(10, 10))
    with pytest.raises(ValueError, match="percentiles"):
        InfraredScaler(low_percentile=99, high_percentile=1)
    with pytest.raises(ValueError, match="momentum"):
        InfraredScaler(momentum=1.0)


def test_output_scaling_clamps_instead_of_stretching():
    out = unit_to_uint8(np.array([[-0.2, 0.0, 0.1, 0.5, 1.0, 1.7]]))
    assert out.dtype == np.uint8
    assert out.tolist() == [[0, 0, 26, 128, 255, 255]]
