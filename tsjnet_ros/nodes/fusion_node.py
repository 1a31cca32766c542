"""Fusion node: synchronises IR and visible images, fuses them, detects and segments.

A lifecycle node: *configure* loads the backend (checkpoint + warm-up) and creates the
publishers, *activate* subscribes to the cameras, *deactivate* unsubscribes and drops
queued images, *cleanup* releases the model (and GPU memory). With ``autostart`` (the
default) it configures and activates itself at start-up; a failed configure (missing or
corrupt checkpoint) leaves it unconfigured with the reason in the log and diagnostics.

Subscriptions: ``ir/image``, ``visible/image`` (remappable; ``<camera>/image/compressed``
with the ``compressed`` transport). Publications, all in the pixels and with the header of
the camera named by ``resize_to`` (the visible one by default): ``fused/image`` (mono8), ``detections``
(vision_msgs/Detection2DArray) and ``segmentation/image`` (mono8 class ids) always;
``fused/image_color`` (bgr8), ``segmentation/color`` (rgb8), ``fused/frame``
(tsjnet_msgs/FusedFrame) only while someone subscribes; ``label_info`` and
``segmentation/label_info`` (vision_msgs/LabelInfo, transient local); ``fusion/status``
(tsjnet_msgs/FusionStatus) and ``/diagnostics`` once per second.

Inference runs on its own thread so callbacks never wait for it: a pair arriving while
the model runs replaces the pending pair and is counted as skipped (latest-only), which
keeps latency bounded when the model is slower than the cameras. That one thread also
builds, warms up and releases the model: PyTorch's OpenMP thread pool belongs to the
thread that starts parallel work, and a second pool (say, one from a warm-up on the
executor thread) makes all pools stop spin-waiting once threads outnumber cores, which
made 640x480 inference about 1.4x slower on a two-core machine.
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rcl_interfaces.msg import SetParametersResult
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from rclpy.event_handler import SubscriptionEventCallbacks
from rclpy.qos import DurabilityPolicy, QoSPolicyKind, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header
from tsjnet_msgs.msg import FusedFrame, FusionStatus
from vision_msgs.msg import Detection2DArray, LabelInfo

from tsjnet_ros.core.runtime.cause_log import CauseLog
from tsjnet_ros.core.image.compressed_image import compressed_to_array
from tsjnet_ros.core.fusion import create_backend
from tsjnet_ros.core.image.image_encoding import ImageFormatError, image_to_array, swap_red_blue
from tsjnet_ros.core.runtime.inference_thread import InferenceThread, free_model_memory
from tsjnet_ros.core.runtime.large_buffers import keep_large_buffers_in_heap
from tsjnet_ros.core.viz.overlay import colorize_segmentation
from tsjnet_ros.core.preparation.pair_alignment import aspect_mismatch
from tsjnet_ros.core.preparation.pair_preparation import PairPreparation, check_image_size
from tsjnet_ros.core.perception.settings import TaskModelSettings, with_task_models
from tsjnet_ros.core.runtime.rate_stats import LatencyStats, RateMeter
from tsjnet_ros.core.sync import create_synchronizer
from tsjnet_ros.core.sync.pairing_health import PairingMonitor, PairingProblem
from tsjnet_ros.nodes.fusion_parameters import FUSION_PARAMETERS, validate
from tsjnet_ros.nodes.messages import image_message, ns_to_stamp, stamp_to_ns
from tsjnet_ros.nodes.qos import qos_from_string, quiet_publisher_events
from tsjnet_ros.nodes.result_messages import detections_message, keep_classes, label_info_message
from tsjnet_ros.nodes.spin import spin_node

IR, VISIBLE = 0, 1
STREAM_NAMES = ("ir", "visible")
LATCHED = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL)


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


class FusionNode(LifecycleNode):
    """See module docstring; parameters are listed in :mod:`fusion_parameters`."""

    def __init__(self, node_name: str = "fusion_node", **kwargs: Any) -> None:
        super().__init__(node_name, **kwargs)
        keep_large_buffers_in_heap()  # reuse image-sized buffers across frames (see core/runtime/large_buffers.py)
        for name, spec in FUSION_PARAMETERS.items():
            self.declare_parameter(name, spec.default, spec.descriptor())
        self.state = "unconfigured"
        self.configure_error = ""
        self.device = "none"
        self._backend = None
        self._subs: list[Any] = []
        self._pubs: dict[str, Any] = {}
        self.counters = FusionCounters()
        self.inference_ms = LatencyStats()
        self.latency_ms = LatencyStats()
        self.pair_offset_ms = LatencyStats()
        self._rates = [RateMeter(), RateMeter()]
        self._out_rate = RateMeter()
        self._frame_ids: list[str | None] = [None, None]
        self._warned_frame_mismatch = False
        self._skipped_reported = 0  # skipped count at the previous FusedFrame
        self._refusals = CauseLog(period=5.0)  # one log line per refusal cause and camera
        self._monitor: PairingMonitor | None = None
        self._problems: list[PairingProblem] = []  # pairing causes active at the last check
        self._preparation = PairPreparation()
        self._warned_aspect = False
        self._started = time.monotonic()
        self._lock = threading.Lock()
        self._publish_lock = threading.Lock()  # held while a frame's results are published
        self._closing = False  # set by destroy_node: a frame still running is abandoned, not published
        self._inference: InferenceThread | None = None  # the one thread that touches the model
        self._sync = None
        self._pub_diag = self.create_publisher(DiagnosticArray, "/diagnostics", 10, event_callbacks=quiet_publisher_events())
        self.create_timer(1.0, self._on_status_timer)
        self._watchdog = None
        self.add_on_set_parameters_callback(self._on_set_parameters)
        if self.get_parameter("autostart").value:
            self.trigger_configure()
            if self.state == "inactive":
                self.trigger_activate()

    # -- parameters ------------------------------------------------------------------
    def param(self, name: str) -> Any:
        return self.get_parameter(name).value

    def _on_set_parameters(self, params: list[Any]) -> SetParametersResult:
        for p in params:
            reason = validate(p.name, p.value)
            if reason:
                self.get_logger().error(f"rejected parameter: {reason}")
                return SetParametersResult(successful=False, reason=reason)
        for p in params:  # live updates of the inference thresholds (TSJNet head and ONNX detector)
            for target in (getattr(self._backend, "pipeline", None), getattr(self._backend, "detector", None)):
                if target is not None and p.name in ("score_threshold", "nms_iou", "max_detections"):
                    setattr(target, p.name, p.value)
        return SetParametersResult(successful=True)

    def _output_on(self, name: str) -> bool:
        return name in self.param("outputs")

    # -- lifecycle -------------------------------------------------------------------
    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        for name in FUSION_PARAMETERS:
            reason = validate(name, self.param(name))
            if reason:
                return self._configure_failed(reason)
        self._inference = InferenceThread("fusion_inference")
        try:
            self._backend = self._inference.call(self._create_backend)
            out_qos = qos_from_string(self.param("output_qos"))
            qos_from_string(self.param("input_qos"))  # fail now, not at activation
        except Exception as exc:  # missing/corrupt checkpoint, bad QoS, ...: say why, stay unconfigured
            return self._configure_failed(f"{type(exc).__name__}: {exc}")
        self._sync = create_synchronizer(self.param("sync_policy"), queue_size=self.param("queue_size"), slop=self.param("slop"))
        self._preparation = PairPreparation(self.param("resize_to"), self.param("visible_range"), self.param("registration"))
        def create(msg_type: Any, topic: str, qos: Any) -> Any:
            return self.create_lifecycle_publisher(msg_type, topic, qos, event_callbacks=quiet_publisher_events())

        self._pubs = {
            "fused": create(Image, "fused/image", out_qos),
            "fused_color": create(Image, "fused/image_color", out_qos),
            "detections": create(Detection2DArray, "detections", out_qos),
            "segmentation": create(Image, "segmentation/image", out_qos),
            "segmentation_color": create(Image, "segmentation/color", out_qos),
            "frame": create(FusedFrame, "fused/frame", out_qos),
            "status": create(FusionStatus, "fusion/status", 10),
            "label_info": create(LabelInfo, "label_info", LATCHED),
            "segmentation_label_info": create(LabelInfo, "segmentation/label_info", LATCHED),
        }
        self.configure_error = ""
        self.state = "inactive"
        self.get_logger().info(f"configured: backend '{self._backend.name}' on {self.device}")
        return TransitionCallbackReturn.SUCCESS

    def _configure_failed(self, reason: str) -> TransitionCallbackReturn:
        self.configure_error = reason
        self._backend = None
        self._shutdown_inference()
        self.get_logger().error(f"configure failed, node stays unconfigured: {reason}")
        return TransitionCallbackReturn.FAILURE

    def _create_backend(self) -> Any:
        """The fusion backend, with the ONNX detector/segmenter on its fused image when chosen."""
        tasks = TaskModelSettings.from_parameters({name: self.param(name) for name in FUSION_PARAMETERS})
        backend = self._create_fusion_backend()
        return with_task_models(
            backend, tasks, device=self.param("device"), cpu_threads=self.param("cpu_threads"),
            score_threshold=self.param("score_threshold"), nms_iou=self.param("nms_iou"),
            max_detections=self.param("max_detections"),
        )

    def _create_fusion_backend(self) -> Any:
        name = self.param("fusion_backend")
        ir_range = self.param("ir_range")
        if name != "tsjnet":
            self.device = "cpu"
            return create_backend(name, ir_range=ir_range)
        from tsjnet_ros.core.runtime.pipeline import resolve_device  # torch only for the neural backend

        device = self.param("device")
        try:
            resolved = resolve_device(device)
        except ValueError as exc:
            if not str(device).startswith("cuda"):
                raise
            self.get_logger().warning(f"{exc}; falling back to CPU")
            resolved = resolve_device("cpu")
        self.device = str(resolved)
        return create_backend(
            "tsjnet", checkpoint=self.param("checkpoint"), device=self.device, precision=self.param("precision"),
            compile=self.param("compile"), cpu_threads=self.param("cpu_threads"),
            score_threshold=self.param("score_threshold"),
            nms_iou=self.param("nms_iou"), max_detections=self.param("max_detections"),
            inference_size=tuple(self.param("inference_size")) if any(self.param("inference_size")) else None,
            ir_range=ir_range,
        )

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        result = super().on_activate(state)  # activates the lifecycle publishers
        in_qos = qos_from_string(self.param("input_qos"))
        inputs = [self._input(name) for name in ("ir", "visible")]
        topics = tuple(self.resolve_topic_name(topic) for _, topic in inputs)
        with self._lock:
            queue = self.param("queue_size") if self.param("sync_policy") == "approximate" else None
            self._monitor = PairingMonitor(self.param("slop"), queue, self.param("stream_timeout"), topics)
            self._monitor.start(time.monotonic())
        self._subs = [
            self.create_subscription(msg_type, topic, lambda m, s=stream: self._on_image(s, m), in_qos,
                                     event_callbacks=self._input_events(stream))
            for stream, (msg_type, topic) in enumerate(inputs)
        ]
        self._inference.set_handler(self._fuse_pair)
        timeout = self.param("stream_timeout")
        self._watchdog = self.create_timer(min(1.0, timeout / 2), self._on_watchdog)
        self._started = time.monotonic()
        self._publish_label_info()
        self.state = "active"
        self.get_logger().info(
            f"active: fusing {topics[0]} + {topics[1]} "
            f"with '{self._backend.name}', sync {self.param('sync_policy')} (slop {self.param('slop') * 1000:.0f} ms)"
        )
        return result

    def _input(self, name: str) -> tuple[Any, str]:
        """(message type, topic) of one camera: ``<name>/image`` raw, or image_transport's
        ``<name>/image/compressed`` for the compressed transport."""
        if self.param(f"{name}_transport") == "compressed":
            return CompressedImage, f"{name}/image/compressed"
        return Image, f"{name}/image"

    def _input_events(self, stream: int) -> SubscriptionEventCallbacks:
        """QoS mismatches, wrong message types and transport losses feed the pairing monitor."""
        def incompatible_qos(info: Any) -> None:
            with self._lock:
                self._monitor.note_incompatible(stream, qos_policy=QoSPolicyKind(info.last_policy_kind).name)

        def message_lost(info: Any) -> None:
            with self._lock:
                self._monitor.note_lost(stream, int(info.total_count_change), time.monotonic())

        return SubscriptionEventCallbacks(incompatible_qos=incompatible_qos, message_lost=message_lost)

    def _publish_label_info(self) -> None:
        header = _now_header(self)
        self._pubs["label_info"].publish(label_info_message(self._backend.detection_classes, header, self.param("score_threshold")))
        self._pubs["segmentation_label_info"].publish(label_info_message(self._backend.segmentation_classes, header, 0.0))

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._stop_input()
        self.state = "inactive"
        return super().on_deactivate(state)

    def _stop_input(self, wait: bool = True) -> None:
        """Unsubscribe and drop the waiting pair; with ``wait``, also let the running pair finish."""
        for sub in self._subs:
            self.destroy_subscription(sub)
        self._subs = []
        if self._watchdog is not None:
            self.destroy_timer(self._watchdog)
            self._watchdog = None
        if self._inference is not None:
            self._inference.set_handler(None)  # drops the waiting pair
        if self._inference is not None and wait:
            try:
                self._inference.call(lambda: None, timeout=10.0)  # returns once the running pair is done
            except TimeoutError:
                self.get_logger().error("the pair being fused has not finished after 10 s; going on without it")
        with self._lock:
            if self._sync is not None:
                self._sync.reset()
            self._problems = []

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._release()
        self.state = "unconfigured"
        return TransitionCallbackReturn.SUCCESS

    def _release(self, wait: bool = True) -> None:
        for pub in self._pubs.values():
            self.destroy_lifecycle_publisher(pub)
        self._pubs = {}
        self._backend = None
        self._shutdown_inference(wait)

    def run_on_inference_thread(self, fn: Any, *args: Any) -> Any:
        """``fn(*args)`` on the thread that owns the model, for callers (benchmarks, tools)
        that use the backend directly in this process without adding a second thread pool."""
        if self._inference is None:
            raise RuntimeError(f"fusion node is {self.state}; there is no inference thread")
        return self._inference.call(fn, *args)

    def _shutdown_inference(self, wait: bool = True) -> None:
        """Free the model's memory on its own thread, then end that thread (and its thread pools).

        Without ``wait`` a pair still being fused is abandoned: the thread ends (and drops the
        model) when that pair is done, and nothing of it is published.
        """
        if self._inference is None:
            return
        if wait:  # without: no gc.collect pass (it holds the GIL for long on a big model); refcounts free it
            self._inference.call(free_model_memory)
        if not self._inference.close(timeout=10.0 if wait else 0.0) and wait:
            self.get_logger().error("inference thread did not end within 10 s")
        self._inference = None

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._stop_input()
        self._release()
        self.state = "finalized"
        return TransitionCallbackReturn.SUCCESS

    # -- input -----------------------------------------------------------------------
    def _on_image(self, stream: int, msg: Image) -> None:
        now = time.monotonic()
        name = STREAM_NAMES[stream]
        self.counters.received[stream] += 1
        self._rates[stream].tick(now)
        try:
            if isinstance(msg, CompressedImage):
                array, encoding = compressed_to_array(msg)
            else:
                array, encoding = image_to_array(msg), msg.encoding
            check_image_size(array)
        except ImageFormatError as exc:
            self.counters.invalid[stream] += 1
            key = (stream, exc.cause)
            if self._refusals.due(key, now):
                self.get_logger().error(
                    f"invalid {name} image ({self._refusals.count(key)} with this problem, "
                    f"{self.counters.invalid[stream]} invalid in all): {exc}"
                )
            return
        self._check_frame_id(stream, msg.header.frame_id)
        header = msg.header
        with self._lock:
            stamp = self._monitor.observe(stream, stamp_to_ns(header.stamp), now, self.get_clock().now().nanoseconds)
            if stamp != stamp_to_ns(header.stamp):  # unstamped driver: outputs carry the arrival time
                header = Header(stamp=ns_to_stamp(stamp), frame_id=header.frame_id)
            pairs = self._sync.add(stream, stamp, DecodedImage(array, encoding, header, now))
            for pair in pairs:
                self.counters.pairs += 1
                if self._inference.offer(pair):
                    self.counters.skipped += 1
        if pairs:
            # Hand the GIL to the inference thread now; otherwise it waits for the executor
            # to rebuild its wait set in Python (~0.5 ms on the critical path).
            time.sleep(0)

    def _check_frame_id(self, stream: int, frame_id: str) -> None:
        self._frame_ids[stream] = frame_id
        ir_frame, vis_frame = self._frame_ids
        if ir_frame is not None and vis_frame is not None and ir_frame != vis_frame and not self._warned_frame_mismatch:
            self._warned_frame_mismatch = True
            self.get_logger().warning(
                f"IR frame_id '{ir_frame}' differs from visible frame_id '{vis_frame}'; the cameras are "
                "assumed registered and outputs use the visible frame"
            )

    def _on_watchdog(self) -> None:
        """Name every cause of missing or wrong pairs; log each once when it becomes active."""
        now = time.monotonic()
        publishers = tuple(sub.get_publisher_count() for sub in self._subs) if len(self._subs) == 2 else None
        offered = [self._offered_type(sub) for sub in self._subs]
        with self._lock:
            for stream, (offer, expected) in enumerate(offered):
                self._monitor.note_incompatible(stream, offered_type=offer, expected_type=expected)
            self._monitor.timeout = self.param("stream_timeout")
            problems = self._monitor.problems(now, self._sync.stats, publishers)
        active = {p.cause for p in self._problems}
        for problem in problems:
            if problem.cause in ("no_ir", "no_visible"):
                self.counters.silent_stream[IR if problem.cause == "no_ir" else VISIBLE] += 1
            if problem.cause not in active:
                self.get_logger().warning(problem.message)
        self._problems = problems

    def _offered_type(self, sub: Any) -> tuple[str, str]:
        """(a message type published on ``sub``'s topic other than the subscribed one, or "";
        the subscribed type), both as 'pkg/msg/Name'."""
        expected = f"{sub.msg_type.__module__.split('.')[0]}/msg/{sub.msg_type.__name__}"
        for info in self.get_publishers_info_by_topic(sub.topic_name):
            if info.topic_type != expected:
                return info.topic_type, expected
        return "", expected

    # -- inference thread ------------------------------------------------------------
    def _fuse_pair(self, pair: tuple[DecodedImage, DecodedImage]) -> None:
        try:
            self._fuse_and_publish(*pair)
        except Exception as exc:  # keep the node alive; the message says what failed
            if self._closing:
                return  # an abandoned pair: its node is gone, nothing to report
            self.counters.errors += 1
            self.get_logger().error(f"fusion failed ({self.counters.errors} so far): {exc!r}", throttle_duration_sec=5.0)

    def _fuse_and_publish(self, ir: DecodedImage, visible: DecodedImage) -> None:
        start = time.monotonic()
        resize_to = self._preparation.resize_to
        if self._preparation.registration is None and not self._warned_aspect:
            stretch = aspect_mismatch(ir.array.shape, visible.array.shape)
            if stretch:
                self._warned_aspect = True
                self.get_logger().warning(stretch)
        backend = self._backend
        ir_img, vis_img = self._preparation(ir.array, ir.encoding, visible.array, visible.encoding)
        result = backend.fuse(ir_img, vis_img)
        inference_ms = (time.monotonic() - start) * 1000.0
        header = visible.header if resize_to == "visible" else ir.header  # outputs are in this camera's pixels
        with self._publish_lock:  # destroy_node waits for this, not for the model
            if not self._closing:
                self._publish_result(ir, visible, header, backend.name, result, inference_ms)

    def _publish_result(self, ir: DecodedImage, visible: DecodedImage, header: Any, backend_name: str, result: Any,
                        inference_ms: float) -> None:
        detections = keep_classes(result.detections, self.param("classes"))
        pubs, on = self._pubs, self._output_on
        wanted = lambda name: on(name) and pubs[name].get_subscription_count() > 0  # noqa: E731
        fused_msg = image_message(result.fused, "mono8", header)
        color_msg = seg_msg = None
        if on("fused"):
            pubs["fused"].publish(fused_msg)
        det_msg = detections_message(detections, header, self.param("class_id_format"))
        if on("detections"):
            pubs["detections"].publish(det_msg)
        if result.segmentation is not None and on("segmentation"):
            seg_msg = image_message(result.segmentation, "mono8", header)
            pubs["segmentation"].publish(seg_msg)
        if result.segmentation is not None and wanted("segmentation_color"):
            pubs["segmentation_color"].publish(image_message(colorize_segmentation(result.segmentation), "rgb8", header))
        if wanted("fused_color") or wanted("frame"):
            color_msg = image_message(swap_red_blue(result.fused_color), "bgr8", header)
            if wanted("fused_color"):
                pubs["fused_color"].publish(color_msg)
        offset_ms = (stamp_to_ns(ir.header.stamp) - stamp_to_ns(visible.header.stamp)) / 1e6
        latency_ms = (time.monotonic() - max(ir.received, visible.received)) * 1000.0
        if wanted("frame"):
            frame = FusedFrame(
                header=header, ir_stamp=ir.header.stamp, ir_frame_id=ir.header.frame_id,
                pair_offset=offset_ms / 1000.0, inference_time=inference_ms, latency=latency_ms,
                backend=backend_name, skipped_pairs=self.counters.skipped - self._skipped_reported,
                fused=fused_msg, fused_color=color_msg, detections=det_msg,
            )
            if seg_msg is not None:
                frame.segmentation = seg_msg
            self._skipped_reported = self.counters.skipped
            pubs["frame"].publish(frame)
        self.counters.fused += 1
        self._out_rate.tick(time.monotonic())
        self.inference_ms.add(inference_ms)
        self.latency_ms.add(latency_ms)
        self.pair_offset_ms.add(abs(offset_ms))

    # -- status and diagnostics ------------------------------------------------------
    def _on_status_timer(self) -> None:
        self._pub_diag.publish(self._diagnostics())
        if self.state == "active" and self._output_on("status"):
            self._pubs["status"].publish(self._status())

    def _status(self) -> FusionStatus:
        now = time.monotonic()
        c = self.counters
        return FusionStatus(
            header=_now_header(self), backend=self._backend.name, device=self.device, ready=True,
            visible_rate=self._rates[VISIBLE].rate(now), infrared_rate=self._rates[IR].rate(now),
            output_rate=self._out_rate.rate(now),
            mean_inference_time=self.inference_ms.summary().get("mean", 0.0),
            mean_latency=self.latency_ms.summary().get("mean", 0.0),
            mean_abs_pair_offset=self.pair_offset_ms.summary().get("mean", 0.0) / 1000.0,
            pairs_fused=c.fused, pairs_skipped=c.skipped,
            unpaired_images=sum(self._sync.stats.dropped) if self._sync else 0,
            message=self._diagnostic_level()[1],
        )

    def _diagnostic_level(self) -> tuple[bytes, str]:
        c = self.counters
        now = time.monotonic()
        if self.state == "unconfigured":
            why = f": {self.configure_error}" if self.configure_error else ""
            return DiagnosticStatus.ERROR, f"unconfigured{why}"
        if self.state != "active":
            return DiagnosticStatus.OK, self.state
        if self._problems:
            return DiagnosticStatus.WARN, "; ".join(p.message for p in self._problems)
        if c.fused == 0 and max(r.rate(now) for r in self._rates) > 0:
            return DiagnosticStatus.WARN, "images arrive but nothing fused yet"
        if c.errors or sum(c.invalid):
            return DiagnosticStatus.WARN, f"{c.errors} fusion errors, {sum(c.invalid)} invalid images"
        return DiagnosticStatus.OK, "fusing"

    def _diagnostics(self) -> DiagnosticArray:
        now = time.monotonic()
        c = self.counters
        level, message = self._diagnostic_level()
        backend = self._backend.name if self._backend is not None else self.param("fusion_backend")
        status = DiagnosticStatus(level=level, name=f"{self.get_name()}: fusion", message=message, hardware_id=self.device)
        sync_stats = self._sync.stats if self._sync is not None else None
        values = {
            "state": self.state,
            "backend": backend,
            "device": self.device,
            "ir rate (Hz)": f"{self._rates[IR].rate(now):.2f}",
            "visible rate (Hz)": f"{self._rates[VISIBLE].rate(now):.2f}",
            "fused rate (Hz)": f"{self._out_rate.rate(now):.2f}",
            "pair |dt| mean (ms)": f"{self.pair_offset_ms.summary().get('mean', 0.0):.2f}",
            "inference p50 (ms)": f"{self.inference_ms.summary().get('p50', 0.0):.2f}",
            "inference p95 (ms)": f"{self.inference_ms.summary().get('p95', 0.0):.2f}",
            "pairs": c.pairs,
            "fused": c.fused,
            "skipped": c.skipped,
            "invalid ir": c.invalid[IR],
            "invalid visible": c.invalid[VISIBLE],
            "unpaired dropped": sum(sync_stats.dropped) if sync_stats else 0,
            "queue overflows": sum(sync_stats.overflow) if sync_stats else 0,
            "out of order": sum(sync_stats.out_of_order) if sync_stats else 0,
            "errors": c.errors,
            "ir silent warnings": c.silent_stream[IR],
            "visible silent warnings": c.silent_stream[VISIBLE],
            "pairing problems": ", ".join(p.cause for p in self._problems) or "none",
        }
        for problem in self._problems:
            values.update(problem.values)
        status.values = [KeyValue(key=k, value=str(v)) for k, v in values.items()]
        msg = DiagnosticArray()
        msg.header.stamp = self.get_clock().now().to_msg()
        msg.status = [status]
        return msg

    def sync_stats(self) -> Any:
        with self._lock:
            return self._sync.stats

    def destroy_node(self) -> None:
        """Stop at once: a pair being fused is abandoned (never published) instead of awaited,
        so a stopping process is not held up by the model (see nodes/spin.py)."""
        with self._publish_lock:
            self._closing = True
        self._stop_input(wait=False)
        self._release(wait=False)
        super().destroy_node()




def _now_header(node: Any) -> Any:
    from std_msgs.msg import Header

    return Header(stamp=node.get_clock().now().to_msg(), frame_id="")


def main(args: list[str] | None = None) -> int:
    return spin_node(FusionNode, args)


if __name__ == "__main__":
    sys.exit(main())
