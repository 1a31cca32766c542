"""Fusion results -> ROS messages (vision_msgs detections, label table, per-frame message)."""

from __future__ import annotations

from typing import Any, Sequence

from std_msgs.msg import Header
from vision_msgs.msg import (
    Detection2D,
    Detection2DArray,
    LabelInfo,
    ObjectHypothesisWithPose,
    VisionClass,
)

from tsjnet_ros.core.types.detection import Detection


def detections_message(detections: Sequence[Detection], header: Header, class_id_format: str = "id") -> Detection2DArray:
    """Boxes in original camera pixels as centre + size; ``theta`` 0 and ``id`` empty.

    ``class_id`` is the numeric class id as a string (matching ``label_info``'s
    VisionClass.class_id) or, with ``class_id_format="name"``, the class name.
    """
    # Fields are set on the default-built sub-messages: the generated constructors build every
    # default even when a value is passed, so keyword construction would build each one twice.
    array = Detection2DArray(header=header)
    out = array.detections
    for det in detections:
        x0, y0, x1, y1 = det.box_xyxy
        detection = Detection2D()
        detection.header = header
        box = detection.bbox
        box.center.position.x = (x0 + x1) / 2.0
        box.center.position.y = (y0 + y1) / 2.0
        box.size_x = float(x1 - x0)
        box.size_y = float(y1 - y0)
        result = ObjectHypothesisWithPose()
        result.hypothesis.class_id = str(det.class_id) if class_id_format == "id" else det.class_name
        result.hypothesis.score = float(det.score)
        detection.results.append(result)
        out.append(detection)
    return array


def label_info_message(class_names: Sequence[str], header: Header, threshold: float) -> LabelInfo:
    """The class table (id -> name) that detection class ids and segmentation values index."""
    return LabelInfo(
        header=header,
        class_map=[VisionClass(class_id=i, class_name=name) for i, name in enumerate(class_names)],
        threshold=float(threshold),
    )


def keep_classes(detections: Sequence[Detection], classes: Sequence[str]) -> list[Detection]:
    """Detections whose class name is in ``classes`` (all when ``classes`` has no names)."""
    wanted = {c for c in classes if c}
    return list(detections) if not wanted else [d for d in detections if d.class_name in wanted]


def header_copy(header: Any) -> Header:
    return Header(stamp=header.stamp, frame_id=header.frame_id)
