"""Debug overlay node: fused colour + boxes with labels/scores + translucent segmentation.

Publishes ``debug/overlay`` (rgb8) for rviz2. It subscribes to ``fused/image_color``,
``detections`` and ``segmentation/image`` only while someone watches the overlay, so
an unwatched overlay costs the fusion node nothing (it publishes colour only to
subscribers). The three inputs share the visible image's stamp and are matched exactly.
"""

from __future__ import annotations

import sys
from collections import OrderedDict
from typing import Any

from rcl_interfaces.msg import ParameterDescriptor
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image
from vision_msgs.msg import Detection2DArray, LabelInfo

from tsjnet_ros.core.image.image_encoding import ImageFormatError, image_to_array, to_rgb8
from tsjnet_ros.core.types.detection import Detection
from tsjnet_ros.core.viz.overlay import draw_overlay
from tsjnet_ros.nodes.declared_parameters import declare, warn_undeclared
from tsjnet_ros.nodes.messages import image_message, stamp_to_ns
from tsjnet_ros.nodes.qos import qos_from_string, quiet_publisher_events
from tsjnet_ros.nodes.spin import spin_node

PENDING_LIMIT = 10  # stamps kept while waiting for the other inputs


class DebugOverlayNode(Node):
    """Draws what the fusion node found on the fused image (see module docstring)."""

    def __init__(self, node_name: str = 'debug_overlay', **kwargs: Any) -> None:
        super().__init__(node_name, **kwargs)
        declare(
            self, 'alpha', 0.4, ParameterDescriptor(description='segmentation opacity in [0, 1]')
        )
        declare(
            self,
            'qos',
            'DEFAULT',
            ParameterDescriptor(description='input/output QoS, PRESET[:DEPTH]', read_only=True),
        )
        warn_undeclared(self)
        self._qos = qos_from_string(self.get_parameter('qos').value)
        self._pub = self.create_publisher(
            Image, 'debug/overlay', self._qos, event_callbacks=quiet_publisher_events()
        )
        self._subs: list[Any] = []
        self._pending: OrderedDict[int, dict[str, Any]] = OrderedDict()
        self._seen_segmentation = False
        self._class_names: dict[int, str] = {}
        self.published = 0
        self.incomplete_dropped = 0
        latched = QoSProfile(
            depth=1,
            reliability=ReliabilityPolicy.RELIABLE,
            durability=DurabilityPolicy.TRANSIENT_LOCAL,
        )
        self.create_subscription(LabelInfo, 'label_info', self._on_labels, latched)
        self.create_timer(0.5, self._follow_demand)
        self._follow_demand()

    def _follow_demand(self) -> None:
        watched = self._pub.get_subscription_count() > 0
        if watched and not self._subs:
            self._subs = [
                self.create_subscription(
                    Image, 'fused/image_color', lambda m: self._on_input('color', m), self._qos
                ),
                self.create_subscription(
                    Detection2DArray,
                    'detections',
                    lambda m: self._on_input('detections', m),
                    self._qos,
                ),
                self.create_subscription(
                    Image,
                    'segmentation/image',
                    lambda m: self._on_input('segmentation', m),
                    self._qos,
                ),
            ]
        elif not watched and self._subs:
            for sub in self._subs:
                self.destroy_subscription(sub)
            self._subs = []
            self._pending.clear()

    def _on_labels(self, msg: LabelInfo) -> None:
        self._class_names = {c.class_id: c.class_name for c in msg.class_map}

    def _on_input(self, kind: str, msg: Any) -> None:
        if kind == 'segmentation':
            self._seen_segmentation = True
        stamp = stamp_to_ns(msg.header.stamp)
        entry = self._pending.setdefault(stamp, {})
        entry[kind] = msg
        while len(self._pending) > PENDING_LIMIT:
            self._pending.popitem(last=False)
            self.incomplete_dropped += 1
        needed = {'color', 'detections'} | ({'segmentation'} if self._seen_segmentation else set())
        if needed <= entry.keys():
            del self._pending[stamp]
            self._draw(entry)

    def _draw(self, entry: dict[str, Any]) -> None:
        color = entry['color']
        try:
            rgb = to_rgb8(image_to_array(color), color.encoding)
            seg = image_to_array(entry['segmentation']) if 'segmentation' in entry else None
        except ImageFormatError as exc:
            self.get_logger().error(f'cannot draw overlay: {exc}', throttle_duration_sec=5.0)
            return
        if seg is not None and seg.shape != rgb.shape[:2]:
            seg = None
        detections = [self._detection(d) for d in entry['detections'].detections]
        overlay = draw_overlay(
            rgb, detections, seg, alpha=float(self.get_parameter('alpha').value)
        )
        self._pub.publish(image_message(overlay, 'rgb8', color.header))
        self.published += 1

    def _detection(self, det: Any) -> Detection:
        hyp = det.results[0].hypothesis if det.results else None
        class_text = hyp.class_id if hyp else '?'
        class_id = int(class_text) if class_text.isdigit() else -1
        name = self._class_names.get(class_id, class_text)
        cx, cy = det.bbox.center.position.x, det.bbox.center.position.y
        w, h = det.bbox.size_x, det.bbox.size_y
        return Detection(
            max(class_id, 0),
            name,
            hyp.score if hyp else 0.0,
            (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2),
        )


def main(args: list[str] | None = None) -> int:
    return spin_node(DebugOverlayNode, args)


if __name__ == '__main__':
    sys.exit(main())
