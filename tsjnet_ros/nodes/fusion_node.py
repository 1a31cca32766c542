"""Fusion node: synchronises IR and visible images, fuses them, publishes the result.

Subscriptions: ``ir/image``, ``visible/image`` (sensor_msgs/Image, remappable).
Publications: ``fused/image`` (mono8), ``fused/image_color`` (bgr8), ``fused/frame``
(tsjnet_msgs/FusedFrame), ``/diagnostics``. Outputs carry the visible image's header.

Fusion runs on a worker thread so subscription callbacks never wait for it: a pair that
arrives while the previous one is being fused replaces the pending pair and is counted as
skipped, which keeps latency bounded when the backend is slower than the cameras.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import rclpy
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor, SetParametersResult
from rclpy.node import Node
from sensor_msgs.msg import Image

from tsjnet_ros.core.fusion import available_backends, create_backend
from tsjnet_ros.core.image_encoding import ImageFormatError, image_to_array, to_mono, to_rgb8
from tsjnet_ros.core.pair_alignment import RESIZE_POLICIES, align_pair
from tsjnet_ros.core.rate_stats import LatencyStats, RateMeter
from tsjnet_ros.core.sync import POLICIES, create_synchronizer
from tsjnet_ros.core.thermal_agc import PercentileAGC
from tsjnet_ros.nodes.messages import image_message, stamp_to_ns
from tsjnet_ros.nodes.qos import qos_from_string
from tsjnet_ros.nodes.spin import spin_node

try:  # the per-frame message is optional at import time so the node degrades gracefully
    from tsjnet_msgs.msg import FusedFrame
except ImportError:  # pragma: no cover - only without the interface package
    FusedFrame = None

IR, VISIBLE = 0, 1
STREAM_NAMES = ("ir", "visible")
MIN_SIDE = 16  # smaller images cannot carry a meaningful pair


@dataclass
class DecodedImage:
    """A validated camera image waiting for its partner."""

    array: np.ndarray
    encoding: str
    header: Any
    received: float  # monotonic seconds


@dataclass
class FusionCounters:
    """What the node counts, reported in diagnostics and by the runner."""

    received: list[int] = field(default_factory=lambda: [0, 0])
    invalid: list[int] = field(default_factory=lambda: [0, 0])
    pairs: int = 0
    fused: int = 0
    skipped: int = 0
    errors: int = 0
    silent_stream: list[int] = field(default_factory=lambda: [0, 0])  # watchdog checks that found one camera silent


def _describe(text: str, **kwargs: Any) -> ParameterDescriptor:
    return ParameterDescriptor(description=text, **kwargs)


class FusionNode(Node):
    """See module docstring; parameters are declared in :meth:`_declare_parameters`."""

    def __init__(self, node_name: str = "fusion_node", **kwargs: Any) -> None:
        super().__init__(node_name, **kwargs)
        self._declare_parameters()
        p = self._params()
        self._backend = create_backend(p["fusion_backend"], **self._backend_kwargs(p))
        self._sync = create_synchronizer(
            p["sync_policy"], queue_size=p["queue_size"], slop=p["slop"]
        )
        self._resize_to = p["resize_to"]
        self._agc = PercentileAGC()
        self._stream_timeout = p["stream_timeout"]
        self.counters = FusionCounters()
        self.inference_ms = LatencyStats()
        self.latency_ms = LatencyStats()
        self.pair_offset_ms = LatencyStats()
        self._rates = [RateMeter(), RateMeter()]
        self._out_rate = RateMeter()
        self._frame_ids: list[str | None] = [None, None]
        self._warned_frame_mismatch = False
        self._skipped_reported = 0  # skipped count at the previous FusedFrame
        self._sync_reported = {"out_of_order": 0, "resets": 0}
        self._started = time.monotonic()

        self._lock = threading.Lock()
        self._pending: tuple[DecodedImage, DecodedImage] | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()

        out_qos = qos_from_string(p["output_qos"])
        in_qos = qos_from_string(p["input_qos"])
        self._pub_fused = self.create_publisher(Image, "fused/image", out_qos)
        self._pub_color = self.create_publisher(Image, "fused/image_color", out_qos)
        self._pub_frame = (
            self.create_publisher(FusedFrame, "fused/frame", out_qos) if FusedFrame else None
        )
        self._pub_diag = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self.create_subscription(Image, "ir/image", lambda m: self._on_image(IR, m), in_qos)
        self.create_subscription(Image, "visible/image", lambda m: self._on_image(VISIBLE, m), in_qos)
        self.create_timer(min(1.0, self._stream_timeout / 2), self._on_watchdog)
        self.add_on_set_parameters_callback(self._on_set_parameters)

        self._worker = threading.Thread(target=self._work, name="fusion_worker", daemon=True)
        self._worker.start()
        self.get_logger().info(
            f"fusing {self.resolve_topic_name('ir/image')} + "
            f"{self.resolve_topic_name('visible/image')} with '{p['fusion_backend']}', "
            f"sync {p['sync_policy']} (slop {p['slop'] * 1000:.0f} ms, queue {p['queue_size']})"
        )

    # -- parameters ------------------------------------------------------------------
    def _declare_parameters(self) -> None:
        self.declare_parameter(
            "fusion_backend", "laplacian_pyramid",
            _describe(f"fusion method: one of {', '.join(available_backends())}", read_only=True),
        )
        self.declare_parameter(
            "checkpoint", "", _describe("model checkpoint file for neural backends", read_only=True)
        )
        self.declare_parameter("device", "auto", _describe("auto | cpu | cuda:N", read_only=True))
        self.declare_parameter(
            "sync_policy", "approximate",
            _describe(f"pairing policy: {' | '.join(POLICIES)}", read_only=True),
        )
        self.declare_parameter(
            "slop", 0.05,
            _describe(
                "largest accepted IR/visible stamp difference in seconds", read_only=True,
                floating_point_range=[FloatingPointRange(from_value=0.0, to_value=1.0)],
            ),
        )
        self.declare_parameter(
            "queue_size", 10,
            _describe(
                "messages kept per camera while searching for pairs", read_only=True,
                integer_range=[IntegerRange(from_value=1, to_value=1000, step=1)],
            ),
        )
        self.declare_parameter("input_qos", "SENSOR_DATA", _describe("camera QoS, PRESET[:DEPTH]", read_only=True))
        self.declare_parameter("output_qos", "DEFAULT", _describe("output QoS, PRESET[:DEPTH]", read_only=True))
        self.declare_parameter(
            "resize_to", "visible",
            _describe(f"which camera's size the pair is resized to: {' | '.join(RESIZE_POLICIES)}", read_only=True),
        )
        self.declare_parameter(
            "stream_timeout", 2.0,
            _describe(
                "seconds without images from one camera before warning",
                floating_point_range=[FloatingPointRange(from_value=0.1, to_value=60.0)],
            ),
        )

    def _params(self) -> dict[str, Any]:
        names = ["fusion_backend", "checkpoint", "device", "sync_policy", "slop", "queue_size",
                 "input_qos", "output_qos", "resize_to", "stream_timeout"]
        return {n: self.get_parameter(n).value for n in names}

    @staticmethod
    def _backend_kwargs(p: dict[str, Any]) -> dict[str, Any]:
        if p["fusion_backend"] in ("average", "max", "laplacian_pyramid"):
            return {}
        return {"checkpoint": p["checkpoint"], "device": p["device"]}

    def _on_set_parameters(self, params: list[Any]) -> SetParametersResult:
        for param in params:
            if param.name == "stream_timeout":
                if not isinstance(param.value, (int, float)) or not 0.1 <= param.value <= 60.0:
                    return SetParametersResult(successful=False, reason="stream_timeout must be in [0.1, 60] s")
                self._stream_timeout = float(param.value)
        return SetParametersResult(successful=True)

    # -- input -----------------------------------------------------------------------
    def _on_image(self, stream: int, msg: Image) -> None:
        now = time.monotonic()
        name = STREAM_NAMES[stream]
        self.counters.received[stream] += 1
        self._rates[stream].tick(now)
        try:
            array = image_to_array(msg)
            if min(array.shape[:2]) < MIN_SIDE:
                raise ImageFormatError(f"image {msg.width}x{msg.height} is smaller than {MIN_SIDE} pixels")
        except ImageFormatError as exc:
            self.counters.invalid[stream] += 1
            self.get_logger().error(
                f"invalid {name} image ({self.counters.invalid[stream]} so far): {exc}",
                throttle_duration_sec=5.0,
            )
            return
        self._check_frame_id(stream, msg.header.frame_id)
        with self._lock:
            pairs = self._sync.add(stream, stamp_to_ns(msg.header.stamp), DecodedImage(array, msg.encoding, msg.header, now))
            self._report_sync_problems(name)
            for ir, visible in pairs:
                self.counters.pairs += 1
                if self._pending is not None:
                    self.counters.skipped += 1
                self._pending = (ir, visible)
        if pairs:
            self._wake.set()

    def _report_sync_problems(self, name: str) -> None:
        stats = self._sync.stats
        out_of_order = sum(stats.out_of_order)
        if out_of_order > self._sync_reported["out_of_order"]:
            self._sync_reported["out_of_order"] = out_of_order
            self.get_logger().warning(
                f"{name} stamp went backwards; message ignored ({out_of_order} so far)",
                throttle_duration_sec=5.0,
            )
        if stats.resets > self._sync_reported["resets"]:
            self._sync_reported["resets"] = stats.resets
            self.get_logger().warning(f"{name} stamps jumped back more than 1 s; synchroniser reset")

    def _check_frame_id(self, stream: int, frame_id: str) -> None:
        self._frame_ids[stream] = frame_id
        ir_frame, vis_frame = self._frame_ids
        if ir_frame is not None and vis_frame is not None and ir_frame != vis_frame and not self._warned_frame_mismatch:
            self._warned_frame_mismatch = True
            self.get_logger().warning(
                f"IR frame_id '{ir_frame}' differs from visible frame_id '{vis_frame}'; the "
                "cameras are assumed registered and outputs use the visible frame"
            )

    def _on_watchdog(self) -> None:
        now = time.monotonic()
        last = [r.last() for r in self._rates]
        for stream in (IR, VISIBLE):
            other = 1 - stream
            silent_for = now - (last[stream] if last[stream] is not None else self._started)
            if silent_for > self._stream_timeout and last[other] is not None and now - last[other] < self._stream_timeout:
                self.counters.silent_stream[stream] += 1
                self.get_logger().warning(
                    f"no {STREAM_NAMES[stream]} images for {silent_for:.1f} s while "
                    f"{STREAM_NAMES[other]} images arrive; nothing can be fused",
                    throttle_duration_sec=10.0,
                )
        self._pub_diag.publish(self._diagnostics())

    # -- fusion worker ---------------------------------------------------------------
    def _work(self) -> None:
        while not self._stop.is_set():
            if not self._wake.wait(timeout=0.2):
                continue
            with self._lock:
                pair, self._pending = self._pending, None
                self._wake.clear()
            if pair is None:
                continue
            try:
                self._fuse_and_publish(*pair)
            except Exception as exc:  # keep the node alive; the message says what failed
                self.counters.errors += 1
                self.get_logger().error(f"fusion failed ({self.counters.errors} so far): {exc!r}", throttle_duration_sec=5.0)

    def _prepare(self, ir: DecodedImage, visible: DecodedImage) -> tuple[np.ndarray, np.ndarray]:
        ir_mono = to_mono(ir.array, ir.encoding)
        if ir_mono.dtype == np.uint16:
            ir_mono = self._agc(ir_mono)
        vis = visible.array
        vis = to_mono(vis, visible.encoding) if vis.ndim == 2 else to_rgb8(vis, visible.encoding)
        if vis.dtype != np.uint8:  # 16-bit or float visible camera: bring to 8 bit
            vis = (vis >> 8).astype(np.uint8)
        return align_pair(ir_mono, vis, self._resize_to)

    def _fuse_and_publish(self, ir: DecodedImage, visible: DecodedImage) -> None:
        start = time.monotonic()
        ir_img, vis_img = self._prepare(ir, visible)
        result = self._backend.fuse(ir_img, vis_img)
        inference_ms = (time.monotonic() - start) * 1000.0
        header = visible.header
        fused_msg = image_message(result.fused, "mono8", header)
        color_msg = image_message(np.ascontiguousarray(result.fused_color[:, :, ::-1]), "bgr8", header)
        self._pub_fused.publish(fused_msg)
        if self._pub_color.get_subscription_count() > 0:
            self._pub_color.publish(color_msg)
        offset_ms = (stamp_to_ns(ir.header.stamp) - stamp_to_ns(header.stamp)) / 1e6
        latency_ms = (time.monotonic() - max(ir.received, visible.received)) * 1000.0
        if self._pub_frame is not None and self._pub_frame.get_subscription_count() > 0:
            self._pub_frame.publish(self._frame_message(ir, header, fused_msg, color_msg, offset_ms, inference_ms, latency_ms))
        self.counters.fused += 1
        self._out_rate.tick(time.monotonic())
        self.inference_ms.add(inference_ms)
        self.latency_ms.add(latency_ms)
        self.pair_offset_ms.add(abs(offset_ms))

    def _frame_message(self, ir: DecodedImage, header: Any, fused: Image, color: Image,
                       offset_ms: float, inference_ms: float, latency_ms: float) -> Any:
        frame = FusedFrame()
        frame.header = header
        frame.ir_stamp = ir.header.stamp
        frame.ir_frame_id = ir.header.frame_id
        frame.pair_offset = offset_ms / 1000.0
        frame.inference_time = inference_ms
        frame.latency = latency_ms
        frame.backend = self._backend.name
        frame.skipped_pairs = self.counters.skipped - self._skipped_reported
        self._skipped_reported = self.counters.skipped
        frame.fused = fused
        frame.fused_color = color
        frame.detections.header = header
        return frame

    # -- diagnostics -----------------------------------------------------------------
    def _diagnostics(self) -> DiagnosticArray:
        now = time.monotonic()
        c = self.counters
        rates = [r.rate(now) for r in self._rates]
        status = DiagnosticStatus(name=f"{self.get_name()}: fusion", hardware_id=self._backend.name)
        invalid = sum(c.invalid)
        if c.fused == 0 and max(rates) > 0:
            status.level, status.message = DiagnosticStatus.WARN, "images arrive but nothing fused yet"
        elif c.errors or invalid:
            status.level, status.message = DiagnosticStatus.WARN, f"{c.errors} fusion errors, {invalid} invalid images"
        else:
            status.level, status.message = DiagnosticStatus.OK, "fusing"
        values = {
            "ir rate (Hz)": f"{rates[IR]:.2f}",
            "visible rate (Hz)": f"{rates[VISIBLE]:.2f}",
            "fused rate (Hz)": f"{self._out_rate.rate(now):.2f}",
            "pairs": c.pairs,
            "fused": c.fused,
            "skipped": c.skipped,
            "invalid ir": c.invalid[IR],
            "invalid visible": c.invalid[VISIBLE],
            "unpaired dropped": sum(self._sync.stats.dropped),
            "out of order": sum(self._sync.stats.out_of_order),
            "errors": c.errors,
            "ir silent warnings": c.silent_stream[IR],
            "visible silent warnings": c.silent_stream[VISIBLE],
            "inference p50 (ms)": f"{self.inference_ms.summary().get('p50', 0.0):.2f}",
            "pair |dt| mean (ms)": f"{self.pair_offset_ms.summary().get('mean', 0.0):.2f}",
            "backend": self._backend.name,
        }
        status.values = [KeyValue(key=k, value=str(v)) for k, v in values.items()]
        msg = DiagnosticArray()
        msg.header.stamp = self.get_clock().now().to_msg()
        msg.status = [status]
        return msg

    def sync_stats(self) -> Any:
        with self._lock:
            return self._sync.stats

    def destroy_node(self) -> None:
        self._stop.set()
        self._wake.set()
        self._worker.join(timeout=5.0)
        super().destroy_node()


def main(args: list[str] | None = None) -> None:
    spin_node(FusionNode, args)
