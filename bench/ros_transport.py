"""Image latency between processes: Fast DDS defaults against config/fastdds_large_images.xml.

A camera driver, rviz2 or any consumer of the fusion node runs in another process, and
rclpy nodes cannot join a C++ component container, so camera images always cross a process
boundary. This publishes sensor_msgs/Image messages from this process and times
publish -> callback in a subscriber in another process (both clocks are CLOCK_MONOTONIC),
once with Fast DDS's built-in transports and once with the shipped profile, for 640x480
mono8 and bgr8 and 1280x720 bgr8 images. The same-process figure is printed for reference.

    .venv/bin/python bench/ros_transport.py [--messages 60] [--rate 10]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time

import numpy as np

from tsjnet_ros.nodes.dds_profile import (
    LEGACY_PROFILE_VARIABLE,
    PROFILE_VARIABLE,
    large_image_profile,
)

IMAGES = {
    '640x480 mono8': (480, 640, 'mono8'),
    '640x480 bgr8': (480, 640, 'bgr8'),
    '1280x720 bgr8': (720, 1280, 'bgr8'),
}
TOPIC = 'bench_transport/image'


def _latency_ms(msg) -> float:
    sent = msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9
    return (time.perf_counter() - sent) * 1000.0


def subscriber(count: int, timeout: float) -> None:
    """Child process: receive ``count`` images (or until ``timeout``), print latencies as JSON."""
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.node import Node
    from sensor_msgs.msg import Image

    rclpy.init()
    node = Node('bench_transport_subscriber')
    latencies: list[float] = []
    node.create_subscription(Image, TOPIC, lambda m: latencies.append(_latency_ms(m)), 10)
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    end = time.monotonic() + timeout
    while len(latencies) < count and time.monotonic() < end:
        executor.spin_once(timeout_sec=0.1)
    print(json.dumps(latencies), flush=True)
    node.destroy_node()
    rclpy.try_shutdown()


def _messages(shape: tuple[int, int, str], count: int):
    from sensor_msgs.msg import Image
    from std_msgs.msg import Header

    from tsjnet_ros.nodes.messages import image_message

    height, width, encoding = shape
    rng = np.random.default_rng(0)
    array = rng.integers(
        0, 256, (height, width, 3) if encoding == 'bgr8' else (height, width), dtype=np.uint8
    )
    return [image_message(array, encoding, Header(frame_id='camera')) for _ in range(count)], Image


def _publish(pub, msgs, rate: float) -> None:
    from builtin_interfaces.msg import Time

    for msg in msgs:
        now = time.perf_counter()
        msg.header.stamp = Time(sec=int(now), nanosec=int((now % 1.0) * 1e9))
        pub.publish(msg)
        time.sleep(1.0 / rate)


def _wait_for_match(pub, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while pub.get_subscription_count() == 0:
        if time.monotonic() > end:
            raise RuntimeError('the subscriber did not match within 10 s')
        time.sleep(0.05)
    time.sleep(0.5)  # let the reader finish its transport set-up


def publisher(shape: tuple[int, int, str], count: int, rate: float) -> None:
    """Child process: publish ``count`` images once a subscriber has matched."""
    import rclpy
    from rclpy.node import Node

    rclpy.init()
    node = Node('bench_transport_publisher')
    msgs, image_type = _messages(shape, count)
    pub = node.create_publisher(image_type, TOPIC, 10)
    _wait_for_match(pub)
    _publish(pub, msgs, rate)
    node.destroy_node()
    rclpy.try_shutdown()


def other_process(shape, count: int, rate: float, env: dict[str, str]) -> list[float]:
    """Run publisher and subscriber each in a fresh process with ``env``.

    Fast DDS reads its profile once per process, when the first participant is created.
    """
    height, width, encoding = shape
    receiver = subprocess.Popen(
        [sys.executable, __file__, '--subscriber', str(count), str(20 + count / rate)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        sender = subprocess.run(
            [
                sys.executable,
                __file__,
                '--publisher',
                str(height),
                str(width),
                encoding,
                str(count),
                str(rate),
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=60 + count / rate,
        )
        out, err = receiver.communicate(timeout=30 + count / rate)
    finally:
        if receiver.poll() is None:
            receiver.kill()
    if sender.returncode != 0:
        raise RuntimeError(f'publisher failed: {sender.stderr.strip()[-500:]}')
    if receiver.returncode != 0:
        raise RuntimeError(f'subscriber failed: {err.strip()[-500:]}')
    return json.loads(out.strip().splitlines()[-1])


def same_process(shape, count: int, rate: float) -> list[float]:
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.node import Node

    context = rclpy.Context()
    rclpy.init(context=context)
    latencies: list[float] = []
    try:
        node = Node('bench_transport_same_process', context=context)
        msgs, image_type = _messages(shape, count)
        node.create_subscription(image_type, TOPIC, lambda m: latencies.append(_latency_ms(m)), 10)
        pub = node.create_publisher(image_type, TOPIC, 10)
        executor = SingleThreadedExecutor(context=context)
        executor.add_node(node)
        spinner = threading.Thread(target=executor.spin, daemon=True)
        spinner.start()
        _wait_for_match(pub)
        _publish(pub, msgs, rate)
        time.sleep(0.5)
        executor.shutdown(timeout_sec=2.0)
        node.destroy_node()
    finally:
        rclpy.try_shutdown(context=context)
    return latencies


def _summary(latencies: list[float], count: int) -> str:
    data = np.asarray(latencies[5:]) if len(latencies) > 5 else np.asarray(latencies)
    if data.size == 0:
        return f'received 0 of {count}'
    return (
        f'p50 {np.percentile(data, 50):6.2f} ms  p95 {np.percentile(data, 95):6.2f} ms  '
        f'(received {len(latencies)} of {count})'
    )


def main() -> int:
    if len(sys.argv) == 4 and sys.argv[1] == '--subscriber':
        subscriber(int(sys.argv[2]), float(sys.argv[3]))
        return 0
    if len(sys.argv) == 7 and sys.argv[1] == '--publisher':
        height, width, encoding, count, rate = sys.argv[2:]
        publisher((int(height), int(width), encoding), int(count), float(rate))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--messages', type=int, default=60)
    parser.add_argument('--rate', type=float, default=10.0, help='images per second')
    args = parser.parse_args()
    os.environ.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
    os.environ.setdefault(
        'ROS_DOMAIN_ID', str(10 + os.getpid() % 90)
    )  # not another graph's topics
    if os.environ.get(PROFILE_VARIABLE) or os.environ.get(LEGACY_PROFILE_VARIABLE):
        print(
            f'unset {PROFILE_VARIABLE} / {LEGACY_PROFILE_VARIABLE} first: this '
            'compares the transports itself'
        )
        return 1
    profile = large_image_profile()
    configurations = {
        'built-in transports': {},
        f'{profile.name}': {PROFILE_VARIABLE: str(profile)},
    }
    print(
        f'{args.messages} images per case at {args.rate:g} Hz, one-way '
        'publish -> callback latency, '
        f'RMW {os.environ.get("RMW_IMPLEMENTATION", "rmw_fastrtps_cpp (default)")}'
    )
    for label, shape in IMAGES.items():
        print(f'{label}:')
        print(
            '  same process (intra-process delivery)   '
            f'{_summary(same_process(shape, args.messages, args.rate), args.messages)}'
        )
        for name, extra in configurations.items():
            latencies = other_process(shape, args.messages, args.rate, {**os.environ, **extra})
            print(f'  other process, {name:24s} {_summary(latencies, args.messages)}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
