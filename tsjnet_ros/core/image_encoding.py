"""``sensor_msgs/Image`` <-> numpy without cv_bridge.

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

# encoding -> (numpy dtype, channels); names as in sensor_msgs/image_encodings.hpp
ENCODINGS: dict[str, tuple[np.dtype, int]] = {
    "mono8": (np.dtype(np.uint8), 1),
    "8UC1": (np.dtype(np.uint8), 1),
    "mono16": (np.dtype(np.uint16), 1),
    "16UC1": (np.dtype(np.uint16), 1),
    "32FC1": (np.dtype(np.float32), 1),
    "rgb8": (np.dtype(np.uint8), 3),
    "bgr8": (np.dtype(np.uint8), 3),
    "rgba8": (np.dtype(np.uint8), 4),
    "bgra8": (np.dtype(np.uint8), 4),
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
    data: pyarray.array  # typecode 'B': what generated messages store, so assigning it copies nothing


def image_to_array(msg: Any, max_side: int = MAX_SIDE) -> np.ndarray:
    """Decode an Image-like message into HxW or HxWxC numpy (native byte order, a view when possible).

    Raises :class:`ImageFormatError` with a message naming the problem: unknown encoding,
    zero size, ``step`` smaller than one row, or data length not matching ``step * height``.
    """
    encoding = msg.encoding
    if encoding not in ENCODINGS:
        raise ImageFormatError(
            f"unsupported encoding {encoding!r}; supported: {', '.join(ENCODINGS)}", f"encoding {encoding!r}"
        )
    dtype, channels = ENCODINGS[encoding]
    height, width, step = int(msg.height), int(msg.width), int(msg.step)
    if height <= 0 or width <= 0:
        raise ImageFormatError(f"zero-size image ({width}x{height})", "zero size")
    if height > max_side or width > max_side:
        raise ImageFormatError(
            f"image {width}x{height} exceeds the {max_side}-pixel side limit", "too large"
        )
    row_bytes = width * channels * dtype.itemsize
    if step < row_bytes:
        raise ImageFormatError(
            f"step {step} is smaller than one row of {width} x {channels} x "
            f"{dtype.itemsize} bytes = {row_bytes}", "step"
        )
    buffer = memoryview(msg.data).cast("B") if not isinstance(msg.data, bytes) else msg.data
    if len(buffer) != step * height:
        raise ImageFormatError(
            f"data length {len(buffer)} does not match step {step} x height {height} = "
            f"{step * height}", "data length"
        )
    raw = np.frombuffer(buffer, dtype=np.uint8).reshape(height, step)
    if step != row_bytes:  # drop row padding (this copies; unpadded data stays a view)
        raw = np.ascontiguousarray(raw[:, :row_bytes])
    wire = dtype.newbyteorder(">" if msg.is_bigendian else "<")
    array = raw.view(wire).reshape(height, width, channels)
    if not wire.isnative:
        array = array.astype(dtype)
    if channels == 1:
        array = array[:, :, 0]
    return array


def _byte_array(contiguous: np.ndarray) -> pyarray.array:
    """One copy of the array's bytes as array('B') (``tobytes`` + the message setter would copy twice)."""
    data = pyarray.array("B")
    data.frombytes(contiguous.reshape(-1).view(np.uint8))
    return data


def array_to_fields(array: np.ndarray, encoding: str) -> ImageFields:
    """Encode a numpy image as Image fields (little-endian, unpadded rows)."""
    if encoding not in ENCODINGS:
        raise ImageFormatError(
            f"unsupported encoding {encoding!r}; supported: {', '.join(ENCODINGS)}"
        )
    dtype, channels = ENCODINGS[encoding]
    expected_ndim = 2 if channels == 1 else 3
    if array.ndim != expected_ndim or (channels > 1 and array.shape[2] != channels):
        raise ImageFormatError(
            f"array of shape {array.shape} does not fit encoding {encoding} "
            f"({channels} channel{'s' if channels > 1 else ''})"
        )
    if array.dtype != dtype:
        raise ImageFormatError(f"encoding {encoding} needs dtype {dtype}, got {array.dtype}")
    little = np.ascontiguousarray(array, dtype=dtype.newbyteorder("<"))
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
    computing on it runs numpy's slow strided loops, about 3 ms for 640x480 against
    0.05 ms for OpenCV's channel swap.
    """
    if array.ndim != 3 or array.shape[2] != 3:
        raise ImageFormatError(f"swap_red_blue needs an HxWx3 image, got shape {array.shape}")
    return cv2.cvtColor(np.ascontiguousarray(array), cv2.COLOR_RGB2BGR)


def to_rgb8(array: np.ndarray, encoding: str) -> np.ndarray:
    """Any supported colour or mono encoding as HxWx3 uint8 RGB (mono replicated); channel
    reorders give new arrays, never negative-stride views."""
    if encoding == "rgb8":
        return array
    if encoding == "bgr8":
        return swap_red_blue(array)
    if encoding == "rgba8":
        return cv2.cvtColor(np.ascontiguousarray(array), cv2.COLOR_RGBA2RGB)
    if encoding == "bgra8":
        return cv2.cvtColor(np.ascontiguousarray(array), cv2.COLOR_BGRA2RGB)
    mono = to_mono(array, encoding)
    return np.repeat(mono[:, :, None], 3, axis=2)


def to_mono(array: np.ndarray, encoding: str) -> np.ndarray:
    """Any supported encoding as a single-channel image, keeping 16-bit depth.

    Colour becomes BT.601 luma (uint8). ``32FC1`` is taken as [0, 1] intensity: NaN and
    -inf become 0, +inf becomes 1, then it is scaled to uint16 to keep its precision.
    """
    _, channels = ENCODINGS[encoding]
    if channels == 1:
        if encoding == "32FC1":
            clean = np.nan_to_num(array, nan=0.0, posinf=1.0, neginf=0.0)
            return (np.clip(clean, 0.0, 1.0) * 65535.0 + 0.5).astype(np.uint16)
        return array
    rgb = to_rgb8(array, encoding).astype(np.float32)
    luma = rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    return np.clip(luma + 0.5, 0, 255).astype(np.uint8)
