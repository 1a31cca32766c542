"""Recorder node: measures what reaches a consumer and saves sample fused images.

Subscribes to ``fused/image_color`` (or ``fused/image``, ``debug/overlay``), keeps the end-to-end latency
(receive time minus the visible capture stamp), and writes every ``save_every``-th frame
as PNG into ``output_dir`` (at most ``max_saved``). The one-process runner reads its
counters for the summary it prints.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import cv2
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.node import Node
from sensor_msgs.msg import Image

from tsjnet_ros.core.image_encoding import ImageFormatError, image_to_array, swap_red_blue, to_rgb8
from tsjnet_ros.core.rate_stats import LatencyStats, RateMeter
from tsjnet_ros.nodes.messages import stamp_to_ns
from tsjnet_ros.nodes.qos import qos_from_string
from tsjnet_ros.nodes.spin import spin_node


class FusedImageRecorder(Node):
    """Counts, times and samples the fused stream."""

    def __init__(self, node_name: str = "fused_image_recorder", **kwargs: Any) -> None:
        super().__init__(node_name, **kwargs)
        d = self.declare_parameter
        d("topic", "fused/image_color", ParameterDescriptor(description="fused topic to record", read_only=True))
        d("output_dir", "", ParameterDescriptor(description="folder for PNG samples ('' = do not save)", read_only=True))
        d("save_every", 30, ParameterDescriptor(description="save one frame in this many", read_only=True))
        d("max_saved", 5, ParameterDescriptor(description="most PNG files written", read_only=True))
        d("input_qos", "DEFAULT", ParameterDescriptor(description="QoS, PRESET[:DEPTH]", read_only=True))
        g = lambda name: self.get_parameter(name).value  # noqa: E731
        self.output_dir = Path(g("output_dir")) if g("output_dir") else None
        self._save_every = max(1, int(g("save_every")))
        self._max_saved = int(g("max_saved"))
        self.received = 0
        self.saved: list[Path] = []
        self.stamps_ns: list[int] = []
        self.latency_ms = LatencyStats(capacity=100_000)
        self.rate = RateMeter()
        self._file_prefix = g("topic").strip("/").replace("/", "_") or "image"  # fused_image_color_000_...
        self.create_subscription(Image, g("topic"), self._on_image, qos_from_string(g("input_qos")))

    def _on_image(self, msg: Image) -> None:
        now_ns = self.get_clock().now().nanoseconds
        self.received += 1
        self.rate.tick(now_ns / 1e9)
        self.stamps_ns.append(stamp_to_ns(msg.header.stamp))
        self.latency_ms.add((now_ns - stamp_to_ns(msg.header.stamp)) / 1e6)
        if self.output_dir is None or len(self.saved) >= self._max_saved or (self.received - 1) % self._save_every:
            return
        try:
            rgb = to_rgb8(image_to_array(msg), msg.encoding)
        except ImageFormatError as exc:
            self.get_logger().error(f"cannot save fused image: {exc}", throttle_duration_sec=5.0)
            return
        self.output_dir.mkdir(parents=True, exist_ok=True)
        path = self.output_dir / f"{self._file_prefix}_{len(self.saved):03d}_{msg.header.stamp.sec}_{msg.header.stamp.nanosec:09d}.png"
        cv2.imwrite(os.fspath(path), swap_red_blue(rgb))
        self.saved.append(path)


def main(args: list[str] | None = None) -> None:
    spin_node(FusedImageRecorder, args)
