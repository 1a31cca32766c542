"""One detection message builder for the node (rclpy classes) and the bags (rosbags typestore)."""

import numpy as np
import pytest

from tsjnet_ros.core.bag.typestore import bag_typestore
from tsjnet_ros.core.perception.detection_message import detections_message
from tsjnet_ros.core.types.detection import Detection

DETECTIONS = [
    Detection(2, 'car', 0.75, (10.0, 20.0, 50.0, 40.0)),
    Detection(0, 'person', 0.5, (1.5, 2.0, 3.5, 9.0)),
]


def _fields(message):
    return [
        (
            d.bbox.center.position.x,
            d.bbox.center.position.y,
            d.bbox.size_x,
            d.bbox.size_y,
            d.bbox.center.theta,
            [(r.hypothesis.class_id, r.hypothesis.score) for r in d.results],
            d.id,
            d.header.frame_id,
        )
        for d in message.detections
    ]


def _rosbags_header(frame_id):
    types = bag_typestore().types
    return types['std_msgs/msg/Header'](
        stamp=types['builtin_interfaces/msg/Time'](sec=1, nanosec=2), frame_id=frame_id
    )


@pytest.mark.parametrize('class_id_format, ids', [('id', ['2', '0']), ('name', ['car', 'person'])])
def test_rosbags_classes_get_centre_size_and_the_chosen_class_id(class_id_format, ids):
    message = detections_message(
        DETECTIONS, _rosbags_header('cam'), bag_typestore().types, class_id_format
    )
    assert _fields(message) == [
        (30.0, 30.0, 40.0, 20.0, 0.0, [(ids[0], 0.75)], '', 'cam'),
        (2.5, 5.5, 2.0, 7.0, 0.0, [(ids[1], 0.5)], '', 'cam'),
    ]
    pose = message.detections[0].results[0].pose
    assert pose.pose.orientation.w == 1.0 and not np.any(pose.covariance)


def test_rclpy_classes_give_the_same_message_as_the_typestore():
    from std_msgs.msg import Header

    from tsjnet_ros.nodes.result_messages import DETECTION_CLASSES

    for class_id_format in ('id', 'name'):
        ours = detections_message(
            DETECTIONS, Header(frame_id='cam'), DETECTION_CLASSES, class_id_format
        )
        bag = detections_message(
            DETECTIONS, _rosbags_header('cam'), bag_typestore().types, class_id_format
        )
        assert type(ours).__module__.startswith('vision_msgs')
        assert _fields(ours) == _fields(bag)


def test_unknown_class_id_format_is_refused():
    with pytest.raises(ValueError, match='class_id_format'):
        detections_message(DETECTIONS, _rosbags_header('cam'), bag_typestore().types, 'uuid')
