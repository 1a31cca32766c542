"""Bad input reaches the fusion node: clear counters, node keeps fusing afterwards."""

from __future__ import annotations

import time

import numpy as np
import pytest
from rclpy.node import Node
from rclpy.parameter import Parameter
from ros_harness import Collector, RosGraph, image_msg, spy_on_log, wait_for, wait_for_matched
from sensor_msgs.msg import Image

from tsjnet_ros.nodes.fusion_node import FusionNode
from tsjnet_ros.nodes.messages import stamp_to_ns

MS = 1_000_000
T0 = 1_700_000_000 * 1_000_000_000


@pytest.fixture
def rig():
    graph = RosGraph()
    fusion = graph.add(
        FusionNode(
            context=graph.context,
            parameter_overrides=[
                Parameter('stream_timeout', value=0.4),
                Parameter('fusion_backend', value='laplacian_pyramid'),
            ],
        )
    )
    probe = graph.add(Node('probe', context=graph.context))
    pubs = (
        probe.create_publisher(Image, 'ir/image', 10),
        probe.create_publisher(Image, 'visible/image', 10),
    )
    fused = Collector(probe, Image, 'fused/image')
    wait_for_matched(fusion)
    wait_for_matched(probe)
    yield fusion, pubs, fused
    graph.close()


def valid_pair(pubs, stamp_ns):
    ir_pub, vis_pub = pubs
    vis_pub.publish(image_msg(np.full((48, 64, 3), 90, np.uint8), 'bgr8', stamp_ns, 'cam'))
    ir_pub.publish(image_msg(np.full((48, 64), 200, np.uint8), 'mono8', stamp_ns + MS, 'cam'))


def still_fuses(pubs, fused, start_ns):
    """Two valid pairs make the first provably best; it must come out."""
    valid_pair(pubs, start_ns)
    time.sleep(0.05)
    valid_pair(pubs, start_ns + 100 * MS)
    assert wait_for(lambda: start_ns in [stamp_to_ns(m.header.stamp) for m in fused.messages]), (
        'node stopped fusing after bad input'
    )


def bad(msg, **fields):
    for key, value in fields.items():
        setattr(msg, key, value)
    return msg


@pytest.mark.parametrize(
    'corrupt',
    [
        lambda m: bad(m, encoding='yuv411'),
        lambda m: bad(m, step=10),  # smaller than width * channels
        lambda m: bad(m, data=bytes(m.data)[:-7]),  # data length not matching
        lambda m: bad(m, height=0, width=0, step=0, data=b''),  # zero size
        lambda m: bad(m, height=1, width=1, step=1, data=b'\x00'),  # too small to fuse
    ],
    ids=['unknown-encoding', 'short-step', 'data-length', 'zero-size', '1x1'],
)
def test_invalid_images_are_counted_and_node_keeps_running(rig, corrupt):
    fusion, pubs, fused = rig
    msg = corrupt(image_msg(np.zeros((48, 64), np.uint8), 'mono8', T0, 'cam'))
    for _ in range(3):
        pubs[0].publish(msg)
    assert wait_for(lambda: fusion.stats().invalid[0] == 3)
    still_fuses(pubs, fused, T0 + 1000 * MS)
    assert fusion.stats().errors == 0


def test_stamps_going_backwards_are_refused(rig):
    fusion, pubs, fused = rig
    valid_pair(pubs, T0 + 500 * MS)
    time.sleep(0.1)
    pubs[0].publish(
        image_msg(np.zeros((48, 64), np.uint8), 'mono8', T0 + 400 * MS, 'cam')
    )  # 100 ms back
    assert wait_for(lambda: fusion.stats().out_of_order == 1)
    still_fuses(pubs, fused, T0 + 1000 * MS)


def test_one_camera_silent_is_reported_and_recovery_works(rig):
    fusion, pubs, fused = rig
    for k in range(12):  # IR only, for about 1.2 s
        pubs[0].publish(image_msg(np.zeros((48, 64), np.uint8), 'mono8', T0 + k * 100 * MS, 'cam'))
        time.sleep(0.1)
    assert fusion.stats().silent_stream[1] >= 1  # visible reported silent
    assert fusion.stats().fused == 0
    still_fuses(pubs, fused, T0 + 5000 * MS)  # visible camera comes back


def test_frame_id_mismatch_warns_once_and_still_fuses(rig):
    fusion, pubs, fused = rig
    log = spy_on_log(fusion)
    ir_pub, vis_pub = pubs
    for k in range(3):
        vis_pub.publish(
            image_msg(np.zeros((48, 64), np.uint8), 'mono8', T0 + k * 100 * MS, 'visible_optical')
        )
        ir_pub.publish(
            image_msg(np.zeros((48, 64), np.uint8), 'mono8', T0 + k * 100 * MS, 'thermal_optical')
        )
        time.sleep(0.05)
    assert wait_for(lambda: len(fused.messages) >= 2)
    assert len([m for m in log.lines('warning') if 'differs from visible frame_id' in m]) == 1
    assert fused.messages[0].header.frame_id == 'visible_optical'
