"""The live node names every reason why images arrive but nothing (or the wrong thing) is fused.

Once in the log per cause, as a WARN with numbers in /diagnostics, and in fusion/status.
"""

from __future__ import annotations

import re
import time

import numpy as np
import pytest
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import QoSProfile, ReliabilityPolicy
from ros_harness import (
    MS,
    T0,
    Collector,
    RosGraph,
    image_msg,
    spy_on_log,
    wait_for,
    wait_for_matched,
    wait_for_subscribers,
)
from sensor_msgs.msg import CompressedImage, Image

from tsjnet_msgs.msg import FusedFrame, FusionStatus
from tsjnet_ros.core.image.image_encoding import image_to_array
from tsjnet_ros.nodes.fusion_node import FusionNode
from tsjnet_ros.nodes.messages import stamp_to_ns


def rig(graph, ir_qos=10, **params):
    params.setdefault('fusion_backend', 'average')
    params.setdefault('stream_timeout', 0.5)
    fusion = graph.add(
        FusionNode(
            context=graph.context,
            parameter_overrides=[Parameter(k, value=v) for k, v in params.items()],
        )
    )
    log = spy_on_log(fusion)
    probe = graph.add(Node('probe', context=graph.context))
    pubs = (
        probe.create_publisher(Image, 'ir/image', ir_qos),
        probe.create_publisher(Image, 'visible/image', 10),
    )
    collect = {
        'diagnostics': Collector(probe, DiagnosticArray, '/diagnostics'),
        'status': Collector(probe, FusionStatus, 'fusion/status'),
        'fused': Collector(probe, Image, 'fused/image'),
        'frame': Collector(probe, FusedFrame, 'fused/frame'),
    }
    return fusion, log, pubs, collect


def latest_warning(collect, text, timeout=6.0, until=None):
    """Return the newest /diagnostics WARN status containing ``text``, once there is one.

    ``until(values)``, when given, must also hold for the status's key/value pairs (a
    counter that is still growing while the status is published once a second). Older
    statuses count too: a warning may clear once the test stops publishing.
    """

    def matching(message):
        status = message.status[0]
        return (
            status.level == DiagnosticStatus.WARN
            and text in status.message
            and (until is None or until({kv.key: kv.value for kv in status.values}))
        )

    def newest():
        return next(
            (m.status[0] for m in reversed(collect['diagnostics'].messages) if matching(m)), None
        )

    assert wait_for(lambda: newest() is not None, timeout), [
        m.status[0].message for m in collect['diagnostics'].messages[-3:]
    ]
    status = newest()
    return status.message, {kv.key: kv.value for kv in status.values}


def logged_once(log, text):
    return sum(text in line for line in log.lines('warning')) == 1


def test_zero_stamps_pair_by_arrival_and_are_named(graph):
    """VIS1, VIS2 arrive alone; IR1 arrives with VIS3 (all stamped 0): IR1 is fused with VIS3.

    Arrival stamps carry callback delays, so slop is 0.2 s (still under the 0.3 s between
    visible images); a 2 s stream timeout keeps the warning from clearing and re-logging
    between images on a slow machine.
    """
    fusion, log, (ir_pub, vis_pub), collect = rig(graph, slop=0.2, stream_timeout=2.0)
    wait_for_subscribers(vis_pub), wait_for_subscribers(ir_pub), wait_for_matched(fusion)
    wait_for_subscribers(fusion._pubs['frame'])
    for k in range(6):
        vis_pub.publish(image_msg(np.full((32, 32), 40 * k, np.uint8), 'mono8', 0, 'cam'))
        if k >= 2:
            ir_pub.publish(image_msg(np.full((32, 32), 0, np.uint8), 'mono8', 0, 'cam'))
        time.sleep(0.3)
    assert wait_for(lambda: len(collect['frame'].messages) >= 2)
    first = collect['frame'].messages[0]
    assert stamp_to_ns(first.header.stamp) != 0 and stamp_to_ns(first.ir_stamp) != 0
    assert abs(first.pair_offset) < 0.2
    # average of IR 0 and VIS3 (80) is 40; with VIS1 (0) it would be 0
    assert abs(int(image_to_array(first.fused).mean()) - 40) <= 2
    message, values = latest_warning(collect, 'IR and visible header.stamp are 0')
    assert int(values['ir zero stamps']) >= 1 and int(values['visible zero stamps']) >= 3
    assert logged_once(log, 'header.stamp')
    assert wait_for(
        lambda: any('header.stamp are 0' in s.message for s in collect['status'].messages)
    )


def test_ir_clock_37_s_behind_is_named_with_offset_and_slop(graph):
    fusion, log, (ir_pub, vis_pub), collect = rig(graph, stream_timeout=2.0)
    wait_for_subscribers(vis_pub), wait_for_subscribers(ir_pub), wait_for_matched(fusion)
    for k in range(40):
        stamp = T0 + k * 33 * MS
        vis_pub.publish(image_msg(np.full((32, 32), 90, np.uint8), 'mono8', stamp, 'cam'))
        ir_pub.publish(
            image_msg(np.full((32, 32), 90, np.uint8), 'mono8', stamp - 37_000 * MS, 'cam')
        )
        time.sleep(0.033)
    # Clocks this far apart are compared through arrival times, so the figure carries the
    # transport's jitter (a few ms, more on a loaded machine): compare it, not its digits.
    text = 'check the camera clocks (IR stamps are behind the visible ones)'
    message, values = latest_warning(collect, text)
    offset = float(values['ir - visible stamp (s)'])
    assert abs(offset + 37.0) < 0.5 and values['slop (s)'] == '0.05'
    shown = re.search(r'IR and visible stamps are ([0-9.]+) s apart \(slop 0\.05 s\)', message)
    assert shown and abs(float(shown.group(1)) + offset) <= 0.051
    assert fusion.stats().fused == 0 and logged_once(log, text)
    assert wait_for(lambda: any(text in s.message for s in collect['status'].messages))


def test_no_camera_at_all_names_the_topics(graph):
    fusion = graph.add(
        FusionNode(
            context=graph.context,
            parameter_overrides=[
                Parameter('fusion_backend', value='average'),
                Parameter('stream_timeout', value=0.4),
            ],
        )
    )
    log = spy_on_log(fusion)
    probe = graph.add(Node('probe', context=graph.context))
    diags = {'diagnostics': Collector(probe, DiagnosticArray, '/diagnostics')}
    message, values = latest_warning(diags, 'no images from either camera')
    assert (
        'publishers: /ir/image 0, /visible/image 0' in message and 'no camera publishes' in message
    )
    assert logged_once(log, 'no images from either camera')


def test_one_camera_only_is_named(graph):
    fusion, log, (ir_pub, vis_pub), collect = rig(graph)
    wait_for_subscribers(vis_pub), wait_for_matched(fusion)
    for k in range(25):
        vis_pub.publish(
            image_msg(np.full((32, 32), 90, np.uint8), 'mono8', T0 + k * 50 * MS, 'cam')
        )
        time.sleep(0.05)
    message, _ = latest_warning(collect, 'no IR images for')
    assert 'while visible images arrive at' in message and '1 publisher(s) on /ir/image' in message


def test_incompatible_qos_is_named(graph):
    best_effort = QoSProfile(depth=5, reliability=ReliabilityPolicy.BEST_EFFORT)
    fusion, log, (ir_pub, vis_pub), collect = rig(graph, ir_qos=best_effort, input_qos='RELIABLE')
    message, _ = latest_warning(collect, 'QoS incompatible with input_qos (RELIABILITY)')
    assert '/ir/image' in message


def test_publisher_of_another_message_type_is_named(graph):
    fusion, log, _, collect = rig(graph)
    camera = (
        RosGraph()
    )  # a driver in another process (DDS participant) publishing compressed images
    try:
        driver = camera.add(Node('driver', context=camera.context))
        driver.create_publisher(CompressedImage, 'ir/image', 10)
        message, _ = latest_warning(collect, 'sends another message type')
        assert '/ir/image' in message and 'transport' in message
    finally:
        camera.close()


def test_queue_too_short_for_a_late_camera_is_named(graph):
    fusion, log, (ir_pub, vis_pub), collect = rig(graph, queue_size=2, stream_timeout=2.0)
    wait_for_subscribers(vis_pub), wait_for_subscribers(ir_pub), wait_for_matched(fusion)
    stamps = [T0 + k * 33 * MS for k in range(45)]
    for k, stamp in enumerate(stamps):  # IR frames arrive 12 frames (0.4 s) after visible ones
        vis_pub.publish(image_msg(np.full((32, 32), 90, np.uint8), 'mono8', stamp, 'cam'))
        if k >= 12:
            ir_pub.publish(
                image_msg(np.full((32, 32), 90, np.uint8), 'mono8', stamps[k - 12], 'cam')
            )
        time.sleep(0.033)
    # 10 visible images overflow before the first IR one; later ones keep overflowing
    # because each IR image is older than the queue reaches.
    message, values = latest_warning(
        collect,
        'dropped from a full pairing queue (queue_size 2',
        until=lambda values: int(values['visible queue overflows']) > 10,
    )
    assert 'raise queue_size to at least' in message


def test_status_carries_the_mean_pair_offset(graph):
    fusion, log, (ir_pub, vis_pub), collect = rig(graph)
    wait_for_subscribers(vis_pub), wait_for_subscribers(ir_pub), wait_for_matched(fusion)
    for k in range(6):
        vis_pub.publish(
            image_msg(np.full((32, 32), 90, np.uint8), 'mono8', T0 + k * 100 * MS, 'cam')
        )
        ir_pub.publish(
            image_msg(np.full((32, 32), 90, np.uint8), 'mono8', T0 + k * 100 * MS + 4 * MS, 'cam')
        )
        time.sleep(0.1)
    assert wait_for(lambda: any(s.pairs_fused >= 3 for s in collect['status'].messages), 5)
    status = [s for s in collect['status'].messages if s.pairs_fused >= 3][-1]
    assert status.mean_abs_pair_offset == pytest.approx(0.004, abs=1e-4)
