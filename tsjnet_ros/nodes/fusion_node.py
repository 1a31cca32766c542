"""Fusion node: synchronises IR and visible images, fuses them, detects and segments.

A lifecycle node: *configure* loads the backend (checkpoint + warm-up) and creates the
publishers, *activate* subscribes to the cameras, *deactivate* unsubscribes and drops
queued images, *cleanup* releases the model (and GPU memory). With ``autostart`` (the
default) it configures and activates itself at start-up; a failed configure (missing or
corrupt checkpoint) leaves it unconfigured with the reason in the log and diagnostics.

Subscriptions: ``ir/image``, ``visible/image`` (remappable; ``<camera>/image/compressed``
with the ``compressed`` transport). Publications, all in the pixels and with the header of
the camera named by ``resize_to`` (the visible one by default): ``fused/image`` (mono8),
``detections`` (vision_msgs/Detection2DArray) and ``segmentation/image`` (mono8 class ids) always;
``fused/image_color`` (bgr8), ``segmentation/color`` (rgb8), ``fused/frame``
(tsjnet_msgs/FusedFrame) only while someone subscribes; ``label_info`` and
``segmentation/label_info`` (vision_msgs/LabelInfo, transient local); ``fusion/status``
(tsjnet_msgs/FusionStatus) and ``/diagnostics`` once per second.

The node is the ROS face of a :class:`~tsjnet_ros.core.runtime.fusion_stream.FusionStream`:
it converts messages into camera images and feeds the stream, publishes what the stream
hands back, and maps parameters onto the stream's settings. Pairing, preparation, the
inference thread (latest pair wins, skipped pairs counted) and every counter live in the
stream; :meth:`FusionNode.stats` is their snapshot.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Any

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rcl_interfaces.msg import SetParametersResult
from rclpy.event_handler import SubscriptionEventCallbacks
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from rclpy.qos import DurabilityPolicy, QoSPolicyKind, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header
from vision_msgs.msg import Detection2DArray, LabelInfo

from tsjnet_msgs.msg import FusedFrame, FusionStatus
from tsjnet_ros.core.image.compressed_image import compressed_to_array
from tsjnet_ros.core.image.image_encoding import ImageFormatError, image_to_array, swap_red_blue
from tsjnet_ros.core.runtime.fusion_stats import FusionStats
from tsjnet_ros.core.runtime.fusion_stream import FusedPair, FusionStream
from tsjnet_ros.core.runtime.large_buffers import keep_large_buffers_in_heap
from tsjnet_ros.core.runtime.stream_settings import StreamSettings
from tsjnet_ros.core.types.camera_image import IR, VISIBLE, CameraImage
from tsjnet_ros.core.viz.overlay import colorize_segmentation
from tsjnet_ros.nodes.declared_parameters import declare, warn_undeclared
from tsjnet_ros.nodes.fusion_parameters import FUSION_PARAMETERS, validate
from tsjnet_ros.nodes.messages import image_message, ns_to_stamp, stamp_to_ns
from tsjnet_ros.nodes.qos import qos_from_string, quiet_publisher_events
from tsjnet_ros.nodes.result_messages import detections_message, keep_classes, label_info_message
from tsjnet_ros.nodes.spin import spin_node

LATCHED = QoSProfile(
    depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL
)
LEVELS = {
    'ok': DiagnosticStatus.OK,
    'warn': DiagnosticStatus.WARN,
    'error': DiagnosticStatus.ERROR,
}


class FusionNode(LifecycleNode):
    """See module docstring; parameters are listed in :mod:`fusion_parameters`."""

    def __init__(self, node_name: str = 'fusion_node', **kwargs: Any) -> None:
        super().__init__(node_name, **kwargs)
        # reuse image-sized buffers across frames (see core/runtime/large_buffers.py)
        keep_large_buffers_in_heap()
        # what destroy_node needs exists before a parameter can be refused
        self.stream = FusionStream(self._publish_result, report=self._report)
        self._subs: list[Any] = []
        self._pubs: dict[str, Any] = {}
        self._publish_lock = threading.Lock()  # held while a frame's results are published
        self._closing = (
            False  # set by destroy_node: a frame still running is abandoned, not published
        )
        self._watchdog = None
        for name, spec in FUSION_PARAMETERS.items():
            declare(self, name, spec.default, spec.descriptor())
        self._skipped_reported = 0  # the stream's skipped count at the previous FusedFrame
        self._pub_diag = self.create_publisher(
            DiagnosticArray, '/diagnostics', 10, event_callbacks=quiet_publisher_events()
        )
        self.create_timer(1.0, self._on_status_timer)
        self.add_on_set_parameters_callback(self._on_set_parameters)
        warn_undeclared(self)
        if self.get_parameter('autostart').value:
            self.trigger_configure()
            if self.state == 'inactive':
                self.trigger_activate()

    # -- state -----------------------------------------------------------------------
    @property
    def state(self) -> str:
        """Unconfigured | inactive | active | finalized (the stream's lifecycle state)."""
        return self.stream.state

    @property
    def configure_error(self) -> str:
        return self.stream.configure_error

    @property
    def device(self) -> str:
        return self.stream.device

    def stats(self) -> FusionStats:
        """Snapshot of counters, rates, latency, device, state and active pairing problems."""
        return self.stream.stats()

    def _report(self, level: str, message: str) -> None:
        getattr(self.get_logger(), level)(message)

    # -- parameters ------------------------------------------------------------------
    def param(self, name: str) -> Any:
        return self.get_parameter(name).value

    def _on_set_parameters(self, params: list[Any]) -> SetParametersResult:
        for p in params:
            reason = validate(p.name, p.value)
            if reason:
                self.get_logger().error(f'rejected parameter: {reason}')
                return SetParametersResult(successful=False, reason=reason)
        for p in params:
            if p.name == 'classes' and self.stream.backend is not None:
                self._check_classes(list(p.value))
        # live settings (thresholds of the TSJNet head and the ONNX detector, the silence timeout)
        self.stream.update(
            **{p.name: p.value for p in params if p.name in StreamSettings.__dataclass_fields__}
        )
        return SetParametersResult(successful=True)

    def _output_on(self, name: str) -> bool:
        return name in self.param('outputs')

    # -- lifecycle -------------------------------------------------------------------
    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        for name in FUSION_PARAMETERS:
            reason = validate(name, self.param(name))
            if reason:
                return self._configure_failed(reason)
        try:
            out_qos = qos_from_string(self.param('output_qos'))
            qos_from_string(self.param('input_qos'))  # fail now, not at activation
            settings = StreamSettings.from_parameters(
                {name: self.param(name) for name in FUSION_PARAMETERS}
            )
        except (
            Exception
        ) as exc:  # bad QoS, ONNX task without a model, ...: say why, stay unconfigured
            return self._configure_failed(f'{type(exc).__name__}: {exc}')
        try:
            self.stream.configure(settings)
        except Exception:  # missing/corrupt checkpoint, ...: the stream keeps the reason
            self.get_logger().error(
                f'configure failed, node stays unconfigured: {self.configure_error}'
            )
            return TransitionCallbackReturn.FAILURE

        def create(msg_type: Any, topic: str, qos: Any) -> Any:
            return self.create_lifecycle_publisher(
                msg_type, topic, qos, event_callbacks=quiet_publisher_events()
            )

        self._pubs = {
            'fused': create(Image, 'fused/image', out_qos),
            'fused_color': create(Image, 'fused/image_color', out_qos),
            'detections': create(Detection2DArray, 'detections', out_qos),
            'segmentation': create(Image, 'segmentation/image', out_qos),
            'segmentation_color': create(Image, 'segmentation/color', out_qos),
            'frame': create(FusedFrame, 'fused/frame', out_qos),
            'status': create(FusionStatus, 'fusion/status', 10),
            'label_info': create(LabelInfo, 'label_info', LATCHED),
            'segmentation_label_info': create(LabelInfo, 'segmentation/label_info', LATCHED),
        }
        self.get_logger().info(
            f"configured: backend '{self.stream.backend.name}' on {self.device}"
        )
        self._check_classes(self.param('classes'))
        return TransitionCallbackReturn.SUCCESS

    def _check_classes(self, classes: list[str]) -> None:
        """Warn about ``classes`` entries the detector does not know: they match nothing."""
        known = getattr(self.stream.backend, 'detection_classes', None) or ()
        unknown = [c for c in classes if c and c not in known]
        if known and unknown:
            self.get_logger().warning(
                f'classes lists {", ".join(unknown)}, which the detector does not know, '
                f'so nothing of it is published; it knows: {", ".join(known)}'
            )

    def _configure_failed(self, reason: str) -> TransitionCallbackReturn:
        self.stream.fail(reason)
        self.get_logger().error(f'configure failed, node stays unconfigured: {reason}')
        return TransitionCallbackReturn.FAILURE

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        result = super().on_activate(state)  # activates the lifecycle publishers
        in_qos = qos_from_string(self.param('input_qos'))
        inputs = [self._input(name) for name in ('ir', 'visible')]
        topics = tuple(self.resolve_topic_name(topic) for _, topic in inputs)
        self.stream.activate(time.monotonic(), topics)
        self._subs = [
            self.create_subscription(
                msg_type,
                topic,
                lambda m, s=stream: self._on_image(s, m),
                in_qos,
                event_callbacks=self._input_events(stream),
            )
            for stream, (msg_type, topic) in enumerate(inputs)
        ]
        timeout = self.param('stream_timeout')
        self._watchdog = self.create_timer(min(1.0, timeout / 2), self._on_watchdog)
        self._publish_label_info()
        settings = self.stream.settings
        self.get_logger().info(
            f'active: fusing {topics[0]} + {topics[1]} '
            f"with '{self.stream.backend.name}', sync {settings.sync_policy} (slop "
            f'{settings.slop * 1000:.0f} ms)'
        )
        return result

    def _input(self, name: str) -> tuple[Any, str]:
        """Return (message type, topic) of one camera.

        ``<name>/image`` raw, or image_transport's ``<name>/image/compressed`` for the compressed
        transport.
        """
        if self.param(f'{name}_transport') == 'compressed':
            return CompressedImage, f'{name}/image/compressed'
        return Image, f'{name}/image'

    def _input_events(self, stream: int) -> SubscriptionEventCallbacks:
        """QoS mismatches, wrong message types and transport losses feed the pairing monitor."""

        def incompatible_qos(info: Any) -> None:
            self.stream.note_incompatible(
                stream, qos_policy=QoSPolicyKind(info.last_policy_kind).name
            )

        def message_lost(info: Any) -> None:
            self.stream.note_lost(stream, int(info.total_count_change))

        return SubscriptionEventCallbacks(
            incompatible_qos=incompatible_qos, message_lost=message_lost
        )

    def _publish_label_info(self) -> None:
        header = _now_header(self)
        backend = self.stream.backend
        self._pubs['label_info'].publish(
            label_info_message(backend.detection_classes, header, self.param('score_threshold'))
        )
        self._pubs['segmentation_label_info'].publish(
            label_info_message(backend.segmentation_classes, header, 0.0)
        )

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._stop_input()
        return super().on_deactivate(state)

    def _stop_input(self, wait: bool = True) -> None:
        """Unsubscribe and drop the waiting pair.

        With ``wait``, also let the running pair finish.
        """
        for sub in self._subs:
            self.destroy_subscription(sub)
        self._subs = []
        if self._watchdog is not None:
            self.destroy_timer(self._watchdog)
            self._watchdog = None
        self.stream.deactivate(wait)

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._release()
        return TransitionCallbackReturn.SUCCESS

    def _release(self, wait: bool = True) -> None:
        for pub in self._pubs.values():
            self.destroy_lifecycle_publisher(pub)
        self._pubs = {}
        self.stream.cleanup(wait)

    def run_on_inference_thread(self, fn: Any, *args: Any) -> Any:
        """Run ``fn(*args)`` on the thread that owns the model.

        For callers (benchmarks, tools) that use the backend directly in this process without
        adding a second thread pool.
        """
        return self.stream.call(fn, *args)

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._stop_input()
        self._release()
        self.stream.shutdown()
        return TransitionCallbackReturn.SUCCESS

    # -- input -----------------------------------------------------------------------
    def _on_image(self, stream: int, msg: Image) -> None:
        now = time.monotonic()
        try:
            if isinstance(msg, CompressedImage):
                array, encoding = compressed_to_array(msg)
            else:
                array, encoding = image_to_array(msg), msg.encoding
        except ImageFormatError as exc:
            self.stream.refuse(stream, exc, now)
            return
        image = CameraImage(
            stamp_to_ns(msg.header.stamp), msg.header.frame_id, encoding, array, received=now
        )
        try:
            self.stream.push(stream, image, now, self.get_clock().now().nanoseconds)
        except ImageFormatError:
            pass  # counted and reported by the stream

    def _on_watchdog(self) -> None:
        """Let the stream name every cause of missing or wrong pairs.

        Each is logged once when it becomes active.
        """
        publishers = (
            tuple(sub.get_publisher_count() for sub in self._subs)
            if len(self._subs) == 2
            else None
        )
        self.stream.watch(
            time.monotonic(), publishers, [self._offered_type(sub) for sub in self._subs]
        )

    def _offered_type(self, sub: Any) -> tuple[str, str]:
        """Return (offered type, subscribed type) of ``sub``'s topic, both as 'pkg/msg/Name'.

        The offered type is a message type published on the topic other than the subscribed one,
        or "".
        """
        expected = f'{sub.msg_type.__module__.split(".")[0]}/msg/{sub.msg_type.__name__}'
        for info in self.get_publishers_info_by_topic(sub.topic_name):
            if info.topic_type != expected:
                return info.topic_type, expected
        return '', expected

    # -- output (on the inference thread) --------------------------------------------
    def _publish_result(self, fused: FusedPair) -> None:
        with self._publish_lock:  # destroy_node waits for this, not for the model
            if not self._closing:
                self._publish(fused)

    def _publish(self, fused: FusedPair) -> None:
        result, ir, visible = fused.result, fused.ir, fused.visible
        camera = fused.camera  # outputs are in this camera's pixels
        header = Header(stamp=ns_to_stamp(camera.stamp_ns), frame_id=camera.frame_id)
        detections = keep_classes(result.detections, self.param('classes'))
        pubs, on = self._pubs, self._output_on
        wanted = lambda name: on(name) and pubs[name].get_subscription_count() > 0  # noqa: E731
        fused_msg = image_message(result.fused, 'mono8', header)
        color_msg = seg_msg = None
        if on('fused'):
            pubs['fused'].publish(fused_msg)
        det_msg = detections_message(detections, header, self.param('class_id_format'))
        if on('detections'):
            pubs['detections'].publish(det_msg)
        if result.segmentation is not None and on('segmentation'):
            seg_msg = image_message(result.segmentation, 'mono8', header)
            pubs['segmentation'].publish(seg_msg)
        if result.segmentation is not None and wanted('segmentation_color'):
            pubs['segmentation_color'].publish(
                image_message(colorize_segmentation(result.segmentation), 'rgb8', header)
            )
        if wanted('fused_color') or wanted('frame'):
            color_msg = image_message(swap_red_blue(result.fused_color), 'bgr8', header)
            if wanted('fused_color'):
                pubs['fused_color'].publish(color_msg)
        if wanted('frame'):
            latency_ms = (time.monotonic() - max(ir.received, visible.received)) * 1000.0
            frame = FusedFrame(
                header=header,
                ir_stamp=ns_to_stamp(ir.stamp_ns),
                ir_frame_id=ir.frame_id,
                pair_offset=fused.pair_offset_ms / 1000.0,
                inference_time=fused.pipeline_ms,
                latency=latency_ms,
                backend=fused.backend,
                skipped_pairs=fused.skipped_total - self._skipped_reported,
                fused=fused_msg,
                fused_color=color_msg,
                detections=det_msg,
            )
            if seg_msg is not None:
                frame.segmentation = seg_msg
            self._skipped_reported = fused.skipped_total
            pubs['frame'].publish(frame)

    # -- status and diagnostics ------------------------------------------------------
    def _on_status_timer(self) -> None:
        stats = self.stats()
        self._pub_diag.publish(self._diagnostics(stats))
        if stats.state == 'active' and self._output_on('status'):
            self._pubs['status'].publish(self._status(stats))

    def _status(self, stats: FusionStats) -> FusionStatus:
        return FusionStatus(
            header=_now_header(self),
            backend=stats.backend,
            device=stats.device,
            ready=True,
            visible_rate=stats.input_rate_hz[VISIBLE],
            infrared_rate=stats.input_rate_hz[IR],
            output_rate=stats.output_rate_hz,
            mean_inference_time=stats.inference_ms.mean,
            mean_latency=stats.latency_ms.mean,
            mean_abs_pair_offset=stats.pair_offset_ms.mean / 1000.0,
            pairs_fused=stats.fused,
            pairs_skipped=stats.skipped,
            unpaired_images=stats.unpaired_dropped,
            message=stats.health()[1],
        )

    def _diagnostics(self, stats: FusionStats | None = None) -> DiagnosticArray:
        s = self.stats() if stats is None else stats
        level, message = s.health()
        status = DiagnosticStatus(
            level=LEVELS[level],
            name=f'{self.get_name()}: fusion',
            message=message,
            hardware_id=s.device,
        )
        values = {
            'state': s.state,
            'backend': s.backend or self.param('fusion_backend'),
            'device': s.device,
            'ir rate (Hz)': f'{s.input_rate_hz[IR]:.2f}',
            'visible rate (Hz)': f'{s.input_rate_hz[VISIBLE]:.2f}',
            'fused rate (Hz)': f'{s.output_rate_hz:.2f}',
            'pair |dt| mean (ms)': f'{s.pair_offset_ms.mean:.2f}',
            'inference p50 (ms)': f'{s.inference_ms.p50:.2f}',
            'inference p95 (ms)': f'{s.inference_ms.p95:.2f}',
            'pairs': s.pairs,
            'fused': s.fused,
            'skipped': s.skipped,
            'invalid ir': s.invalid[IR],
            'invalid visible': s.invalid[VISIBLE],
            'unpaired dropped': s.unpaired_dropped,
            'queue overflows': s.queue_overflows,
            'out of order': s.out_of_order,
            'errors': s.errors,
            'ir silent warnings': s.silent_stream[IR],
            'visible silent warnings': s.silent_stream[VISIBLE],
            'pairing problems': ', '.join(p.cause for p in s.problems) or 'none',
        }
        for problem in s.problems:
            values.update(problem.values)
        status.values = [KeyValue(key=k, value=str(v)) for k, v in values.items()]
        msg = DiagnosticArray()
        msg.header.stamp = self.get_clock().now().to_msg()
        msg.status = [status]
        return msg

    def destroy_node(self) -> None:
        """Stop at once: a pair being fused is abandoned (never published) instead of awaited.

        So a stopping process is not held up by the model (see nodes/spin.py).
        """
        with self._publish_lock:
            self._closing = True
        self._stop_input(wait=False)
        self._release(wait=False)
        super().destroy_node()


def _now_header(node: Any) -> Any:
    return Header(stamp=node.get_clock().now().to_msg(), frame_id='')


def main(args: list[str] | None = None) -> int:
    return spin_node(FusionNode, args)


if __name__ == '__main__':
    sys.exit(main())
