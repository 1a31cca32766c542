"""Entry-point helper: run one node class until Ctrl-C, shutting down cleanly."""

from __future__ import annotations

from typing import Callable

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
