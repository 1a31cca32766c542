"""Shared by the ROS benchmarks: a fusion node fed by a synthetic camera pair.

A driver node publishes synthetic 640x480 IR/visible pairs at a fixed rate and records,
per visible stamp, when the pair was published and when ``fused/image`` arrived. By default
everything runs in one process on one executor, like ``tsjnet-graph``; the driver can also
run in a process of its own (``python bench/ros_loop.py --driver FRAMES RATE``, started by
:func:`run_driver_process`), as camera drivers and consumers do in a deployment.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field

import numpy as np
import rclpy
from rclpy.event_handler import SubscriptionEventCallbacks
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter
from sensor_msgs.msg import Image
from std_msgs.msg import Header

from tsjnet_ros.core.datasets.synthetic import SyntheticScene
from tsjnet_ros.core.image.image_encoding import fill_image, swap_red_blue
from tsjnet_ros.nodes.fusion_node import FusionNode
from tsjnet_ros.nodes.messages import ns_to_stamp, stamp_to_ns
from tsjnet_ros.nodes.qos import quiet_publisher_events


def rss_mb() -> tuple[float, float]:
    """Return the (current, peak) resident set size of this process in MB."""
    fields = {}
    with open('/proc/self/status') as status:
        for line in status:
            key, _, value = line.partition(':')
            fields[key] = value
    return int(fields['VmRSS'].split()[0]) / 1024.0, int(fields['VmHWM'].split()[0]) / 1024.0


@dataclass
class LoopResult:
    sent: int
    received: int
    latencies_ms: list[float] = field(default_factory=list)


class CameraDriver(Node):
    """Stand-in for the camera drivers and a consumer.

    Publishes synthetic 640x480 IR/visible pairs and records, per visible stamp, when a pair was
    published and when ``fused/image`` arrived. It adds as little as it can to an executor's
    wait set (no parameter or type-description services, no event callbacks), so the figures
    are the fusion node's.
    """

    def __init__(
        self, width: int = 640, height: int = 480, frames_in_bank: int = 30, **kwargs
    ) -> None:
        super().__init__(
            'bench_driver',
            start_parameter_services=False,
            parameter_overrides=[Parameter('start_type_description_service', value=False)],
            **kwargs,
        )
        quiet = quiet_publisher_events()
        self._ir_pub = self.create_publisher(Image, 'ir/image', 10, event_callbacks=quiet)
        self._vis_pub = self.create_publisher(Image, 'visible/image', 10, event_callbacks=quiet)
        self._sent_at: dict[int, float] = {}
        self._lock = threading.Lock()
        self.latencies_ms: list[float] = []
        self.received = 0
        self.create_subscription(
            Image,
            'fused/image',
            self._on_fused,
            10,
            event_callbacks=SubscriptionEventCallbacks(use_default_callbacks=False),
        )
        self.bank = _bank(width, height, frames_in_bank)

    def wait_for_fusion_node(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while (
            self._ir_pub.get_subscription_count() == 0
            or self._vis_pub.get_subscription_count() == 0
            or self.count_publishers('fused/image') == 0
        ):
            if time.monotonic() > deadline:
                raise RuntimeError('the fusion node did not connect')
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
        vis = fill_image(
            Image(header=Header(stamp=ns_to_stamp(stamp_ns), frame_id='cam')),
            swap_red_blue(frame.visible),
            'bgr8',
        )
        ir = fill_image(
            Image(header=Header(stamp=ns_to_stamp(stamp_ns), frame_id='cam')), frame.ir, 'mono8'
        )
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
        with self._lock:
            return LoopResult(
                sent=frames, received=self.received, latencies_ms=list(self.latencies_ms)
            )


class FusionLoop:
    """The fusion loop under measurement, on one executor like ``tsjnet-graph``.

    Owns the context, the fusion node and, unless the cameras run in another process
    (:func:`run_driver_process`), the camera driver, all on one executor.
    """

    def __init__(self, fusion_params: dict, driver: bool = True) -> None:
        rclpy.init()
        overrides = [Parameter(k, value=v) for k, v in fusion_params.items()]
        self.fusion = FusionNode(parameter_overrides=overrides)
        if self.fusion.state != 'active':
            raise RuntimeError(
                f'fusion node is {self.fusion.state}: {self.fusion.configure_error}'
            )
        self.driver = CameraDriver() if driver else None
        self.bank = (
            self.driver.bank if self.driver is not None else _bank()
        )  # the frames the driver sends
        self.executor = SingleThreadedExecutor()  # as tsjnet-graph
        self.executor.add_node(self.fusion)
        if self.driver is not None:
            self.executor.add_node(self.driver)
        self._spinner = threading.Thread(target=self.executor.spin, daemon=True)
        self._spinner.start()
        if self.driver is not None:
            self.driver.wait_for_fusion_node()

    def run(self, frames: int, rate_hz: float, on_progress=None) -> LoopResult:
        if self.driver is None:
            raise RuntimeError('the camera driver runs in another process; use run_driver_process')
        return self.driver.run(frames, rate_hz, on_progress)

    def close(self) -> None:
        self.executor.shutdown(timeout_sec=2.0)
        self.fusion.destroy_node()
        if self.driver is not None:
            self.driver.destroy_node()
        rclpy.try_shutdown()


def _bank(width: int = 640, height: int = 480, frames_in_bank: int = 30) -> list:
    scene = SyntheticScene(width, height, seed=0)
    return [scene.render(k / 30.0) for k in range(frames_in_bank)]


def run_driver_process(
    frames: int, rate_hz: float, env: dict[str, str] | None = None
) -> LoopResult:
    """Run the camera driver in a child process against a fusion node in this one."""
    command = [sys.executable, __file__, '--driver', str(frames), str(rate_hz)]
    done = subprocess.run(
        command, capture_output=True, text=True, env=env, timeout=120 + 2 * frames / rate_hz
    )
    lines = done.stdout.strip().splitlines()
    if not lines or not lines[-1].startswith('{'):
        raise RuntimeError(
            f'camera driver process failed ({done.returncode}): {done.stderr.strip()[-800:]}'
        )
    if done.returncode != 0:
        print(
            f'note: the camera driver process exited with {done.returncode} after reporting',
            file=sys.stderr,
        )
    return LoopResult(**json.loads(lines[-1]))


def _driver_main(frames: int, rate_hz: float) -> None:
    rclpy.init()
    driver = CameraDriver()
    executor = SingleThreadedExecutor()
    executor.add_node(driver)
    spinner = threading.Thread(target=executor.spin)
    spinner.start()
    try:
        driver.wait_for_fusion_node(timeout=30.0)
        time.sleep(0.5)  # let the transports finish connecting
        print(json.dumps(asdict(driver.run(frames, rate_hz))), flush=True)
    finally:
        executor.shutdown(timeout_sec=2.0)
        spinner.join(timeout=2.0)
        driver.destroy_node()
        rclpy.try_shutdown()


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    data = np.asarray(values)
    return {
        'p50': float(np.percentile(data, 50)),
        'p95': float(np.percentile(data, 95)),
        'p99': float(np.percentile(data, 99)),
        'max': float(data.max()),
        'mean': float(data.mean()),
    }


def default_backend_params() -> dict:
    """Return the backend parameters: the shipped neural model, else the Laplacian pyramid."""
    from tsjnet_ros.resources import share_dir

    if (share_dir() / 'models' / 'tsjnet_rt.pt').is_file():
        return {'fusion_backend': 'tsjnet'}
    return {'fusion_backend': 'laplacian_pyramid'}


os.environ.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
# A domain of its own: another graph on this machine subscribed to the same topic names
# would receive every benchmark image too and distort the figures.
os.environ.setdefault('ROS_DOMAIN_ID', str(10 + os.getpid() % 90))


if __name__ == '__main__' and len(sys.argv) == 4 and sys.argv[1] == '--driver':
    _driver_main(int(sys.argv[2]), float(sys.argv[3]))
