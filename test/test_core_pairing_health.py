"""PairingMonitor names every reason why camera images arrive but no (or wrong) pairs come out."""

from __future__ import annotations

import math

from tsjnet_ros.core.sync import create_synchronizer
from tsjnet_ros.core.sync.pairing_health import PairingMonitor

S = 1_000_000_000
T0 = 1_700_000_000 * S


def feed(monitor, sync, events):
    """events: (stream, stamp_ns, arrival_s) in arrival order; returns the pairs made."""
    pairs = []
    for stream, stamp, arrival in events:
        pairs += sync.add(
            stream, monitor.observe(stream, stamp, arrival), (stream, stamp, arrival)
        )
    return pairs


def causes(problems):
    return {p.cause: p for p in problems}


def camera(stream, rate, count, stamp0, arrival0=0.0, lag=0.0):
    return [(stream, stamp0 + int(k * S / rate), arrival0 + k / rate + lag) for k in range(count)]


def merged(*streams):
    return sorted((e for s in streams for e in s), key=lambda e: e[2])


def test_healthy_pair_of_cameras_has_no_problem():
    monitor, sync = PairingMonitor(slop=0.05), create_synchronizer('approximate', slop=0.05)
    pairs = feed(monitor, sync, merged(camera(0, 30, 60, T0 + 4_000_000), camera(1, 30, 60, T0)))
    assert len(pairs) >= 58
    assert monitor.problems(2.0, sync.stats, publishers=(1, 1)) == []


def test_ir_clock_37_s_behind_is_named_with_offset_and_slop():
    monitor, sync = PairingMonitor(slop=0.05), create_synchronizer('approximate', slop=0.05)
    pairs = feed(monitor, sync, merged(camera(0, 30, 60, T0 - 37 * S), camera(1, 30, 60, T0)))
    assert pairs == []
    problem = causes(monitor.problems(2.0, sync.stats))['clock_offset']
    assert (
        'IR and visible stamps are 37.0 s apart (slop 0.05 s): check the camera clocks'
        in problem.message
    )
    assert 'behind' in problem.message
    assert problem.values['ir - visible stamp (s)'] == '-37.000'


def test_cameras_not_triggered_together_are_told_apart_from_clock_offset():
    monitor, sync = PairingMonitor(slop=0.01), create_synchronizer('approximate', slop=0.01)
    feed(monitor, sync, merged(camera(0, 10, 30, T0 + 50_000_000), camera(1, 10, 30, T0)))
    problem = causes(monitor.problems(3.0, sync.stats))['stamps_apart']
    assert '50 ms apart (slop 10 ms, one frame 100 ms)' in problem.message


def test_zero_stamps_pair_by_arrival_time_not_queue_position():
    """VIS1 and VIS2 arrive alone, then IR1 with VIS3: IR1 belongs with VIS3."""
    monitor, sync = PairingMonitor(slop=0.05), create_synchronizer('approximate', slop=0.05)
    events = [
        (1, 0, 10.0),
        (1, 0, 10.3),
        (1, 0, 10.6),
        (0, 0, 10.6),
        (1, 0, 10.9),
        (0, 0, 10.9),
        (1, 0, 11.2),
    ]
    pairs = feed(monitor, sync, events)
    assert [(ir[2], vis[2]) for ir, vis in pairs][:1] == [(10.6, 10.6)]
    problem = causes(monitor.problems(11.2, sync.stats))['zero_stamps']
    assert problem.message.startswith('IR and visible header.stamp are 0')
    assert problem.values == {'ir zero stamps': '2', 'visible zero stamps': '5'}


def test_one_camera_only_and_no_camera_at_all():
    monitor = PairingMonitor(slop=0.05, timeout=1.0)
    monitor.start(0.0)
    found = causes(monitor.problems(1.5, publishers=(0, 0)))
    assert 'no_input' in found and 'no camera publishes' in found['no_input'].message
    found = causes(monitor.problems(1.5, publishers=(1, 1)))
    assert 'publishers exist but send nothing' in found['no_input'].message
    for stream, stamp, arrival in camera(1, 30, 60, T0, arrival0=0.0):
        monitor.observe(stream, stamp, arrival)
    found = causes(monitor.problems(2.0, publishers=(0, 1)))
    assert set(found) == {'no_ir'}
    assert (
        'no IR images for 2.0 s while visible images arrive at 30.0 Hz; 0 publisher(s) on ir/image'
        in found['no_ir'].message
    )


def test_a_silent_camera_is_not_blamed_on_queue_size():
    """Visible alone fills its pairing queue whatever its size: only no_ir is named."""
    monitor = PairingMonitor(slop=0.05, timeout=1.0, queue_size=10)
    monitor.start(0.0)
    sync = create_synchronizer('approximate', queue_size=10, slop=0.05)
    feed(monitor, sync, camera(1, 30, 60, T0))
    assert sum(sync.stats.overflow) > 0
    assert set(causes(monitor.problems(2.0, sync.stats, publishers=(1, 1)))) == {'no_ir'}


def test_incompatible_qos_and_message_type_are_named():
    monitor = PairingMonitor(slop=0.05, topics=('/thermal/image', '/color/image'))
    monitor.note_incompatible(0, qos_policy='RELIABILITY')
    monitor.note_incompatible(
        1, offered_type='sensor_msgs/msg/CompressedImage', expected_type='sensor_msgs/msg/Image'
    )
    found = causes(monitor.problems(0.5))
    assert 'QoS incompatible with input_qos (RELIABILITY)' in found['incompatible_ir'].message
    assert (
        '/color/image sends another message type, '
        'sensor_msgs/msg/CompressedImage (sensor_msgs/msg/Image '
        'expected)' in found['incompatible_visible'].message
    )


def test_queue_too_short_for_a_late_camera_is_named_with_the_needed_size():
    """IR arrives 0.4 s after visible frames of the same stamp: 2 slots cannot bridge that."""
    monitor = PairingMonitor(slop=0.05, queue_size=2)
    sync = create_synchronizer('approximate', queue_size=2, slop=0.05)
    pairs = feed(monitor, sync, merged(camera(0, 30, 60, T0, lag=0.4), camera(1, 30, 60, T0)))
    assert len(pairs) < 30
    problem = causes(monitor.problems(2.4, sync.stats))['queue_overflow_visible']
    assert (
        'queue_size 2 holds 0.07 s at 30.0 Hz; the IR images arrive 0.40 s later'
        in problem.message
    )
    assert 'raise queue_size to at least 14' in problem.message


def test_dropped_frames_from_stamp_gaps_and_transport_losses():
    monitor, sync = PairingMonitor(slop=0.05), create_synchronizer('approximate', slop=0.05)
    ir = [e for k, e in enumerate(camera(0, 30, 60, T0)) if k % 4 != 3]  # every 4th IR frame lost
    feed(monitor, sync, merged(ir, camera(1, 30, 60, T0)))
    monitor.note_lost(1, 3, 1.9)
    found = causes(monitor.problems(2.0, sync.stats))
    assert '14 missing from the last 45 stamps' in found['drops_ir'].message
    assert '3 lost in transport' in found['drops_visible'].message


def test_out_of_order_and_clock_reset_are_named_then_expire():
    monitor = PairingMonitor(slop=0.05, timeout=1.0)
    sync = create_synchronizer('approximate', slop=0.05)
    feed(monitor, sync, [(0, T0, 0.0), (1, T0, 0.0), (0, T0 - S // 10, 0.1), (1, T0 - 5 * S, 0.2)])
    found = causes(monitor.problems(0.3, sync.stats))
    assert {'out_of_order', 'clock_reset'} <= set(found)
    assert '1 IR and 0 visible images' in found['out_of_order'].message
    later = causes(monitor.problems(5.0, sync.stats))  # nothing new since: no longer active
    assert 'out_of_order' not in later and 'clock_reset' not in later


def test_offline_use_reports_anything_seen_in_the_whole_recording():
    monitor = PairingMonitor(slop=0.05, timeout=math.inf)
    sync = create_synchronizer('approximate', queue_size=2, slop=0.05)
    feed(monitor, sync, merged(camera(0, 30, 60, T0, lag=0.4), camera(1, 30, 60, T0)))
    assert 'queue_overflow_visible' in causes(monitor.problems(1000.0, sync.stats))
