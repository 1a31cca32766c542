"""QoS profiles from a parameter string, so topics' QoS is set in YAML like anything else.

Format: ``PRESET[:DEPTH]`` where PRESET is one of rclpy's presets (``SENSOR_DATA``,
``DEFAULT``, ``SYSTEM_DEFAULT``, ``BEST_AVAILABLE``, ...) or ``RELIABLE`` /
``BEST_EFFORT`` (keep-last, volatile), and DEPTH overrides the history depth.
"""

from __future__ import annotations

import copy

from rclpy.event_handler import PublisherEventCallbacks
from rclpy.qos import (
    HistoryPolicy,
    QoSPresetProfiles,
    QoSProfile,
    ReliabilityPolicy,
)

_EXTRA = {
    'RELIABLE': QoSProfile(
        depth=10, history=HistoryPolicy.KEEP_LAST, reliability=ReliabilityPolicy.RELIABLE
    ),
    'BEST_EFFORT': QoSProfile(
        depth=5, history=HistoryPolicy.KEEP_LAST, reliability=ReliabilityPolicy.BEST_EFFORT
    ),
}


def qos_names() -> list[str]:
    """Every accepted preset name."""
    presets = [n for n in QoSPresetProfiles.__members__ if n != 'UNKNOWN']
    return sorted(set(presets) | set(_EXTRA))


def qos_from_string(text: str) -> QoSProfile:
    """Parse ``PRESET[:DEPTH]`` (case-insensitive); ValueError names the accepted forms."""
    name, _, depth_text = text.strip().partition(':')
    name = name.strip().upper()
    if name in _EXTRA:
        profile = copy.copy(_EXTRA[name])
    elif name in QoSPresetProfiles.__members__ and name != 'UNKNOWN':
        profile = copy.copy(QoSPresetProfiles[name].value)
    else:
        raise ValueError(f'unknown QoS {text!r}; use PRESET[:DEPTH] with PRESET in {qos_names()}')
    if depth_text:
        try:
            depth = int(depth_text)
        except ValueError:
            raise ValueError(f'QoS depth must be an integer in {text!r}') from None
        if depth < 1:
            raise ValueError(f'QoS depth must be >= 1 in {text!r}')
        profile.history = HistoryPolicy.KEEP_LAST
        profile.depth = depth
    return profile


def quiet_publisher_events() -> PublisherEventCallbacks:
    """Return publisher event callbacks without rclpy's default incompatible-QoS/type warnings.

    Each default callback is a wait-set entry, and rclpy's executor rebuilds the whole wait
    set in Python on every wake-up: with two per publisher they were more than half of the
    fusion node's entries, paid on several wake-ups per frame (``bench/ros_loop.py``). The
    subscribing side (rviz2, ``ros2 topic echo``, other nodes) still reports an
    incompatible QoS; our own subscriptions keep their warnings.
    """
    return PublisherEventCallbacks(use_default_callbacks=False)
