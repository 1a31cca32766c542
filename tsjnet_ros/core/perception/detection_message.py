"""Detections -> ``vision_msgs/Detection2DArray``, for any implementation of the message classes.

The fusion node publishes with rclpy's generated classes; the bag tools write with the
``rosbags`` typestore's classes, which have no defaults. Both come through
:func:`detections_message`, which is given the classes by ROS type name and sets every
field, so the node's topic and an evaluated bag carry the same messages.

Layout (vision_msgs): ``bbox.center.position`` is the box centre and ``size_x``/``size_y``
its extent in pixels, ``theta`` 0; one hypothesis per detection, its ``class_id`` the
numeric class id as a string (matching ``LabelInfo``'s ``VisionClass.class_id``) or the
class name; pose zero with identity orientation; ``id`` empty.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from tsjnet_ros.core.types.detection import Detection

CLASS_ID_FORMATS = ('id', 'name')

#: The message types :func:`detections_message` builds, by ROS type name.
DETECTION_MESSAGE_TYPES = (
    'vision_msgs/msg/Detection2DArray',
    'vision_msgs/msg/Detection2D',
    'vision_msgs/msg/ObjectHypothesisWithPose',
    'vision_msgs/msg/ObjectHypothesis',
    'vision_msgs/msg/BoundingBox2D',
    'vision_msgs/msg/Pose2D',
    'vision_msgs/msg/Point2D',
    'geometry_msgs/msg/PoseWithCovariance',
    'geometry_msgs/msg/Pose',
    'geometry_msgs/msg/Point',
    'geometry_msgs/msg/Quaternion',
)


def class_id_text(detection: Detection, class_id_format: str = 'id') -> str:
    """Return ``hypothesis.class_id`` of ``detection``: its id as text (``"id"``) or its name."""
    if class_id_format == 'id':
        return str(int(detection.class_id))
    if class_id_format == 'name':
        return detection.class_name
    raise ValueError(f'class_id_format must be one of {CLASS_ID_FORMATS}, got {class_id_format!r}')


def detections_message(
    detections: Sequence[Detection],
    header: Any,
    types: Mapping[str, Any],
    class_id_format: str = 'id',
) -> Any:
    """Build a Detection2DArray holding one single-hypothesis Detection2D per detection.

    ``header`` (std_msgs/Header of the image the boxes are in) is shared by the array and
    every detection. ``types`` maps each name in :data:`DETECTION_MESSAGE_TYPES` to its class
    (``bag_typestore().types`` or rclpy's classes). Raises ValueError for an unknown
    ``class_id_format`` and KeyError naming a missing type.
    """
    if class_id_format not in CLASS_ID_FORMATS:
        raise ValueError(
            f'class_id_format must be one of {CLASS_ID_FORMATS}, got {class_id_format!r}'
        )
    t = {name: types[name] for name in DETECTION_MESSAGE_TYPES}
    pose = t[
        'geometry_msgs/msg/PoseWithCovariance'
    ](  # one zero pose, shared: no hypothesis has a 3-D pose
        pose=t['geometry_msgs/msg/Pose'](
            position=t['geometry_msgs/msg/Point'](x=0.0, y=0.0, z=0.0),
            orientation=t['geometry_msgs/msg/Quaternion'](x=0.0, y=0.0, z=0.0, w=1.0),
        ),
        covariance=np.zeros(36, dtype=np.float64),
    )
    out = []
    for det in detections:
        x0, y0, x1, y1 = (float(v) for v in det.box_xyxy)
        hypothesis = t['vision_msgs/msg/ObjectHypothesisWithPose'](
            hypothesis=t['vision_msgs/msg/ObjectHypothesis'](
                class_id=class_id_text(det, class_id_format), score=float(det.score)
            ),
            pose=pose,
        )
        bbox = t['vision_msgs/msg/BoundingBox2D'](
            center=t['vision_msgs/msg/Pose2D'](
                position=t['vision_msgs/msg/Point2D'](x=(x0 + x1) / 2.0, y=(y0 + y1) / 2.0),
                theta=0.0,
            ),
            size_x=x1 - x0,
            size_y=y1 - y0,
        )
        out.append(
            t['vision_msgs/msg/Detection2D'](header=header, results=[hypothesis], bbox=bbox, id='')
        )
    return t['vision_msgs/msg/Detection2DArray'](header=header, detections=out)
