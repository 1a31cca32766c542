"""The recorder (launch's record:=true) saves PNGs, logs its counters and keeps bounded memory."""

from __future__ import annotations

import signal
import time
from collections import deque

import numpy as np
from process_harness import Process, failures, module
from rclpy.parameter import Parameter
from ros_harness import RosGraph, image_msg, wait_for_subscribers
from sensor_msgs.msg import Image

from tsjnet_ros.nodes.fused_image_recorder import FusedImageRecorder

MS = 1_000_000


def test_recorder_executable_saves_pngs_and_logs_its_counters(tmp_path):
    out = tmp_path / 'pngs'
    recorder = Process(
        module(
            'tsjnet_ros.nodes.fused_image_recorder',
            '--ros-args',
            '-p',
            f'output_dir:={out}',
            '-p',
            'save_every:=2',
            '-p',
            'max_saved:=3',
            '-p',
            'report_period:=1.0',
            '-p',
            'topic:=fused/image_color',
        ),
        tmp_path / 'recorder.log',
    )
    graph = RosGraph()
    try:
        from rclpy.node import Node

        camera = graph.add(Node('fused_source', context=graph.context))
        pub = camera.create_publisher(Image, 'fused/image_color', 10)
        wait_for_subscribers(pub, timeout=60)
        start = time.time_ns()
        for k in range(20):
            pub.publish(
                image_msg(
                    np.full((48, 64, 3), k * 10, np.uint8), 'bgr8', start + k * 100 * MS, 'cam'
                )
            )
            time.sleep(0.1)
        assert recorder.wait_for_output('recorded 20 images', timeout=10), recorder.output()
        code, _ = recorder.stop(signal.SIGINT)
        log = recorder.output()
        assert code == 0 and failures(log) == [], log
        assert f'recording /fused/image_color: saving 1 image in 2 to {out} (at most 3)' in log
        assert 'stopped after 20 images' in log and f'3 PNG saved in {out}' in log
        assert len(list(out.glob('fused_*.png'))) == 3
    finally:
        recorder.close()
        graph.close()


def test_recorder_memory_does_not_grow_with_the_frames_it_counts():
    graph = RosGraph()
    try:
        recorder = graph.add(
            FusedImageRecorder(
                context=graph.context, parameter_overrides=[Parameter('report_period', value=0.0)]
            )
        )
        msg = image_msg(np.zeros((8, 8, 3), np.uint8), 'bgr8', 0, 'cam')

        def sizes() -> dict[str, int]:
            return {
                name: len(value)
                for name, value in vars(recorder).items()
                if isinstance(value, (list, dict, deque, set))
            }

        for _ in range(200):
            recorder._on_image(msg)
        before = sizes()
        for _ in range(2000):
            recorder._on_image(msg)
        assert recorder.received == 2200
        assert (
            sizes() == before
        )  # nothing kept per frame (the saved paths are capped by max_saved)
        assert len(recorder.latency_ms) == 2200  # a LatencyStats: capped at its capacity (100,000)
    finally:
        graph.close()
