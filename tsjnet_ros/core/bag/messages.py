"""Building and reading the bag's message objects from numpy.

The messages are Image, CompressedImage and Detection2DArray.

The objects are ``rosbags`` typestore messages, so no ROS installation is needed. Boxes
follow vision_msgs (:mod:`~tsjnet_ros.core.perception.detection_message`, the node's
builder): ``bbox.center.position`` is the box centre and ``size_x``/``size_y`` its extent
in pixels; the class is the numeric id as a string in ``results[].hypothesis.class_id``
(or the class name, when written so) with its ``score``.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Any

import numpy as np

from tsjnet_ros.core.bag.typestore import COMPRESSED_IMAGE, IMAGE, bag_typestore
from tsjnet_ros.core.image.compressed_image import array_to_compressed
from tsjnet_ros.core.image.image_encoding import array_to_fields, image_to_array
from tsjnet_ros.core.perception.detection_message import (
    detections_message as build_detections_message,
)
from tsjnet_ros.core.types.box_set import BoxSet
from tsjnet_ros.core.types.detection import Detection

NS_PER_S = 1_000_000_000


def split_stamp(stamp_ns: int) -> tuple[int, int]:
    return int(stamp_ns // NS_PER_S), int(stamp_ns % NS_PER_S)


def stamp_ns(header: Any) -> int:
    return int(header.stamp.sec) * NS_PER_S + int(header.stamp.nanosec)


def header_stamp_from_cdr(data: bytes | memoryview) -> int:
    """Header stamp (ns) of a serialised message whose first field is std_msgs/Header.

    Reads 8 bytes after the 4-byte CDR encapsulation header, honouring its byte order: the
    stamp of any such message (Image, CompressedImage, FusedFrame) without knowing its type
    and without deserialising its pixels, as the replay's receiver needs for every output.
    """
    if len(data) < 12:
        raise ValueError(f'message of {len(data)} bytes is too short to hold a header stamp')
    little = bytes(data[1:2]) in (b'\x01', b'\x03')
    sec, nanosec = struct.unpack_from('<iI' if little else '>iI', data, 4)
    return sec * NS_PER_S + nanosec


def _header(stamp: int, frame_id: str) -> Any:
    types = bag_typestore().types
    sec, nanosec = split_stamp(stamp)
    return types['std_msgs/msg/Header'](
        stamp=types['builtin_interfaces/msg/Time'](sec=sec, nanosec=nanosec), frame_id=frame_id
    )


def image_message(array: np.ndarray, encoding: str, stamp: int, frame_id: str) -> Any:
    """Build a sensor_msgs/Image holding ``array`` (encoding checked against shape and dtype)."""
    fields = array_to_fields(array, encoding)
    return bag_typestore().types[IMAGE](
        header=_header(stamp, frame_id),
        height=fields.height,
        width=fields.width,
        encoding=fields.encoding,
        is_bigendian=fields.is_bigendian,
        step=fields.step,
        data=np.frombuffer(fields.data, dtype=np.uint8),
    )


def compressed_image_message(
    array: np.ndarray, encoding: str, fmt: str, stamp: int, frame_id: str
) -> Any:
    """Build a sensor_msgs/CompressedImage of ``array`` as compressed_image_transport writes it.

    Colour is in OpenCV channel order; ``fmt`` is ``"png"`` (lossless, 16 bit kept) or ``"jpg"``.
    """
    form, data = array_to_compressed(array, encoding, fmt)
    types = bag_typestore().types
    return types[COMPRESSED_IMAGE](
        header=_header(stamp, frame_id), format=form, data=np.frombuffer(data, np.uint8)
    )


def image_cdr(array: np.ndarray, encoding: str, stamp: int, frame_id: str) -> bytes:
    """:func:`image_message` serialised as little-endian CDR by the typestore."""
    return bytes(
        bag_typestore().serialize_cdr(image_message(array, encoding, stamp, frame_id), IMAGE)
    )


def image_array(message: Any) -> np.ndarray:
    """Decode an Image message (see :func:`image_to_array` for the checks)."""
    return image_to_array(message)


def detections_message(
    detections: Sequence[Detection], stamp: int, frame_id: str, class_id_format: str = 'id'
) -> Any:
    """Build a vision_msgs/Detection2DArray of ``detections`` with the typestore's classes.

    Layout and ``class_id_format``: :mod:`~tsjnet_ros.core.perception.detection_message`.
    """
    return build_detections_message(
        detections, _header(stamp, frame_id), bag_typestore().types, class_id_format
    )


def boxes_from_detections(message: Any) -> BoxSet:
    """Boxes of a Detection2DArray; each detection's best hypothesis gives class and score.

    A class_id that is not an integer string raises ValueError naming it.
    """
    boxes, class_ids, scores = [], [], []
    for detection in message.detections:
        if not detection.results:
            raise ValueError('a detection without any hypothesis has no class')
        best = max(detection.results, key=lambda r: r.hypothesis.score)
        try:
            class_ids.append(int(best.hypothesis.class_id))
        except ValueError:
            raise ValueError(
                f'class_id {best.hypothesis.class_id!r} is not a numeric class id string'
            ) from None
        cx, cy = detection.bbox.center.position.x, detection.bbox.center.position.y
        half_w, half_h = detection.bbox.size_x / 2.0, detection.bbox.size_y / 2.0
        boxes.append((cx - half_w, cy - half_h, cx + half_w, cy + half_h))
        scores.append(best.hypothesis.score)
    return BoxSet(
        np.array(boxes, dtype=np.float64).reshape(-1, 4),
        np.array(class_ids, np.int64),
        np.array(scores),
    )
