"""Infrared input scaling and stable output scaling used by the pipeline."""

import numpy as np
import pytest

from tsjnet_ros.core.image.color import InfraredScaler, unit_to_uint8


def test_eight_bit_and_float_inputs():
    scaler = InfraredScaler()
    ir = np.array([[0, 51, 255]], np.uint8)
    assert np.allclose(scaler(ir), [[0.0, 0.2, 1.0]])
    fixed_unit = InfraredScaler(float_range=(0.0, 1.0))
    assert np.allclose(fixed_unit(np.array([[-0.5, 0.25, 2.0]], np.float32)), [[0.0, 0.25, 1.0]])
    with pytest.raises(TypeError, match='dtype'):
        scaler(np.zeros((2, 2), np.int32))
    with pytest.raises(ValueError, match='HxW'):
        scaler(np.zeros((2, 2, 2), np.uint8))


def test_fixed_range_is_linear_and_clipped():
    scaler = InfraredScaler(mode='fixed', fixed_range=(1000, 3000))
    ir = np.array([[0, 1000, 2000, 3000, 60000]], np.uint16)
    assert np.allclose(scaler(ir), [[0.0, 0.0, 0.5, 1.0, 1.0]])


def test_percentile_range_is_smoothed_over_frames():
    scaler = InfraredScaler(
        mode='percentile', low_percentile=0, high_percentile=100, momentum=0.75
    )
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
    with pytest.raises(ValueError, match='high > low'):
        InfraredScaler(mode='fixed', fixed_range=(10, 10))
    with pytest.raises(ValueError, match='percentiles'):
        InfraredScaler(low_percentile=99, high_percentile=1)
    with pytest.raises(ValueError, match='momentum'):
        InfraredScaler(momentum=1.0)


def test_output_scaling_clamps_instead_of_stretching():
    out = unit_to_uint8(np.array([[-0.2, 0.0, 0.1, 0.5, 1.0, 1.7]]))
    assert out.dtype == np.uint8
    assert out.tolist() == [[0, 0, 26, 128, 255, 255]]


def person_at_body_temperature(background: float, person: float) -> np.ndarray:
    """Return a 20 degC scene with a 36.5 degC person (about 12 % of the frame), in any unit."""
    scene = np.full((60, 80), background, np.float32)
    scene[10:50, 35:45] = person
    return scene


@pytest.mark.parametrize(
    'background, person',
    [(20.0, 36.5), (293.15, 309.65), (0.2, 0.365)],
    ids=['celsius', 'kelvin', 'unit'],
)
def test_float_ir_in_any_unit_keeps_its_contrast(background, person):
    """Float IR gets automatic gain control like 16-bit IR: the person stands out in every unit."""
    unit = InfraredScaler()(person_at_body_temperature(background, person))
    assert unit[30, 40] == pytest.approx(1.0) and unit[0, 0] == pytest.approx(0.0)


def test_float_ir_with_a_fixed_range_in_its_own_units():
    scaler = InfraredScaler.fixed((15.0, 40.0))  # degC
    unit = scaler(person_at_body_temperature(20.0, 36.5))
    assert unit[0, 0] == pytest.approx(0.2) and unit[30, 40] == pytest.approx(0.86)
    counts = scaler(np.array([[15, 40, 27]], np.uint16))  # the same range applies to 16-bit data
    assert np.allclose(counts, [[0.0, 1.0, 0.48]])
    with pytest.raises(ValueError, match='high > low'):
        InfraredScaler.fixed((5.0, 5.0))


def test_float_ir_nan_and_inf_do_not_spoil_the_range():
    frame = person_at_body_temperature(20.0, 36.5)
    frame[0, :5] = np.nan
    frame[1, :5] = np.inf
    frame[2, :5] = -np.inf
    unit = InfraredScaler()(frame)
    assert (
        np.isfinite(unit).all()
        and unit[30, 40] == pytest.approx(1.0)
        and unit[5, 5] == pytest.approx(0.0)
    )
    assert unit[0, 0] == 0.0 and unit[1, 0] == 1.0 and unit[2, 0] == 0.0
