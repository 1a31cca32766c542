"""Helpers for tests that run real rclpy nodes in an isolated context."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import numpy as np
import rclpy
from rclpy.context import Context
from rclpy.executors import MultiThreadedExecutor
from rclpy.node import Node
from sensor_msgs.msg import Image
from std_msgs.msg import Header

from tsjnet_ros.core.image.image_encoding import fill_image
from tsjnet_ros.nodes.messages import ns_to_stamp

MS = 1_000_000  # nanoseconds
T0 = 1_700_000_000 * 1_000_000_000  # a plausible wall-clock stamp, ns


class RosGraph:
    """An rclpy context with a background executor; add nodes, then call close()."""

    def __init__(self, args: list[str] | None = None) -> None:
        self.context = Context()
        rclpy.init(context=self.context, args=args)
        self.executor = MultiThreadedExecutor(num_threads=4, context=self.context)
        self.nodes: list[Node] = []
        self._thread = threading.Thread(target=self.executor.spin, daemon=True)
        self._thread.start()

    def add(self, node: Node) -> Node:
        self.nodes.append(node)
        self.executor.add_node(node)
        return node

    def close(self) -> None:
        self.executor.shutdown(timeout_sec=2.0)
        self._thread.join(timeout=5.0)  # no spin in flight while the nodes are destroyed
        for node in self.nodes:
            node.destroy_node()
        rclpy.try_shutdown(context=self.context)


class Collector:
    """Subscribes to a topic and keeps every message."""

    def __init__(self, node: Node, msg_type, topic: str, qos=10) -> None:
        self.messages: list = []
        self._lock = threading.Lock()
        node.create_subscription(msg_type, topic, self._on_msg, qos)

    def _on_msg(self, msg) -> None:
        with self._lock:
            self.messages.append(msg)


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def image_msg(array: np.ndarray, encoding: str, stamp_ns: int, frame_id: str) -> Image:
    msg = Image(header=Header(stamp=ns_to_stamp(stamp_ns), frame_id=frame_id))
    return fill_image(msg, array, encoding)


def wait_for_subscribers(publisher, count: int = 1, timeout: float = 15.0) -> None:
    assert wait_for(lambda: publisher.get_subscription_count() >= count, timeout), (
        'no subscriber matched'
    )


def wait_for_matched(node: Node, timeout: float = 15.0) -> None:
    """Wait until every subscription of ``node`` sees at least one publisher (discovery done)."""
    subs = list(node.subscriptions)
    assert wait_for(
        lambda: all(
            s.get_publisher_count() > 0 for s in subs if s.topic_name != '/parameter_events'
        ),
        timeout,
    ), 'subscriptions did not match their publishers'


class LogSpy:
    """Stands in for a node's logger: records (level, message) and passes each call on."""

    def __init__(self, logger) -> None:
        self._logger = logger
        self.records: list[tuple[str, str]] = []

    def __getattr__(self, name):
        target = getattr(self._logger, name)
        if name not in ('debug', 'info', 'warning', 'warn', 'error', 'fatal'):
            return target

        def log(message, **kwargs):
            self.records.append(('warning' if name == 'warn' else name, str(message)))
            return target(message, **kwargs)

        return log

    def lines(self, level: str) -> list[str]:
        return [m for lvl, m in self.records if lvl == level]


def spy_on_log(node) -> LogSpy:
    spy = LogSpy(node.get_logger())
    node._logger = spy
    return spy


def start_fusion_node(
    graph: RosGraph,
    ir_type=Image,
    vis_type=Image,
    ir_topic='ir/image',
    vis_topic='visible/image',
    **params,
):
    """Start a FusionNode with ``params`` and a probe node publishing to its inputs.

    fusion_backend is max unless given. Returns (fusion, log spy, probe, (IR publisher, visible
    publisher)).
    """
    from rclpy.parameter import Parameter

    from tsjnet_ros.nodes.fusion_node import FusionNode

    params.setdefault('fusion_backend', 'max')
    fusion = graph.add(
        FusionNode(
            context=graph.context,
            parameter_overrides=[Parameter(k, value=v) for k, v in params.items()],
        )
    )
    log = spy_on_log(fusion)
    probe = graph.add(Node('probe', context=graph.context))
    pubs = (
        probe.create_publisher(ir_type, ir_topic, 10),
        probe.create_publisher(vis_type, vis_topic, 10),
    )
    wait_for_matched(fusion)
    return fusion, log, probe, pubs


def send_pairs(pubs, ir_msgs, vis_msgs) -> None:
    """Publish visible then IR of each pair, 150 ms apart (the node fuses each before the next)."""
    for ir, vis in zip(ir_msgs, vis_msgs):
        pubs[1].publish(vis)
        pubs[0].publish(ir)
        time.sleep(0.15)


def play_paced(fusion, pubs, frames, timeout: float = 10.0) -> None:
    """Publish ``frames`` ((stream, message) with stream 0 IR, 1 visible) in order, paced.

    Each goes out once the fusion node has received the previous one and fused (or failed) every
    pair it completed, so no pair is skipped: the live counterpart of the synchronous offline
    stream.
    """
    sent = [0, 0]
    for stream, msg in frames:
        pubs[stream].publish(msg)
        sent[stream] += 1

        def settled() -> bool:
            s = fusion.stats()
            return s.received[stream] >= sent[stream] and s.fused + s.skipped + s.errors >= s.pairs

        assert wait_for(settled, timeout), fusion.stats()
