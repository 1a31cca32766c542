"""``sensor_msgs/CompressedImage`` (image_transport ``compressed``) -> numpy, without ROS.

Most recorded bags and many camera drivers carry only ``<topic>/compressed``: JPEG for
colour, PNG for lossless and 16-bit data (thermal cameras). ``format`` is written by
compressed_image_transport as ``"<raw encoding>; <jpeg|png> compressed <encoding>"``
(older versions: just ``"jpeg"`` or ``"png"``). OpenCV decodes the bytes keeping depth and
channels; the decoded encoding follows from what the file holds (1, 3 or 4 channels of 8
or 16 bit, OpenCV's BGR order). ``compressedDepth`` (depth-camera PNG with a private
header) is refused.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from tsjnet_ros.core.image.image_encoding import MAX_SIDE, ImageFormatError

_DECODED = {
    (1, 8): 'mono8',
    (1, 16): 'mono16',
    (3, 8): 'bgr8',
    (3, 16): 'bgr16',
    (4, 8): 'bgra8',
    (4, 16): 'bgra16',
}


def compressed_to_array(msg: Any, max_side: int = MAX_SIDE) -> tuple[np.ndarray, str]:
    """(HxW or HxWxC array, its encoding) from an object with ``format`` and ``data``.

    Raises :class:`ImageFormatError` naming the cause: compressedDepth, empty data, bytes
    that are no image, or an image over ``max_side``.
    """
    fmt = str(msg.format)
    if 'compresseddepth' in fmt.lower().replace(' ', ''):
        raise ImageFormatError(
            f'compressedDepth images ({fmt!r}) are not supported; subscribe to the raw topic',
            'compressedDepth',
        )
    data = msg.data if isinstance(msg.data, (bytes, bytearray)) else memoryview(msg.data).cast('B')
    buffer = np.frombuffer(data, np.uint8)
    if buffer.size == 0:
        raise ImageFormatError(f'compressed image ({fmt!r}) has no data', 'compressed empty')
    array = cv2.imdecode(buffer, cv2.IMREAD_UNCHANGED)
    if array is None:
        raise ImageFormatError(
            f'compressed image data ({buffer.size} bytes, format {fmt!r}) is not a JPEG or PNG '
            'OpenCV can decode',
            'compressed undecodable',
        )
    if max(array.shape[:2]) > max_side:
        raise ImageFormatError(
            f'image {array.shape[1]}x{array.shape[0]} exceeds the {max_side}-pixel side limit',
            'too large',
        )
    channels = 1 if array.ndim == 2 else array.shape[2]
    bits = 16 if array.dtype == np.uint16 else 8
    if (channels, bits) not in _DECODED or array.dtype not in (np.uint8, np.uint16):
        raise ImageFormatError(
            f'compressed image decodes to {array.dtype} x {channels} channels, which no camera '
            'encoding matches',
            'compressed layout',
        )
    return array, _DECODED[(channels, bits)]


def array_to_compressed(array: np.ndarray, encoding: str, fmt: str = 'png') -> tuple[str, bytes]:
    """Encode ``array`` to (format string, bytes) as compressed_image_transport writes them.

    ``array`` is in OpenCV channel order (BGR) for colour; for tests, bag writing and replay.
    """
    ok, data = cv2.imencode(f'.{fmt}', array)
    if not ok:
        raise ImageFormatError(
            f'OpenCV cannot encode {array.dtype} {array.shape} as {fmt}', 'encode'
        )
    return f'{encoding}; {fmt} compressed {encoding}', data.tobytes()
