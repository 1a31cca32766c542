"""Entry-point helper: run one node class until Ctrl-C, shutting down cleanly."""

from __future__ import annotations

import threading
from typing import Any, Callable, Sequence

import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node

from tsjnet_ros.core.large_buffers import keep_large_buffers_in_heap
from tsjnet_ros.nodes.dds_profile import use_large_image_profile


def spin_node(factory: Callable[[], Node], args: list[str] | None = None) -> None:
    keep_large_buffers_in_heap()  # every node here moves image-sized messages
    use_large_image_profile()  # ... and exchanges them with other processes
    rclpy.init(args=args)
    node = None
    try:
        node = factory()
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()


def stop_graph(executor: Any, spinner: threading.Thread | None, nodes: Sequence[Node], context: Any = None) -> None:
    """Stop a graph spun on ``spinner``: the executor first (and its thread joined), then the
    nodes in reverse start order (consumers before producers), then the context.

    Destroying a node while the executor still runs one of its callbacks is what raises
    ``InvalidHandle: ... destruction was requested`` at shutdown.
    """
    executor.shutdown(timeout_sec=5.0)
    if spinner is not None:
        spinner.join(timeout=5.0)
    for node in reversed(list(nodes)):
        node.destroy_node()
    rclpy.try_shutdown(context=context)
