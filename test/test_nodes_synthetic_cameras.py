"""The synthetic cameras stamp exposures on their own clock, as a real camera does."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from rclpy.parameter import Parameter
from ros_harness import RosGraph

from tsjnet_ros.nodes.synthetic_cameras import MAX_CATCH_UP, SyntheticCamerasNode

PERIOD = 50_000_000  # ns, 20 Hz
T = 1_000 * PERIOD


@pytest.fixture
def cameras():
    graph = RosGraph()  # not spun: the test calls the capture callback itself
    node = SyntheticCamerasNode(
        context=graph.context,
        parameter_overrides=[
            Parameter('jitter', value=0.0),
            Parameter('visible_rate', value=20.0),
            Parameter('width', value=64),
            Parameter('height', value=48),
        ],
    )
    yield node
    node.destroy_node()
    graph.close()


def test_stamps_are_scheduled_slots_and_skipped_slots_are_caught_up(cameras):
    now = [0]
    cameras.get_clock = lambda: SimpleNamespace(now=lambda: SimpleNamespace(nanoseconds=now[0]))
    # the timer was due at the slot; the callback runs 20 ms late each time
    late = 20_000_000
    fake_timer = SimpleNamespace(
        timer_period_ns=PERIOD, time_until_next_call=lambda: PERIOD - late
    )
    cameras._camera_timers = (fake_timer, fake_timer)
    stamps = []
    cameras._pubs = (None, SimpleNamespace(publish=lambda m: stamps.append(m.header.stamp)))
    for slot in (0, 1, 4, 20):  # rcl skipped slots 2-3 and 5-19 (a busy executor)
        now[0] = T + slot * PERIOD + late
        cameras._capture(1)
    slots = [(s.sec * 1_000_000_000 + s.nanosec - T) / PERIOD for s in stamps]
    caught_up = list(range(20 - MAX_CATCH_UP, 21))
    assert slots == [0, 1, 2, 3, 4, *caught_up]  # a gap stays where the catch-up ends
    assert cameras.sent[1] == len(slots)
