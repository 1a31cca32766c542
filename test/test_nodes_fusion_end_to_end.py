"""End to end with real rclpy: cameras publish pairs, the fusion node publishes results."""

from __future__ import annotations

import time

import numpy as np
import pytest
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.parameter import Parameter
from ros_harness import (
    MS,
    T0,
    Collector,
    image_msg,
    play_paced,
    wait_for,
    wait_for_matched,
    wait_for_subscribers,
)
from sensor_msgs.msg import Image

from tsjnet_msgs.msg import FusedFrame
from tsjnet_ros.core.image.image_encoding import image_to_array
from tsjnet_ros.nodes.fusion_node import FusionNode
from tsjnet_ros.nodes.messages import stamp_to_ns


def make_fusion(graph, **params):
    params.setdefault(
        'fusion_backend', 'laplacian_pyramid'
    )  # fast; these tests are about the graph
    overrides = [Parameter(k, value=v) for k, v in params.items()]
    return graph.add(FusionNode(context=graph.context, parameter_overrides=overrides))


def make_probe(graph):
    from rclpy.node import Node

    probe = graph.add(Node('probe', context=graph.context))
    pubs = (
        probe.create_publisher(Image, 'ir/image', 10),
        probe.create_publisher(Image, 'visible/image', 10),
    )
    return probe, pubs


def wait_connected(fusion, probe, *pubs):
    for pub in pubs:
        wait_for_subscribers(pub)
    wait_for_matched(fusion)
    wait_for_matched(probe)


def test_pairs_fused_with_visible_header_and_expected_stamps(graph):
    fusion = make_fusion(graph)
    probe, (ir_pub, vis_pub) = make_probe(graph)
    fused = Collector(probe, Image, 'fused/image')
    color = Collector(probe, Image, 'fused/image_color')
    frames = Collector(probe, FusedFrame, 'fused/frame')
    wait_connected(fusion, probe, ir_pub, vis_pub)
    rng = np.random.default_rng(0)
    # IR 320x256 mono16 (thermal core), visible 640x512 bgr8: different sizes
    ir_stamps = [T0 + k * 100 * MS + 3 * MS for k in range(10)]
    vis_stamps = [T0 + k * 100 * MS for k in range(10)]
    sends = []
    for ir_stamp, vis_stamp in zip(ir_stamps, vis_stamps):
        visible = rng.integers(0, 255, (512, 640, 3), dtype=np.uint8)
        ir = rng.integers(7000, 9000, (256, 320), dtype=np.uint16)
        sends.append((1, image_msg(visible, 'bgr8', vis_stamp, 'visible_cam')))
        sends.append((0, image_msg(ir, 'mono16', ir_stamp, 'visible_cam')))
    play_paced(fusion, (ir_pub, vis_pub), sends, timeout=30)  # no pair is skipped
    # approximate-time proves the last pair optimal only when a later frame exists
    assert wait_for(lambda: len(fused.messages) >= 9 and len(frames.messages) >= 9, timeout=15), (
        fusion.stats(),
        len(fused.messages),
        len(frames.messages),
    )
    time.sleep(0.3)
    assert len(fused.messages) == 9
    assert [stamp_to_ns(m.header.stamp) for m in fused.messages] == vis_stamps[:9]
    assert all(m.header.frame_id == 'visible_cam' for m in fused.messages)
    assert all((m.width, m.height, m.encoding) == (640, 512, 'mono8') for m in fused.messages)
    assert all(m.encoding == 'bgr8' and m.height == 512 for m in color.messages) and color.messages
    assert [stamp_to_ns(f.ir_stamp) for f in frames.messages] == ir_stamps[:9]
    frame = frames.messages[0]
    assert frame.pair_offset == pytest.approx(0.003, abs=1e-6)
    assert frame.backend == 'laplacian_pyramid' and frame.inference_time > 0
    assert image_to_array(frame.fused).shape == (512, 640)
    c = fusion.stats()
    assert (
        c.received == (10, 10)
        and c.pairs == 9
        and c.fused == 9
        and c.skipped == 0
        and c.invalid == (0, 0)
    )


def test_default_node_runs_the_shipped_model(graph, monkeypatch):
    import threading

    from vision_msgs.msg import Detection2DArray

    import tsjnet_ros.core.fusion as fusion_module

    built_on, fused_on = [], []

    def recording_create_backend(*args, **kwargs):
        built_on.append(threading.get_ident())
        return create_backend(*args, **kwargs)

    create_backend = fusion_module.create_backend
    monkeypatch.setattr(fusion_module, 'create_backend', recording_create_backend)
    fusion = graph.add(FusionNode(context=graph.context))  # no overrides: the defaults users get
    assert fusion.state == 'active' and fusion.param('fusion_backend') == 'tsjnet'
    assert fusion.stream.backend.name == 'tsjnet_rt'
    backend_fuse = fusion.stream.backend.fuse
    fusion.stream.backend.fuse = lambda *a: (
        fused_on.append(threading.get_ident()),
        backend_fuse(*a),
    )[1]
    probe, (ir_pub, vis_pub) = make_probe(graph)
    fused = Collector(probe, Image, 'fused/image')
    seg = Collector(probe, Image, 'segmentation/image')
    dets = Collector(probe, Detection2DArray, 'detections')
    wait_connected(fusion, probe, ir_pub, vis_pub)
    rng = np.random.default_rng(1)
    for k in range(3):
        stamp = T0 + k * 100 * MS
        vis_pub.publish(
            image_msg(rng.integers(0, 255, (120, 160, 3), dtype=np.uint8), 'bgr8', stamp, 'cam')
        )
        ir_pub.publish(
            image_msg(rng.integers(0, 255, (120, 160), dtype=np.uint8), 'mono8', stamp, 'cam')
        )
        time.sleep(0.5)
    assert wait_for(lambda: fused.messages and seg.messages and dets.messages, timeout=20), (
        fusion.stats()
    )
    assert (fused.messages[0].width, fused.messages[0].height) == (160, 120)
    assert stamp_to_ns(dets.messages[0].header.stamp) == stamp_to_ns(
        fused.messages[0].header.stamp
    )
    # Built, warmed up and run on one thread (one PyTorch thread pool), not the executor's.
    inference_thread = fusion.run_on_inference_thread(threading.get_ident)
    assert built_on == [inference_thread] and fused_on and set(fused_on) == {inference_thread}
    assert inference_thread != threading.get_ident()


def test_latest_policy_and_ir_sized_output(graph):
    fusion = make_fusion(graph, sync_policy='latest', slop=0.02, resize_to='ir')
    probe, (ir_pub, vis_pub) = make_probe(graph)
    fused = Collector(probe, Image, 'fused/image')
    wait_for_matched(fusion)
    wait_for_matched(probe)
    for k in range(5):
        ir_pub.publish(
            image_msg(np.full((120, 160), 200, np.uint8), 'mono8', T0 + k * 100 * MS, 'ir')
        )
        vis_pub.publish(
            image_msg(
                np.full((240, 320), 50, np.uint8), 'mono8', T0 + k * 100 * MS + 5 * MS, 'vis'
            )
        )
        time.sleep(0.12)
    assert wait_for(lambda: len(fused.messages) == 5)
    # in IR pixels, so with the IR header (frame and stamp)
    assert all(
        (m.width, m.height) == (160, 120) and m.header.frame_id == 'ir' for m in fused.messages
    )


def test_diagnostics_report_rates_and_counters(graph):
    make_fusion(graph, stream_timeout=0.5)
    probe, (ir_pub, vis_pub) = make_probe(graph)
    diags = Collector(probe, DiagnosticArray, '/diagnostics')
    wait_for_subscribers(ir_pub)
    for k in range(3):
        ir_pub.publish(image_msg(np.zeros((32, 32), np.uint8), 'mono8', T0 + k * 50 * MS, 'ir'))
        time.sleep(0.05)
    assert wait_for(lambda: any(s.values for d in diags.messages for s in d.status), timeout=5)
    status = diags.messages[-1].status[0]
    values = {kv.key: kv.value for kv in status.values}
    assert {
        'ir rate (Hz)',
        'visible rate (Hz)',
        'fused rate (Hz)',
        'skipped',
        'invalid ir',
        'backend',
    } <= set(values)
    assert values['backend'] == 'laplacian_pyramid'


def test_status_reports_output_rate_and_pair_offset_of_what_is_published(graph):
    from tsjnet_msgs.msg import FusionStatus

    fusion = make_fusion(graph)
    probe, (ir_pub, vis_pub) = make_probe(graph)
    status = Collector(probe, FusionStatus, 'fusion/status')
    fused = Collector(probe, Image, 'fused/image')
    wait_connected(fusion, probe, ir_pub, vis_pub)
    for k in range(6):  # 2 Hz pairs, the IR stamp 3 ms after the visible one
        vis_pub.publish(
            image_msg(np.zeros((64, 64, 3), np.uint8), 'bgr8', T0 + k * 500 * MS, 'cam')
        )
        ir_pub.publish(
            image_msg(np.zeros((64, 64), np.uint8), 'mono8', T0 + k * 500 * MS + 3 * MS, 'cam')
        )
        time.sleep(0.5)
    assert wait_for(
        lambda: len(fused.messages) >= 5 and any(m.pairs_fused >= 5 for m in status.messages),
        timeout=5,
    )
    last = next(m for m in reversed(status.messages) if m.pairs_fused >= 5)
    assert last.output_rate > 0.5  # fused images arrive (2 Hz when nothing stalls): not 0.0
    assert last.mean_abs_pair_offset == pytest.approx(0.003, abs=1e-6)


def test_publishers_skip_qos_event_callbacks_inputs_keep_them(graph):
    # Each event callback is a wait-set entry that rclpy's executor rebuilds on every wake-up.
    fusion = make_fusion(graph)
    assert fusion._pubs and all(pub.event_handlers == [] for pub in fusion._pubs.values())
    assert fusion._pub_diag.event_handlers == []
    assert len(fusion._subs) == 2 and all(sub.event_handlers for sub in fusion._subs)
