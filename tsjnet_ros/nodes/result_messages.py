"""Fusion results -> ROS messages (vision_msgs detections, label table, per-frame message)."""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any

from std_msgs.msg import Header
from vision_msgs.msg import Detection2DArray, LabelInfo, VisionClass

from tsjnet_ros.core.perception.detection_message import DETECTION_MESSAGE_TYPES
from tsjnet_ros.core.perception.detection_message import (
    detections_message as build_detections_message,
)
from tsjnet_ros.core.types.detection import Detection


def _message_class(name: str) -> type:
    package, _, class_name = name.split('/')
    return getattr(importlib.import_module(f'{package}.msg'), class_name)


#: rclpy's generated classes for the detection message
#: (see :mod:`core.perception.detection_message`).
DETECTION_CLASSES = {name: _message_class(name) for name in DETECTION_MESSAGE_TYPES}


def detections_message(
    detections: Sequence[Detection], header: Header, class_id_format: str = 'id'
) -> Detection2DArray:
    """Build boxes in original camera pixels as centre + size.

    Layout: :mod:`core.perception.detection_message`.

    ``class_id`` is the numeric class id as a string (matching ``label_info``'s
    VisionClass.class_id) or, with ``class_id_format="name"``, the class name.
    """
    return build_detections_message(detections, header, DETECTION_CLASSES, class_id_format)


def label_info_message(class_names: Sequence[str], header: Header, threshold: float) -> LabelInfo:
    """Return the class table (id -> name).

    Detection class ids and segmentation values index it.
    """
    return LabelInfo(
        header=header,
        class_map=[VisionClass(class_id=i, class_name=name) for i, name in enumerate(class_names)],
        threshold=float(threshold),
    )


def keep_classes(detections: Sequence[Detection], classes: Sequence[str]) -> list[Detection]:
    """Keep the detections whose class name is in ``classes`` (all when it has no names)."""
    wanted = {c for c in classes if c}
    return list(detections) if not wanted else [d for d in detections if d.class_name in wanted]


def header_copy(header: Any) -> Header:
    return Header(stamp=header.stamp, frame_id=header.frame_id)
