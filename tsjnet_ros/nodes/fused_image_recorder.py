"""Recorder node: measures what reaches a consumer and saves sample fused images.

Subscribes to ``fused/image_color`` (or ``fused/image``, ``debug/overlay``), keeps the
end-to-end latency (receive time minus the visible capture stamp), and writes every
``save_every``-th frame as PNG into ``output_dir`` (at most ``max_saved``). It logs where
it saves, its counters every ``report_period`` seconds and once more when it stops; the
one-process runner also reads them for the summary it prints. Memory stays bounded: the
last 100,000 latencies and the saved paths are all it keeps.
"""

from __future__ import annotations

import os
import sys
from functools import partial
from pathlib import Path
from typing import Any

import cv2
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.node import Node
from sensor_msgs.msg import Image

from tsjnet_ros.core.image.image_encoding import (
    ImageFormatError,
    image_to_array,
    swap_red_blue,
    to_rgb8,
)
from tsjnet_ros.core.runtime.rate_stats import LatencyStats, RateMeter
from tsjnet_ros.nodes.declared_parameters import declare, warn_undeclared
from tsjnet_ros.nodes.messages import stamp_to_ns
from tsjnet_ros.nodes.qos import qos_from_string
from tsjnet_ros.nodes.spin import spin_node


class FusedImageRecorder(Node):
    """Counts, times and samples the fused stream."""

    def __init__(self, node_name: str = 'fused_image_recorder', **kwargs: Any) -> None:
        super().__init__(node_name, **kwargs)
        d = partial(declare, self)
        d(
            'topic',
            'fused/image_color',
            ParameterDescriptor(description='fused topic to record', read_only=True),
        )
        d(
            'output_dir',
            '',
            ParameterDescriptor(
                description="folder for PNG samples ('' = do not save)", read_only=True
            ),
        )
        d(
            'save_every',
            30,
            ParameterDescriptor(description='save one frame in this many', read_only=True),
        )
        d(
            'max_saved',
            5,
            ParameterDescriptor(description='most PNG files written', read_only=True),
        )
        d(
            'input_qos',
            'DEFAULT',
            ParameterDescriptor(description='QoS, PRESET[:DEPTH]', read_only=True),
        )
        d(
            'report_period',
            10.0,
            ParameterDescriptor(
                description='seconds between counter log lines (0 = only at the end)',
                read_only=True,
            ),
        )
        warn_undeclared(self)
        g = lambda name: self.get_parameter(name).value  # noqa: E731
        self.output_dir = Path(g('output_dir')) if g('output_dir') else None
        self._save_every = max(1, int(g('save_every')))
        self._max_saved = int(g('max_saved'))
        self.received = 0
        self.saved: list[Path] = []
        self.latency_ms = LatencyStats(capacity=100_000)
        self.rate = RateMeter()
        self._file_prefix = (
            g('topic').strip('/').replace('/', '_') or 'image'
        )  # fused_image_color_000_...
        sub = self.create_subscription(
            Image, g('topic'), self._on_image, qos_from_string(g('input_qos'))
        )
        if g('report_period') > 0:
            self.create_timer(float(g('report_period')), self._report)
        where = (
            f'saving 1 image in {self._save_every} to {self.output_dir} '
            f'(at most {self._max_saved})'
            if self.output_dir is not None
            else 'saving no images (output_dir is empty)'
        )
        self.get_logger().info(f'recording {sub.topic_name}: {where}')

    def counters_text(self) -> str:
        """One line: images received, rate, end-to-end latency and PNGs saved."""
        lat = self.latency_ms.summary()
        latency = (
            f'latency p50 {lat["p50"]:.1f} ms, p95 {lat["p95"]:.1f} ms'
            if lat
            else 'no latency yet'
        )
        now = self.get_clock().now().nanoseconds / 1e9
        return (
            f'{self.received} images ({self.rate.rate(now):.1f} Hz), {latency}, '
            f'{len(self.saved)} PNG saved{f" in {self.output_dir}" if self.saved else ""}'
        )

    def _report(self) -> None:
        self.get_logger().info(f'recorded {self.counters_text()}')

    def destroy_node(self) -> None:
        self.get_logger().info(f'stopped after {self.counters_text()}')
        super().destroy_node()

    def _on_image(self, msg: Image) -> None:
        now_ns = self.get_clock().now().nanoseconds
        self.received += 1
        self.rate.tick(now_ns / 1e9)
        self.latency_ms.add((now_ns - stamp_to_ns(msg.header.stamp)) / 1e6)
        if (
            self.output_dir is None
            or len(self.saved) >= self._max_saved
            or (self.received - 1) % self._save_every
        ):
            return
        try:
            rgb = to_rgb8(image_to_array(msg), msg.encoding)
        except ImageFormatError as exc:
            self.get_logger().error(f'cannot save fused image: {exc}', throttle_duration_sec=5.0)
            return
        self.output_dir.mkdir(parents=True, exist_ok=True)
        stamp = msg.header.stamp
        path = (
            self.output_dir
            / f'{self._file_prefix}_{len(self.saved):03d}_{stamp.sec}_{stamp.nanosec:09d}.png'
        )
        cv2.imwrite(os.fspath(path), swap_red_blue(rgb))
        self.saved.append(path)


def main(args: list[str] | None = None) -> int:
    return spin_node(FusedImageRecorder, args)


if __name__ == '__main__':
    sys.exit(main())
