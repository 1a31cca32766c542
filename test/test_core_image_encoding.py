"""sensor_msgs/Image <-> numpy conversion without ROS (plain objects with Image fields)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from tsjnet_ros.core.image.image_encoding import (
    ENCODINGS,
    ImageFormatError,
    array_to_fields,
    fill_image,
    image_to_array,
    to_mono,
    to_rgb8,
)


def _random(encoding: str, h: int = 5, w: int = 7) -> np.ndarray:
    dtype, channels = ENCODINGS[encoding]
    rng = np.random.default_rng(1)
    shape = (h, w) if channels == 1 else (h, w, channels)
    if dtype.kind == 'f':
        return rng.random(shape).astype(dtype)
    return rng.integers(0, np.iinfo(dtype).max, size=shape, dtype=dtype)


@pytest.mark.parametrize('encoding', sorted(ENCODINGS))
def test_round_trip_every_encoding(encoding):
    array = _random(encoding)
    msg = fill_image(SimpleNamespace(), array, encoding)
    assert msg.height == 5 and msg.width == 7 and msg.is_bigendian == 0
    assert msg.step == 7 * array.itemsize * (1 if array.ndim == 2 else array.shape[2])
    decoded = image_to_array(msg)
    assert decoded.dtype == array.dtype and decoded.shape == array.shape
    np.testing.assert_array_equal(decoded, array)


@pytest.mark.parametrize('encoding', ['mono8', 'mono16', '32FC1', 'bgr8', 'rgba8'])
def test_row_padding_is_skipped(encoding):
    array = _random(encoding)
    fields = array_to_fields(array, encoding)
    pad = 5
    rows = np.frombuffer(fields.data, np.uint8).reshape(fields.height, fields.step)
    padded = np.concatenate([rows, np.full((fields.height, pad), 0xAB, np.uint8)], axis=1)
    msg = SimpleNamespace(
        **{**fields.__dict__, 'step': fields.step + pad, 'data': padded.tobytes()}
    )
    np.testing.assert_array_equal(image_to_array(msg), array)


@pytest.mark.parametrize('encoding,dtype', [('mono16', '>u2'), ('16UC1', '>u2'), ('32FC1', '>f4')])
def test_big_endian_data(encoding, dtype):
    array = _random(encoding)
    msg = SimpleNamespace(
        height=5,
        width=7,
        encoding=encoding,
        is_bigendian=1,
        step=7 * array.itemsize,
        data=array.astype(dtype).tobytes(),
    )
    decoded = image_to_array(msg)
    assert decoded.dtype.isnative
    np.testing.assert_array_equal(decoded, array)


def test_bytes_and_array_array_data_both_accepted():
    import array as pyarray

    image = _random('rgb8')
    fields = array_to_fields(image, 'rgb8')
    msg = SimpleNamespace(**{**fields.__dict__, 'data': pyarray.array('B', fields.data)})
    np.testing.assert_array_equal(image_to_array(msg), image)


def _msg(**overrides):
    base = dict(height=4, width=4, encoding='mono8', is_bigendian=0, step=4, data=bytes(16))
    base.update(overrides)
    return SimpleNamespace(**base)


@pytest.mark.parametrize(
    'overrides,message',
    [
        ({'encoding': 'yuv411'}, "unsupported encoding 'yuv411'"),
        ({'step': 3, 'data': bytes(12)}, 'step 3 is smaller than one row'),
        ({'data': bytes(15)}, 'data length 15 does not match step 4 x height 4 = 16'),
        ({'height': 0, 'data': b''}, 'zero-size image'),
        ({'width': 0, 'step': 0, 'data': b''}, 'zero-size image'),
        ({'height': 5000, 'data': bytes(4 * 5000)}, 'exceeds the 4096-pixel side limit'),
    ],
)
def test_bad_messages_raise_clear_errors(overrides, message):
    with pytest.raises(ImageFormatError, match=message.replace('(', r'\(').replace(')', r'\)')):
        image_to_array(_msg(**overrides))


def test_encoding_mismatch_on_encode():
    with pytest.raises(ImageFormatError, match='does not fit encoding bgr8'):
        array_to_fields(np.zeros((4, 4), np.uint8), 'bgr8')
    with pytest.raises(ImageFormatError, match='needs dtype uint16'):
        array_to_fields(np.zeros((4, 4), np.uint8), 'mono16')


def test_colour_orders_and_mono():
    rgb = np.zeros((1, 2, 3), np.uint8)
    rgb[0, 0] = (255, 0, 0)  # red
    rgb[0, 1] = (0, 0, 255)  # blue
    bgr = rgb[:, :, ::-1]
    bgra = np.concatenate([bgr, np.full((1, 2, 1), 7, np.uint8)], axis=2)
    rgba = np.concatenate([rgb, np.full((1, 2, 1), 7, np.uint8)], axis=2)
    for array, enc in ((rgb, 'rgb8'), (bgr, 'bgr8'), (bgra, 'bgra8'), (rgba, 'rgba8')):
        np.testing.assert_array_equal(to_rgb8(array, enc), rgb)
    # BT.601 luma of pure red and pure blue
    np.testing.assert_array_equal(to_mono(bgr, 'bgr8'), [[76, 29]])


def test_float_mono_keeps_its_values_for_the_range_scaler():
    """Degrees stay degrees: clipping float IR to [0, 1] made a 20 degC scene uniform."""
    image = np.array([[np.nan, 20.0, 36.5, 0.5]], np.float64)
    mono = to_mono(image, '64FC1')
    assert mono.dtype == np.float32
    np.testing.assert_array_equal(mono[0, 1:], [20.0, 36.5, 0.5])
