"""``sensor_msgs/Image`` <-> numpy without cv_bridge.

Every encoding in :data:`ENCODINGS` is decoded: mono and float (thermal) images, 8- and
16-bit RGB/BGR(A), ``8UC3``/``8UC4`` (BGR/BGRA as cv_bridge reads them), packed YUV 4:2:2
from USB/UVC cameras (``yuv422`` = UYVY, ``yuv422_yuy2`` = YUYV) and 8- and 16-bit Bayer
mosaics from machine-vision cameras; colour conversion and demosaicing are OpenCV's, with
the ROS-to-OpenCV Bayer names of cv_bridge (ROS names the top-left 2x2 cell, OpenCV the
cell one row and column further in).

Works on any object with the Image fields (height, width, encoding, is_bigendian, step,
data), so it is tested without ROS and used by the nodes and the bag tools alike. Row
padding (``step`` larger than ``width * bytes_per_pixel``) and big-endian data are handled.
"""

from __future__ import annotations

import array as pyarray
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from tsjnet_ros.core.image.color import RangeScaler, unit_to_uint8

# encoding -> (numpy dtype, channels); names as in sensor_msgs/image_encodings.hpp
ENCODINGS: dict[str, tuple[np.dtype, int]] = {
    'mono8': (np.dtype(np.uint8), 1),
    '8UC1': (np.dtype(np.uint8), 1),
    'mono16': (np.dtype(np.uint16), 1),
    '16UC1': (np.dtype(np.uint16), 1),
    '32FC1': (np.dtype(np.float32), 1),
    'rgb8': (np.dtype(np.uint8), 3),
    'bgr8': (np.dtype(np.uint8), 3),
    'rgba8': (np.dtype(np.uint8), 4),
    'bgra8': (np.dtype(np.uint8), 4),
    '64FC1': (np.dtype(np.float64), 1),
    'rgb16': (np.dtype(np.uint16), 3),
    'bgr16': (np.dtype(np.uint16), 3),
    'rgba16': (np.dtype(np.uint16), 4),
    'bgra16': (np.dtype(np.uint16), 4),
    '8UC3': (np.dtype(np.uint8), 3),
    '8UC4': (np.dtype(np.uint8), 4),
    'yuv422': (np.dtype(np.uint8), 2),
    'yuv422_yuy2': (np.dtype(np.uint8), 2),
    **{
        f'bayer_{pattern}{bits}': (np.dtype(np.uint8 if bits == 8 else np.uint16), 1)
        for pattern in ('rggb', 'bggr', 'gbrg', 'grbg')
        for bits in (8, 16)
    },
}

# Single-channel intensity encodings (all others are colour).
MONO_ENCODINGS = ('mono8', '8UC1', 'mono16', '16UC1', '32FC1', '64FC1')

# colour encoding -> OpenCV conversion code to RGB (None: already RGB)
_TO_RGB: dict[str, int | None] = {
    'rgb8': None,
    'rgb16': None,
    'bgr8': cv2.COLOR_BGR2RGB,
    'bgr16': cv2.COLOR_BGR2RGB,
    '8UC3': cv2.COLOR_BGR2RGB,
    'rgba8': cv2.COLOR_RGBA2RGB,
    'rgba16': cv2.COLOR_RGBA2RGB,
    'bgra8': cv2.COLOR_BGRA2RGB,
    'bgra16': cv2.COLOR_BGRA2RGB,
    '8UC4': cv2.COLOR_BGRA2RGB,
    'yuv422': cv2.COLOR_YUV2RGB_UYVY,
    'yuv422_yuy2': cv2.COLOR_YUV2RGB_YUY2,
    **{
        f'bayer_{pattern}{bits}': code
        for bits in (8, 16)
        for pattern, code in (
            ('rggb', cv2.COLOR_BayerBG2RGB),
            ('bggr', cv2.COLOR_BayerRG2RGB),
            ('gbrg', cv2.COLOR_BayerGR2RGB),
            ('grbg', cv2.COLOR_BayerGB2RGB),
        )
    },
}

# Largest side accepted from a camera topic; larger images are refused as implausible.
MAX_SIDE = 4096


class ImageFormatError(ValueError):
    """A message that cannot be interpreted as the image it claims to be.

    ``cause`` is a short key of the kind of problem (``encoding 'yuv411'``, ``step``, ...),
    so that logs can be rate limited per cause rather than per call site.
    """

    def __init__(self, message: str, cause: str | None = None) -> None:
        super().__init__(message)
        self.cause = cause or message


@dataclass
class ImageFields:
    """The sensor_msgs/Image fields for one array (header excluded)."""

    height: int
    width: int
    encoding: str
    is_bigendian: int
    step: int
    data: (
        pyarray.array
    )  # typecode 'B': what generated messages store, so assigning it copies nothing


def image_to_array(msg: Any, max_side: int = MAX_SIDE) -> np.ndarray:
    """Decode an Image-like message into HxW or HxWxC numpy.

    The array is in native byte order, a view when possible.

    Raises :class:`ImageFormatError` with a message naming the problem: unknown encoding,
    zero size, ``step`` smaller than one row, or data length not matching ``step * height``.
    """
    encoding = msg.encoding
    if encoding not in ENCODINGS:
        raise ImageFormatError(
            f'unsupported encoding {encoding!r}; supported: {", ".join(ENCODINGS)}',
            f'encoding {encoding!r}',
        )
    dtype, channels = ENCODINGS[encoding]
    height, width, step = int(msg.height), int(msg.width), int(msg.step)
    if height <= 0 or width <= 0:
        raise ImageFormatError(f'zero-size image ({width}x{height})', 'zero size')
    if height > max_side or width > max_side:
        raise ImageFormatError(
            f'image {width}x{height} exceeds the {max_side}-pixel side limit', 'too large'
        )
    row_bytes = width * channels * dtype.itemsize
    if step < row_bytes:
        raise ImageFormatError(
            f'step {step} is smaller than one row of {width} x {channels} x '
            f'{dtype.itemsize} bytes = {row_bytes}',
            'step',
        )
    buffer = memoryview(msg.data).cast('B') if not isinstance(msg.data, bytes) else msg.data
    if len(buffer) != step * height:
        raise ImageFormatError(
            f'data length {len(buffer)} does not match step {step} x height {height} = '
            f'{step * height}',
            'data length',
        )
    raw = np.frombuffer(buffer, dtype=np.uint8).reshape(height, step)
    if step != row_bytes:  # drop row padding (this copies; unpadded data stays a view)
        raw = np.ascontiguousarray(raw[:, :row_bytes])
    wire = dtype.newbyteorder('>' if msg.is_bigendian else '<')
    array = raw.view(wire).reshape(height, width, channels)
    if not wire.isnative:
        array = array.astype(dtype)
    if channels == 1:
        array = array[:, :, 0]
    return array


def _byte_array(contiguous: np.ndarray) -> pyarray.array:
    """Return one copy of the array's bytes as array('B').

    ``tobytes`` + the message setter would copy twice.
    """
    data = pyarray.array('B')
    data.frombytes(contiguous.reshape(-1).view(np.uint8))
    return data


def array_to_fields(array: np.ndarray, encoding: str) -> ImageFields:
    """Encode a numpy image as Image fields (little-endian, unpadded rows)."""
    if encoding not in ENCODINGS:
        raise ImageFormatError(
            f'unsupported encoding {encoding!r}; supported: {", ".join(ENCODINGS)}'
        )
    dtype, channels = ENCODINGS[encoding]
    expected_ndim = 2 if channels == 1 else 3
    if array.ndim != expected_ndim or (channels > 1 and array.shape[2] != channels):
        raise ImageFormatError(
            f'array of shape {array.shape} does not fit encoding {encoding} '
            f'({channels} channel{"s" if channels > 1 else ""})'
        )
    if array.dtype != dtype:
        raise ImageFormatError(f'encoding {encoding} needs dtype {dtype}, got {array.dtype}')
    little = np.ascontiguousarray(array, dtype=dtype.newbyteorder('<'))
    height, width = array.shape[:2]
    return ImageFields(
        height=height,
        width=width,
        encoding=encoding,
        is_bigendian=0,
        step=width * channels * dtype.itemsize,
        data=_byte_array(little),
    )


def fill_image(msg: Any, array: np.ndarray, encoding: str) -> Any:
    """Write ``array`` into an Image-like message in place and return it (header untouched)."""
    fields = array_to_fields(array, encoding)
    msg.height = fields.height
    msg.width = fields.width
    msg.encoding = fields.encoding
    msg.is_bigendian = fields.is_bigendian
    msg.step = fields.step
    msg.data = fields.data
    return msg


def swap_red_blue(array: np.ndarray) -> np.ndarray:
    """RGB <-> BGR of an HxWx3 image as a new contiguous array.

    ``array[:, :, ::-1]`` is a view with a negative stride: copying it (to publish it) or
    computing on it runs numpy's slow strided loops, many times slower than OpenCV's
    channel swap.
    """
    if array.ndim != 3 or array.shape[2] != 3:
        raise ImageFormatError(f'swap_red_blue needs an HxWx3 image, got shape {array.shape}')
    return cv2.cvtColor(np.ascontiguousarray(array), cv2.COLOR_RGB2BGR)


def to_rgb(array: np.ndarray, encoding: str) -> np.ndarray:
    """Convert any supported encoding to HxWx3 RGB at its own depth.

    The depth is uint8, uint16 or float32; mono is replicated. Channel reorders give new
    arrays, never negative-stride views.

    Raises :class:`ImageFormatError` for packed YUV of odd width or a Bayer mosaic smaller
    than 2x2.
    """
    if encoding in MONO_ENCODINGS:
        mono = to_mono(array, encoding)
        return np.repeat(mono[:, :, None], 3, axis=2)
    if encoding not in _TO_RGB:
        raise ImageFormatError(f'unsupported encoding {encoding!r}', f'encoding {encoding!r}')
    code = _TO_RGB[encoding]
    if code is None:
        return array
    if encoding.startswith('yuv422') and array.shape[1] % 2:
        raise ImageFormatError(
            f'{encoding} packs pixel pairs and needs an even width, got {array.shape[1]}',
            f'{encoding} odd width',
        )
    if encoding.startswith('bayer') and min(array.shape[:2]) < 2:
        raise ImageFormatError(
            f'{encoding} mosaic {array.shape[1]}x{array.shape[0]} is smaller than 2x2',
            'bayer size',
        )
    return cv2.cvtColor(np.ascontiguousarray(array), code)


def to_rgb8(array: np.ndarray, encoding: str) -> np.ndarray:
    """Convert any supported encoding to HxWx3 uint8 RGB.

    Wider data is scaled by its value range (percentiles of this frame, see
    :class:`~tsjnet_ros.core.image.color.RangeScaler`).
    """
    rgb = to_rgb(array, encoding)
    if rgb.dtype == np.uint8:
        return rgb
    return unit_to_uint8(RangeScaler(momentum=0.0)(rgb))


def to_mono(array: np.ndarray, encoding: str) -> np.ndarray:
    """Any supported encoding as a single-channel image at its own depth.

    Mono stays as it is (float64 becomes float32; NaN and inf are left for the range
    scaler, which knows the frame's range); colour becomes BT.601 luma of the same dtype.
    """
    if encoding in MONO_ENCODINGS:
        return array.astype(np.float32) if array.dtype == np.float64 else array
    rgb = to_rgb(array, encoding)
    luma = rgb.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    if rgb.dtype == np.uint8:
        return np.clip(luma + 0.5, 0, 255).astype(np.uint8)
    if rgb.dtype == np.uint16:
        return np.clip(luma + 0.5, 0, 65535).astype(np.uint16)
    return luma
