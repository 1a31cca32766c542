"""Shared by the ROS benchmarks: a fusion node fed by an in-process camera pair.

A driver node publishes synthetic 640x480 IR/visible pairs at a fixed rate and a receiver
records, per visible stamp, when the pair was published and when ``fused/image`` arrived.
Everything runs in one process on one executor, like ``tsjnet-graph``.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field

import numpy as np
import rclpy
from rclpy.event_handler import SubscriptionEventCallbacks
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter
from sensor_msgs.msg import Image
from std_msgs.msg import Header

from tsjnet_ros.core.image_encoding import fill_image, swap_red_blue
from tsjnet_ros.core.synthetic import SyntheticScene
from tsjnet_ros.nodes.fusion_node import FusionNode
from tsjnet_ros.nodes.messages import ns_to_stamp, stamp_to_ns
from tsjnet_ros.nodes.qos import quiet_publisher_events


def rss_mb() -> tuple[float, float]:
    """(current, peak) resident set size of this process in MB."""
    fields = {}
    with open("/proc/self/status") as status:
        for line in status:
            key, _, value = line.partition(":")
            fields[key] = value
    return int(fields["VmRSS"].split()[0]) / 1024.0, int(fields["VmHWM"].split()[0]) / 1024.0


@dataclass
class LoopResult:
    sent: int
    received: int
    latencies_ms: list[float] = field(default_factory=list)


class FusionLoop:
    """Owns the context, the fusion node, the driver publishers and the receiver."""

    def __init__(self, fusion_params: dict, width: int = 640, height: int = 480, frames_in_bank: int = 30) -> None:
        rclpy.init()
        overrides = [Parameter(k, value=v) for k, v in fusion_params.items()]
        self.fusion = FusionNode(parameter_overrides=overrides)
        if self.fusion.state != "active":
            raise RuntimeError(f"fusion node is {self.fusion.state}: {self.fusion.configure_error}")
        # The driver stands for camera drivers and a consumer in other processes: it adds as
        # little as it can to the shared executor's wait set (no parameter or type-description
        # services, no event callbacks), so the figures are the fusion node's.
        self.driver = Node("bench_driver", start_parameter_services=False,
                           parameter_overrides=[Parameter("start_type_description_service", value=False)])
        quiet = quiet_publisher_events()
        self._ir_pub = self.driver.create_publisher(Image, "ir/image", 10, event_callbacks=quiet)
        self._vis_pub = self.driver.create_publisher(Image, "visible/image", 10, event_callbacks=quiet)
        self._sent_at: dict[int, float] = {}
        self._lock = threading.Lock()
        self.latencies_ms: list[float] = []
        self.received = 0
        self.driver.create_subscription(Image, "fused/image", self._on_fused, 10,
                                        event_callbacks=SubscriptionEventCallbacks(use_default_callbacks=False))
        scene = SyntheticScene(width, height, seed=0)
        self.bank = [scene.render(k / 30.0) for k in range(frames_in_bank)]
        self.executor = SingleThreadedExecutor()  # as tsjnet-graph
        self.executor.add_node(self.fusion)
        self.executor.add_node(self.driver)
        self._spinner = threading.Thread(target=self.executor.spin, daemon=True)
        self._spinner.start()
        deadline = time.monotonic() + 10
        while self._ir_pub.get_subscription_count() == 0 or self._vis_pub.get_subscription_count() == 0:
            if time.monotonic() > deadline:
                raise RuntimeError("fusion node did not subscribe")
            time.sleep(0.05)

    def _on_fused(self, msg: Image) -> None:
        now = time.perf_counter()
        with self._lock:
            sent = self._sent_at.pop(stamp_to_ns(msg.header.stamp), None)
            self.received += 1
            if sent is not None:
                self.latencies_ms.append((now - sent) * 1000.0)

    def publish_pair(self, index: int, stamp_ns: int) -> None:
        frame = self.bank[index % len(self.bank)]
        vis = fill_image(Image(header=Header(stamp=ns_to_stamp(stamp_ns), frame_id="cam")),
                         swap_red_blue(frame.visible), "bgr8")
        ir = fill_image(Image(header=Header(stamp=ns_to_stamp(stamp_ns), frame_id="cam")), frame.ir, "mono8")
        with self._lock:
            self._sent_at[stamp_ns] = time.perf_counter()
            if len(self._sent_at) > 1000:  # forget pairs that were skipped long ago
                for key in sorted(self._sent_at)[:500]:
                    del self._sent_at[key]
        self._vis_pub.publish(vis)
        self._ir_pub.publish(ir)

    def run(self, frames: int, rate_hz: float, on_progress=None) -> LoopResult:
        start_ns = time.time_ns()
        period = 1.0 / rate_hz
        t0 = time.perf_counter()
        for k in range(frames):
            self.publish_pair(k, start_ns + int(k * period * 1e9))
            if on_progress is not None:
                on_progress(k)
            delay = t0 + (k + 1) * period - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        time.sleep(max(0.5, 3 * period))
        return LoopResult(sent=frames, received=self.received, latencies_ms=list(self.latencies_ms))

    def close(self) -> None:
        self.executor.shutdown(timeout_sec=2.0)
        self.fusion.destroy_node()
        self.driver.destroy_node()
        rclpy.try_shutdown()


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    data = np.asarray(values)
    return {"p50": float(np.percentile(data, 50)), "p95": float(np.percentile(data, 95)),
            "p99": float(np.percentile(data, 99)), "max": float(data.max()), "mean": float(data.mean())}


def default_backend_params() -> dict:
    """The shipped neural model when present, otherwise the Laplacian pyramid."""
    from tsjnet_ros.resources import share_dir

    if (share_dir() / "models" / "tsjnet_rt.pt").is_file():
        return {"fusion_backend": "tsjnet"}
    return {"fusion_backend": "laplacian_pyramid"}


os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
# A domain of its own: another graph on this machine subscribed to the same topic names
# would receive every benchmark image too and distort the figures.
os.environ.setdefault("ROS_DOMAIN_ID", str(10 + os.getpid() % 90))
