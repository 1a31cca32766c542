"""Synthetic IR + visible cameras: the built-in input when no real cameras are attached.

Publishes ``ir/image`` and ``visible/image`` from :class:`SyntheticScene` at independent
rates. Stamps are the capture time plus Gaussian jitter, and the IR clock can be offset,
which is what real unsynchronised camera pairs look like to the synchroniser.
"""

from __future__ import annotations

import sys
from functools import partial
from typing import Any

import numpy as np
from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
from rclpy.node import Node
from sensor_msgs.msg import Image
from std_msgs.msg import Header

from tsjnet_ros.core.datasets.synthetic import SyntheticScene
from tsjnet_ros.core.image.image_encoding import fill_image, swap_red_blue, to_mono
from tsjnet_ros.nodes.declared_parameters import ParameterFileError, declare, warn_undeclared
from tsjnet_ros.nodes.messages import ns_to_stamp
from tsjnet_ros.nodes.qos import qos_from_string, quiet_publisher_events
from tsjnet_ros.nodes.spin import spin_node

MAX_CATCH_UP = 3  # skipped exposures published late, at most, per timer call


class SyntheticCamerasNode(Node):
    """Two timer-driven cameras rendering one moving scene."""

    def __init__(self, node_name: str = 'synthetic_cameras', **kwargs: Any) -> None:
        super().__init__(node_name, **kwargs)
        rate_range = [FloatingPointRange(from_value=0.1, to_value=200.0)]
        d = partial(declare, self)
        d('width', 640, ParameterDescriptor(description='image width in pixels', read_only=True))
        d('height', 480, ParameterDescriptor(description='image height in pixels', read_only=True))
        d(
            'ir_rate',
            30.0,
            ParameterDescriptor(
                description='IR frame rate (Hz)', read_only=True, floating_point_range=rate_range
            ),
        )
        d(
            'visible_rate',
            30.0,
            ParameterDescriptor(
                description='visible frame rate (Hz)',
                read_only=True,
                floating_point_range=rate_range,
            ),
        )
        d(
            'jitter',
            0.002,
            ParameterDescriptor(
                description='std-dev of stamp jitter (s)',
                read_only=True,
                floating_point_range=[FloatingPointRange(from_value=0.0, to_value=10.0)],
            ),
        )
        d(
            'ir_clock_offset',
            0.0,
            ParameterDescriptor(
                description='constant offset added to IR stamps (s)', read_only=True
            ),
        )
        d(
            'ir_encoding',
            'mono8',
            ParameterDescriptor(description='mono8 | mono16', read_only=True),
        )
        d(
            'visible_encoding',
            'bgr8',
            ParameterDescriptor(description='bgr8 | rgb8 | mono8', read_only=True),
        )
        d(
            'ir_frame_id',
            'camera_optical_frame',
            ParameterDescriptor(description='IR header frame_id', read_only=True),
        )
        d(
            'visible_frame_id',
            'camera_optical_frame',
            ParameterDescriptor(description='visible header frame_id', read_only=True),
        )
        d(
            'num_targets',
            5,
            ParameterDescriptor(
                description='moving warm objects in the scene',
                read_only=True,
                integer_range=[IntegerRange(from_value=0, to_value=10_000, step=1)],
            ),
        )
        d(
            'seed',
            0,
            ParameterDescriptor(description='scene and jitter random seed', read_only=True),
        )
        d(
            'max_frames',
            0,
            ParameterDescriptor(
                description='stop each camera after this many frames (0 = run forever)',
                read_only=True,
                integer_range=[IntegerRange(from_value=0, to_value=2**62, step=1)],
            ),
        )
        d(
            'output_qos',
            'SENSOR_DATA',
            ParameterDescriptor(description='camera QoS, PRESET[:DEPTH]', read_only=True),
        )
        warn_undeclared(self)
        g = lambda name: self.get_parameter(name).value  # noqa: E731
        self._ir_encoding = g('ir_encoding')
        self._visible_encoding = g('visible_encoding')
        if self._ir_encoding not in ('mono8', 'mono16'):
            raise ParameterFileError(
                f'{node_name}: ir_encoding must be mono8 or mono16, got {self._ir_encoding!r}'
            )
        if self._visible_encoding not in ('bgr8', 'rgb8', 'mono8'):
            raise ParameterFileError(
                f'{node_name}: visible_encoding must be bgr8, rgb8 or mono8, '
                f'got {self._visible_encoding!r}'
            )
        try:
            self.scene = SyntheticScene(
                width=g('width'),
                height=g('height'),
                num_targets=g('num_targets'),
                seed=g('seed'),
                ir_bits=16 if self._ir_encoding == 'mono16' else 8,
            )
        except ValueError as exc:
            raise ParameterFileError(f'{node_name}: {exc}') from None
        self._rng = np.random.default_rng(g('seed') + 1)
        self._jitter = float(g('jitter'))
        self._ir_offset_ns = int(g('ir_clock_offset') * 1e9)
        self._frame_ids = (g('ir_frame_id'), g('visible_frame_id'))
        self._max_frames = int(g('max_frames'))
        self.sent = [0, 0]
        self._t0_ns = self.get_clock().now().nanoseconds
        qos, quiet = qos_from_string(g('output_qos')), quiet_publisher_events()
        self._pubs = (
            self.create_publisher(Image, 'ir/image', qos, event_callbacks=quiet),
            self.create_publisher(Image, 'visible/image', qos, event_callbacks=quiet),
        )
        self._last_exposure: list[int | None] = [None, None]
        self._camera_timers = (
            self.create_timer(1.0 / g('ir_rate'), lambda: self._capture(0)),
            self.create_timer(1.0 / g('visible_rate'), lambda: self._capture(1)),
        )
        self.get_logger().info(
            f'synthetic cameras {g("width")}x{g("height")}: IR {g("ir_rate")} '
            f'Hz ({self._ir_encoding}), '
            f'visible {g("visible_rate")} Hz ({self._visible_encoding}), jitter '
            f'{self._jitter * 1000:.1f} ms'
        )

    @property
    def finished(self) -> bool:
        return self._max_frames > 0 and min(self.sent) >= self._max_frames

    def _capture(self, camera: int) -> None:
        # A camera stamps its exposure, which keeps its rate however late the driver
        # publishes: the slot this timer call was scheduled for, not the time it ran.
        # When the executor was busy for whole periods rcl skips those calls; a camera
        # would still have exposed them, so up to MAX_CATCH_UP of them go out now.
        timer = self._camera_timers[camera]
        period_ns = timer.timer_period_ns
        now_ns = self.get_clock().now().nanoseconds
        until_next = timer.time_until_next_call()
        exposure_ns = now_ns if until_next is None else now_ns + until_next - period_ns
        last = self._last_exposure[camera]
        skipped = 0 if last is None else max(0, round((exposure_ns - last) / period_ns) - 1)
        for k in range(min(skipped, MAX_CATCH_UP), 0, -1):
            self._expose(camera, exposure_ns - k * period_ns)
        self._expose(camera, exposure_ns)
        self._last_exposure[camera] = exposure_ns

    def _expose(self, camera: int, exposure_ns: int) -> None:
        """Render and publish one frame of ``camera`` exposed at ``exposure_ns``."""
        if self._max_frames and self.sent[camera] >= self._max_frames:
            return
        stamp_ns = (
            exposure_ns + int(self._rng.normal(0.0, self._jitter) * 1e9)
            if self._jitter > 0
            else exposure_ns
        )
        if camera == 0:
            stamp_ns += self._ir_offset_ns
        t = (stamp_ns - self._t0_ns) / 1e9
        header = Header(stamp=ns_to_stamp(stamp_ns), frame_id=self._frame_ids[camera])
        msg = Image(header=header)
        if camera == 0:
            fill_image(msg, self.scene.render_ir(t), self._ir_encoding)
        elif self._visible_encoding == 'mono8':
            fill_image(msg, to_mono(self.scene.render_visible(t), 'rgb8'), 'mono8')
        elif self._visible_encoding == 'bgr8':
            fill_image(msg, swap_red_blue(self.scene.render_visible(t)), 'bgr8')
        else:
            fill_image(msg, self.scene.render_visible(t), 'rgb8')
        self._pubs[camera].publish(msg)
        self.sent[camera] += 1


def main(args: list[str] | None = None) -> int:
    return spin_node(SyntheticCamerasNode, args)


if __name__ == '__main__':
    sys.exit(main())
