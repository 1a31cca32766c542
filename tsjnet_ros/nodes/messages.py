"""Small conversions between ROS messages and the core's plain types."""

from __future__ import annotations

import numpy as np
from builtin_interfaces.msg import Time
from sensor_msgs.msg import Image
from std_msgs.msg import Header

from tsjnet_ros.core.image.image_encoding import fill_image


def stamp_to_ns(stamp: Time) -> int:
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


def ns_to_stamp(ns: int) -> Time:
    return Time(sec=int(ns // 1_000_000_000), nanosec=int(ns % 1_000_000_000))


def image_message(array: np.ndarray, encoding: str, header: Header) -> Image:
    """Build a new Image message holding ``array`` with ``header`` (copied by reference)."""
    msg = Image()
    msg.header = header
    return fill_image(msg, array, encoding)
