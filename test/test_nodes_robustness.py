"""Robustness of the fusion node: the neural backend, lifecycle, checkpoints, odd inputs."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from ros_harness import MS, T0, Collector, image_msg, wait_for, wait_for_matched
from sensor_msgs.msg import Image
from vision_msgs.msg import Detection2DArray, LabelInfo

from tsjnet_msgs.msg import FusedFrame
from tsjnet_ros.core.model.checkpoint import create_untrained_checkpoint
from tsjnet_ros.core.model.heads import MSRS_DETECTION_CLASSES, MSRS_SEGMENTATION_CLASSES
from tsjnet_ros.nodes.fusion_node import FusionNode
from tsjnet_ros.nodes.messages import stamp_to_ns


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    return create_untrained_checkpoint(tmp_path_factory.mktemp('ckpt') / 'tsjnet_rt.pt', seed=0)


def fusion_node(graph, **params):
    params.setdefault(
        'fusion_backend', 'laplacian_pyramid'
    )  # fast; the model is chosen where it matters
    overrides = [Parameter(k, value=v) for k, v in params.items()]
    return graph.add(FusionNode(context=graph.context, parameter_overrides=overrides))


def probe_node(graph, depth=10):
    probe = graph.add(Node('probe', context=graph.context))
    return probe, (
        probe.create_publisher(Image, 'ir/image', depth),
        probe.create_publisher(Image, 'visible/image', depth),
    )


def publish_pair(pubs, stamp_ns, ir=None, visible=None, ir_encoding='mono8'):
    ir_pub, vis_pub = pubs
    vis = visible if visible is not None else np.full((64, 96, 3), 60, np.uint8)
    vis_pub.publish(image_msg(vis, 'bgr8' if vis.ndim == 3 else 'mono8', stamp_ns, 'cam'))
    ir_img = ir if ir is not None else np.full((64, 96), 180, np.uint8)
    ir_pub.publish(image_msg(ir_img, ir_encoding, stamp_ns + MS, 'cam'))


def settled(stats, pairs):
    """At least ``pairs`` pairs were made and every pair made was fused, skipped or failed."""
    return stats.pairs >= pairs and stats.fused + stats.skipped + stats.errors >= stats.pairs


def test_missing_checkpoint_leaves_node_unconfigured(graph, tmp_path):
    node = fusion_node(graph, fusion_backend='tsjnet', checkpoint=str(tmp_path / 'nope.pt'))
    assert node.state == 'unconfigured'
    assert 'checkpoint not found' in node.configure_error
    assert node._diagnostics().status[0].message.startswith('unconfigured: ')


def test_corrupt_checkpoint_leaves_node_unconfigured(graph, tmp_path):
    bad = tmp_path / 'corrupt.pt'
    bad.write_bytes(b'this is not a checkpoint' * 10)
    node = fusion_node(graph, fusion_backend='tsjnet', checkpoint=str(bad))
    assert node.state == 'unconfigured' and node.configure_error


@pytest.mark.skipif(
    torch.cuda.is_available(), reason='needs a machine WITHOUT CUDA to test the fallback'
)
def test_cuda_requested_but_absent_falls_back_to_cpu(graph, checkpoint):
    node = fusion_node(graph, fusion_backend='tsjnet', checkpoint=str(checkpoint), device='cuda:0')
    assert node.state == 'active' and node.device == 'cpu'


def test_neural_outputs_detections_segmentation_and_label_info(graph, checkpoint):
    node = fusion_node(
        graph,
        fusion_backend='tsjnet',
        checkpoint=str(checkpoint),
        score_threshold=0.0,
        max_detections=5,
    )
    probe, pubs = probe_node(graph)
    detections = Collector(probe, Detection2DArray, 'detections')
    segmentation = Collector(probe, Image, 'segmentation/image')
    seg_color = Collector(probe, Image, 'segmentation/color')
    frames = Collector(probe, FusedFrame, 'fused/frame')
    wait_for_matched(node)
    wait_for_matched(probe)
    stamps = [T0 + k * 100 * MS for k in range(4)]
    for k, stamp in enumerate(stamps):
        publish_pair(pubs, stamp)
        # the next pair waits for this frame's result, so none is dropped (latest wins)
        # on a slow machine; the last pair stays open (no later frame)
        assert wait_for(lambda: node.stats().received == (k + 1, k + 1), 20)
        assert wait_for(lambda: settled(node.stats(), k), 60), node.stats()
    assert wait_for(
        lambda: (
            len(detections.messages) >= 3
            and len(seg_color.messages) >= 3
            and len(frames.messages) >= 3
        ),
        20,
    )
    det = detections.messages[0]
    assert stamp_to_ns(det.header.stamp) == stamps[0] and det.header.frame_id == 'cam'
    assert 0 < len(det.detections) <= 5
    for d in det.detections:
        assert d.header == det.header and d.id == '' and d.bbox.center.theta == 0.0
        assert d.results[0].hypothesis.class_id in {'0', '1', '2'}
        # centre inside the ORIGINAL 96x64 image, not network pixels
        assert 0 <= d.bbox.center.position.x <= 96 and 0 <= d.bbox.center.position.y <= 64
    seg = segmentation.messages[0]
    assert (seg.encoding, seg.width, seg.height) == ('mono8', 96, 64)
    assert max(bytes(seg.data)) < len(MSRS_SEGMENTATION_CLASSES)
    assert seg_color.messages[0].encoding == 'rgb8'
    assert len(frames.messages[0].detections.detections) == len(detections.messages[0].detections)
    # a late subscriber still gets the class table (transient local)
    latched = QoSProfile(
        depth=1,
        reliability=ReliabilityPolicy.RELIABLE,
        durability=DurabilityPolicy.TRANSIENT_LOCAL,
    )
    labels = Collector(probe, LabelInfo, 'label_info', latched)
    seg_labels = Collector(probe, LabelInfo, 'segmentation/label_info', latched)
    assert wait_for(lambda: labels.messages and seg_labels.messages)
    assert [c.class_name for c in labels.messages[0].class_map] == list(MSRS_DETECTION_CLASSES)
    assert [c.class_id for c in seg_labels.messages[0].class_map] == list(
        range(len(MSRS_SEGMENTATION_CLASSES))
    )


def test_runtime_parameters_validated(graph, checkpoint):
    node = fusion_node(graph, fusion_backend='tsjnet', checkpoint=str(checkpoint))
    assert not node.set_parameters([Parameter('score_threshold', value=5.0)])[0].successful
    assert not node.set_parameters([Parameter('class_id_format', value='uuid')])[0].successful
    assert not node.set_parameters([Parameter('fusion_backend', value='max')])[
        0
    ].successful  # read-only
    assert node.set_parameters([Parameter('score_threshold', value=0.55)])[0].successful
    assert node.stream.backend.pipeline.score_threshold == pytest.approx(0.55)
    assert node.state == 'active'


def test_lifecycle_deactivate_activate_cleanup(graph):
    node = fusion_node(graph)
    probe, pubs = probe_node(graph)
    fused = Collector(probe, Image, 'fused/image')
    wait_for_matched(node)
    wait_for_matched(probe)
    for k in range(3):
        publish_pair(pubs, T0 + k * 100 * MS)
        time.sleep(0.1)
    assert wait_for(lambda: len(fused.messages) == 2)
    node.trigger_deactivate()
    assert node.state == 'inactive' and not node._subs
    for k in range(3, 6):
        publish_pair(pubs, T0 + k * 100 * MS)
    time.sleep(0.5)
    assert len(fused.messages) == 2  # nothing while inactive
    node.trigger_activate()
    wait_for_matched(node)
    for k in range(6, 9):
        publish_pair(pubs, T0 + k * 100 * MS)
        time.sleep(0.1)
    assert wait_for(lambda: len(fused.messages) == 4)
    node.trigger_deactivate()
    node.trigger_cleanup()
    assert node.state == 'unconfigured' and node.stream.backend is None


def test_burst_of_100_pairs_is_fully_accounted(graph):
    # deep reliable queues, so the transport delivers the whole burst to the node
    node = fusion_node(graph, queue_size=200, input_qos='RELIABLE:200')
    probe, pubs = probe_node(graph, depth=200)
    wait_for_matched(node)
    wait_for_matched(probe)
    ir = np.full((240, 320), 200, np.uint8)
    vis = np.full((240, 320, 3), 50, np.uint8)
    for k in range(100):
        publish_pair(pubs, T0 + k * 33 * MS, ir=ir, visible=vis)
    assert wait_for(lambda: node.stats().received == (100, 100), 20), node.stats().received

    def settled() -> bool:
        c = node.stats()
        return not node.stream.has_waiting_pair() and c.fused + c.skipped == c.pairs

    assert wait_for(settled, 20)
    c = node.stats()
    assert c.pairs == 99 and c.fused >= 1 and c.errors == 0  # the last pair awaits a later frame
    assert c.unpaired_dropped == 0


def test_oversized_and_nan_images(graph):
    node = fusion_node(graph)
    probe, pubs = probe_node(graph)
    fused = Collector(probe, Image, 'fused/image')
    wait_for_matched(node)
    wait_for_matched(probe)
    huge = image_msg(np.zeros((16, 16), np.uint8), 'mono8', T0, 'cam')
    huge.height = huge.width = 8000
    huge.step = 8000
    pubs[0].publish(huge)
    assert wait_for(lambda: node.stats().invalid[0] == 1)
    thermal = np.full((64, 96), 0.5, np.float32)
    thermal[0, :10] = np.nan
    thermal[1, :10] = np.inf
    for k in range(2):
        publish_pair(pubs, T0 + (k + 1) * 100 * MS, ir=thermal, ir_encoding='32FC1')
        time.sleep(0.1)
    assert wait_for(lambda: len(fused.messages) >= 1)
    assert node.stats().errors == 0


def test_sixteen_bit_thermal_gets_percentile_agc(graph):
    fusion_node(graph, fusion_backend='max')
    probe, pubs = probe_node(graph)
    fused = Collector(probe, Image, 'fused/image')
    wait_for_matched(probe)
    rng = np.random.default_rng(0)
    for k in range(3):
        thermal = rng.integers(7000, 7400, (64, 96)).astype(np.uint16)  # narrow radiometric band
        publish_pair(
            pubs,
            T0 + k * 100 * MS,
            ir=thermal,
            visible=np.zeros((64, 96), np.uint8),
            ir_encoding='mono16',
        )
        time.sleep(0.1)
    assert wait_for(lambda: len(fused.messages) >= 2)
    values = np.frombuffer(bytes(fused.messages[0].data), np.uint8)
    assert values.max() - values.min() > 200  # stretched, not the near-black count/65535
