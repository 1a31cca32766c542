"""What real camera drivers publish decodes correctly and is scaled by its real value range.

Every encoding is scaled by its real value range, for the IR and the visible camera alike.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tsjnet_ros.core.image.color import RangeScaler
from tsjnet_ros.core.image.image_encoding import (
    ENCODINGS,
    MONO_ENCODINGS,
    fill_image,
    image_to_array,
    to_rgb,
    to_rgb8,
)
from tsjnet_ros.core.preparation.pair_preparation import prepare_pair

H, W = 48, 64
BAYER_OFFSETS = {
    'rggb': ((0, 0), (1, 1)),
    'bggr': ((1, 1), (0, 0)),
    'gbrg': ((1, 0), (0, 1)),
    'grbg': ((0, 1), (1, 0)),
}


def smooth_rgb() -> np.ndarray:
    y, x = np.mgrid[0:H, 0:W].astype(np.float32)
    return np.stack([40 + 3 * x, 60 + 3 * y, 200 - 2 * x], axis=2).clip(0, 255).astype(np.uint8)


def mosaic(rgb: np.ndarray, pattern: str) -> np.ndarray:
    """Return a Bayer frame as the sensor records it.

    ROS names the top-left 2x2 cell, row by row.
    """
    (ry, rx), (by, bx) = BAYER_OFFSETS[pattern]
    out = rgb[:, :, 1].copy()
    out[ry::2, rx::2] = rgb[ry::2, rx::2, 0]
    out[by::2, bx::2] = rgb[by::2, bx::2, 2]
    return out


def encode(rgb: np.ndarray, encoding: str) -> np.ndarray:
    """``rgb`` (uint8) as a camera sends it in ``encoding``."""
    wide = rgb.astype(np.uint16) * 257
    base = encoding.rstrip('0123456789') if encoding.startswith('bayer') else encoding
    if base.startswith('bayer_'):
        frame = mosaic(rgb, base[len('bayer_') :])
        return frame if encoding.endswith('8') else frame.astype(np.uint16) * 257
    return {
        'rgb8': rgb,
        'bgr8': rgb[:, :, ::-1],
        '8UC3': rgb[:, :, ::-1],
        'rgba8': cv2.cvtColor(rgb, cv2.COLOR_RGB2RGBA),
        'bgra8': cv2.cvtColor(rgb, cv2.COLOR_RGB2BGRA),
        '8UC4': cv2.cvtColor(rgb, cv2.COLOR_RGB2BGRA),
        'rgb16': wide,
        'bgr16': wide[:, :, ::-1],
        'rgba16': cv2.cvtColor(wide, cv2.COLOR_RGB2RGBA),
        'bgra16': cv2.cvtColor(wide, cv2.COLOR_RGB2BGRA),
        'yuv422': cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_UYVY),
        'yuv422_yuy2': cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_YUY2),
    }[encoding]


COLOUR = sorted(set(ENCODINGS) - set(MONO_ENCODINGS))
OPENCV_CODES = {
    'yuv422': cv2.COLOR_YUV2RGB_UYVY,
    'yuv422_yuy2': cv2.COLOR_YUV2RGB_YUY2,
    'bayer_rggb8': cv2.COLOR_BayerBG2RGB,
    'bayer_bggr8': cv2.COLOR_BayerRG2RGB,
    'bayer_gbrg8': cv2.COLOR_BayerGR2RGB,
    'bayer_grbg8': cv2.COLOR_BayerGB2RGB,
}


@pytest.mark.parametrize('encoding', COLOUR)
def test_colour_encodings_decode_to_the_scene(encoding):
    rgb = smooth_rgb()
    msg = fill_image(type('Msg', (), {})(), np.ascontiguousarray(encode(rgb, encoding)), encoding)
    decoded = to_rgb8(image_to_array(msg), encoding)
    assert decoded.shape == (H, W, 3) and decoded.dtype == np.uint8
    inner = (slice(2, -2), slice(2, -2))  # demosaicing borders aside
    error = np.abs(decoded[inner].astype(int) - rgb[inner].astype(int))
    if encoding.endswith(
        '16'
    ):  # scaled by the frame's range: compare shapes of the channels, not levels
        assert np.corrcoef(decoded[inner].ravel(), rgb[inner].ravel())[0, 1] > 0.98
    else:
        assert error.mean() < 3.0, f'{encoding}: mean error {error.mean():.2f}'


@pytest.mark.parametrize('encoding', sorted(OPENCV_CODES))
def test_packed_and_mosaic_encodings_match_opencv(encoding):
    frame = encode(smooth_rgb(), encoding)
    np.testing.assert_array_equal(
        to_rgb(frame, encoding), cv2.cvtColor(frame, OPENCV_CODES[encoding])
    )
    if encoding.startswith('bayer'):
        wide = frame.astype(np.uint16) * 257
        np.testing.assert_array_equal(
            to_rgb(wide, encoding[:-1] + '16'), cv2.cvtColor(wide, OPENCV_CODES[encoding])
        )


@pytest.mark.parametrize('pattern', sorted(BAYER_OFFSETS))
def test_bayer_pattern_names_follow_ros_not_opencv(pattern):
    red = np.zeros((H, W, 3), np.uint8)
    red[:, :, 0] = 200
    rgb = to_rgb(mosaic(red, pattern), f'bayer_{pattern}8')
    assert rgb[10:-10, 10:-10, 0].min() == 200 and rgb[10:-10, 10:-10, 2].max() == 0


def test_odd_width_yuv_is_refused_with_its_cause():
    from tsjnet_ros.core.image.image_encoding import ImageFormatError

    with pytest.raises(ImageFormatError, match='even width') as info:
        to_rgb(np.zeros((4, 5, 2), np.uint8), 'yuv422')
    assert info.value.cause == 'yuv422 odd width'


def hot_square_scene(encoding: str) -> tuple[np.ndarray, tuple[slice, slice]]:
    """Return a dim background with a bright square in ``encoding`` at a realistic value range.

    12-bit data in 16-bit words, degrees Celsius in float, full range in 8 bit.
    """
    square = (slice(16, 32), slice(24, 40))
    dtype, channels = ENCODINGS[encoding]
    if dtype.kind == 'f':
        mono = np.full((H, W), 20.0, dtype)
        mono[square] = 36.5
        return mono, square
    top = 255 if dtype == np.uint8 else 4095
    grey = np.full((H, W), top // 4, np.uint8 if dtype == np.uint8 else np.uint16)
    grey[square] = top
    if encoding in MONO_ENCODINGS:
        return grey.astype(dtype), square
    if encoding.startswith('yuv'):
        return encode(np.repeat(grey[:, :, None], 3, axis=2).astype(np.uint8), encoding), square
    if encoding.startswith('bayer'):
        return grey, square  # a grey scene is the same in every mosaic cell
    return np.repeat(grey[:, :, None], channels, axis=2).astype(dtype), square


@pytest.mark.parametrize('encoding', sorted(ENCODINGS))
def test_every_encoding_keeps_its_contrast_as_visible_camera(encoding):
    visible, square = hot_square_scene(encoding)
    _, vis = prepare_pair(np.zeros((H, W), np.uint8), 'mono8', visible, encoding)
    assert vis.dtype == np.uint8
    contrast = float(vis[square].mean()) - float(vis[2:10, 2:10].mean())
    assert contrast > 100, f'{encoding} visible: contrast {contrast:.0f}'


@pytest.mark.parametrize('encoding', sorted(ENCODINGS))
def test_every_encoding_keeps_its_contrast_as_ir_camera(encoding):
    ir, square = hot_square_scene(encoding)
    ir_out, _ = prepare_pair(ir, encoding, np.zeros((H, W), np.uint8), 'mono8')
    unit = RangeScaler()(ir_out)  # what every backend does with the IR image
    contrast = float(unit[square].mean()) - float(unit[2:10, 2:10].mean())
    assert contrast > 0.4, f'{encoding} IR: contrast {contrast:.2f}'
