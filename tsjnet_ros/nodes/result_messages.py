"""Fusion results -> ROS messages (vision_msgs detections, label table, per-frame message)."""

from __future__ import annotations

from typing import Any, Sequence

from std_msgs.msg import Header
from vision_msgs.msg import (
    BoundingBox2D,
    Detection2D,
    Detection2DArray,
    LabelInfo,
    ObjectHypothesis,
    ObjectHypothesisWithPose,
    Point2D,
    Pose2D,
    VisionClass,
)

from tsjnet_ros.core.fusion.backend import Detection


def detections_message(detections: Sequence[Detection], header: Header, class_id_format: str = "id") -> Detection2DArray:
    """Boxes in original camera pixels as centre + size; ``theta`` 0 and ``id`` empty.

    ``class_id`` is the numeric class id as a string (matching ``label_info``'s
    VisionClass.class_id) or, with ``class_id_format="name"``, the class name.
    """
    array = Detection2DArray(header=header)
    for det in detections:
        x0, y0, x1, y1 = det.box_xyxy
        hypothesis = ObjectHypothesis(
            class_id=str(det.class_id) if class_id_format == "id" else det.class_name,
            score=float(det.score),
        )
        box = BoundingBox2D(
            center=Pose2D(position=Point2D(x=(x0 + x1) / 2.0, y=(y0 + y1) / 2.0), theta=0.0),
            size_x=float(x1 - x0),
            size_y=float(y1 - y0),
        )
        array.detections.append(
            Detection2D(header=header, results=[ObjectHypothesisWithPose(hypothesis=hypothesis)], bbox=box, id="")
        )
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
