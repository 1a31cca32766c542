"""The fusion node with an ONNX detector and segmenter on the fused image (real rclpy)."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch
from onnx_models import CLASS, SquareDetector, SquareSegmenter, export, write_labels
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from ros_harness import MS, T0, Collector, image_msg, wait_for, wait_for_matched
from sensor_msgs.msg import Image
from vision_msgs.msg import Detection2DArray, LabelInfo

from tsjnet_ros.core.image.image_encoding import image_to_array
from tsjnet_ros.nodes.fusion_node import FusionNode

DETECTOR_NAMES = ['person', 'car', 'bicycle']
SEGMENTER_NAMES = ['background', 'padding', 'target']
SQUARE = (300, 100, 500, 250)  # x1, y1, x2, y2 in the 800x450 camera images


@pytest.fixture(scope='module')
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp('node_models')
    return {
        'detector': export(
            SquareDetector('yolov8'), torch.zeros(1, 3, 640, 640), root / 'det.onnx', ['output0']
        ),
        'detector_labels': write_labels(root / 'det.txt', DETECTOR_NAMES),
        'segmenter': export(
            SquareSegmenter(), torch.zeros(1, 3, 320, 320), root / 'seg.onnx', ['out']
        ),
        'segmenter_labels': write_labels(root / 'seg.txt', SEGMENTER_NAMES),
        'unknown': export(
            torch.nn.AvgPool2d(8), torch.zeros(1, 3, 640, 640), root / 'pool.onnx', ['features']
        ),
    }


def fusion_node(graph, **params):
    params.setdefault('fusion_backend', 'max')
    params.setdefault('device', 'cpu')
    overrides = [Parameter(k, value=v) for k, v in params.items()]
    return graph.add(FusionNode(context=graph.context, parameter_overrides=overrides))


def test_detections_segmentation_and_class_tables_from_onnx_models(graph, models):
    node = fusion_node(
        graph,
        detector_backend='onnx',
        detector_model=str(models['detector']),
        detector_labels=str(models['detector_labels']),
        segmentation_backend='onnx',
        segmentation_model=str(models['segmenter']),
        segmentation_labels=str(models['segmenter_labels']),
    )
    assert node.state == 'active', node.configure_error
    probe = graph.add(Node('probe', context=graph.context))
    ir_pub = probe.create_publisher(Image, 'ir/image', 10)
    vis_pub = probe.create_publisher(Image, 'visible/image', 10)
    detections = Collector(probe, Detection2DArray, 'detections')
    segmentation = Collector(probe, Image, 'segmentation/image')
    latched = QoSProfile(
        depth=1,
        reliability=ReliabilityPolicy.RELIABLE,
        durability=DurabilityPolicy.TRANSIENT_LOCAL,
    )
    labels = Collector(probe, LabelInfo, 'label_info', latched)
    seg_labels = Collector(probe, LabelInfo, 'segmentation/label_info', latched)
    wait_for_matched(node)
    wait_for_matched(probe)
    ir = np.zeros((450, 800), np.uint8)
    x1, y1, x2, y2 = SQUARE
    ir[y1:y2, x1:x2] = 255  # a warm target only the IR camera sees: max fusion keeps it
    visible = np.full((450, 800, 3), 40, np.uint8)
    for k in range(3):
        stamp = T0 + k * 100 * MS
        vis_pub.publish(image_msg(visible, 'rgb8', stamp, 'cam'))
        ir_pub.publish(image_msg(ir, 'mono8', stamp, 'cam'))
        time.sleep(0.2)
    assert wait_for(
        lambda: len(detections.messages) >= 2 and len(segmentation.messages) >= 2, 20
    ), node.stats()
    found = detections.messages[0].detections
    assert len(found) == 1
    box = found[0].bbox
    assert found[0].results[0].hypothesis.class_id == str(CLASS)
    # 800x450 into 640x640: scale 0.8, so one network pixel is 1.25 camera pixels
    assert box.center.position.x == pytest.approx((x1 + x2) / 2, abs=2)
    assert box.center.position.y == pytest.approx((y1 + y2) / 2, abs=2)
    assert box.size_x == pytest.approx(x2 - x1, abs=3) and box.size_y == pytest.approx(
        y2 - y1, abs=3
    )
    classes = image_to_array(segmentation.messages[0])
    assert classes.shape == (450, 800)
    assert (classes[y1 + 8 : y2 - 8, x1 + 8 : x2 - 8] == 2).all() and (
        classes[: y1 - 8] == 0
    ).all()
    assert wait_for(lambda: labels.messages and seg_labels.messages)
    assert [c.class_name for c in labels.messages[0].class_map] == DETECTOR_NAMES
    assert [c.class_name for c in seg_labels.messages[0].class_map] == SEGMENTER_NAMES
    # thresholds stay live for the ONNX detector
    assert node.set_parameters([Parameter('score_threshold', value=0.85)])[0].successful
    assert node.stream.backend.detector.score_threshold == pytest.approx(0.85)


def test_unknown_layout_leaves_the_node_unconfigured_naming_the_shapes(graph, models):
    node = fusion_node(graph, detector_backend='onnx', detector_model=str(models['unknown']))
    assert node.state == 'unconfigured'
    assert 'features [1, 3, 80, 80]' in node.configure_error


def test_onnx_backend_without_a_model_is_refused(graph):
    node = fusion_node(graph, segmentation_backend='onnx')
    assert node.state == 'unconfigured'
    assert 'segmentation_model is empty' in node.configure_error
