"""ApproximateTime policy on crafted stamp streams with exact expected pairings."""

from __future__ import annotations

import numpy as np
import pytest

from tsjnet_ros.core.sync import ApproximateTimeSynchronizer, create_synchronizer

MS = 1_000_000  # nanoseconds


def feed(sync, events):
    """events: (arrival_time, stream, stamp_ns). Returns emitted pairs as stamp tuples."""
    out = []
    for _, stream, stamp in sorted(events, key=lambda e: (e[0], e[1])):
        out.extend(sync.add(stream, stamp, stamp))
    return out


def stream_events(stamps, stream, latency_ns=0):
    return [(s + latency_ns, stream, s) for s in stamps]


def test_equal_rates_with_jitter_pair_frame_by_frame():
    rng = np.random.default_rng(3)
    ir = [k * 100 * MS + int(rng.integers(-5, 6)) * MS for k in range(20)]
    vis = [k * 100 * MS + 3 * MS + int(rng.integers(-5, 6)) * MS for k in range(20)]
    sync = ApproximateTimeSynchronizer(queue_size=10, max_interval=0.05)
    pairs = feed(sync, stream_events(ir, 0) + stream_events(vis, 1))
    # the last pair can only be proven best once a later frame exists
    assert pairs[:19] == list(zip(ir[:19], vis[:19]))
    assert len(pairs) in (19, 20)


def test_9hz_ir_with_30hz_visible_picks_nearest_visible_frame():
    ir = [round(k * 1e9 / 9) for k in range(19)]
    vis = [round(j * 1e9 / 30) + 2 * MS for j in range(60)]
    sync = ApproximateTimeSynchronizer(queue_size=10)
    pairs = feed(sync, stream_events(ir, 0) + stream_events(vis, 1))
    expected = []
    for t in ir:
        distances = [abs(v - t) for v in vis]
        nearest = int(np.argmin(distances))
        second = sorted(distances)[1]
        assert second - distances[nearest] > 3 * MS  # no borderline ties in this stream
        expected.append((t, vis[nearest]))
    assert pairs == expected[: len(pairs)]
    assert len(pairs) >= 18
    # every visible frame not used is accounted for as dropped (or still queued)
    assert sync.stats.emitted == len(pairs)
    assert sync.stats.dropped[1] + len(pairs) + sum(1 for v in vis if v > pairs[-1][1]) >= 58


def test_dropped_frames_leave_their_partners_unpaired():
    ir = [k * 100 * MS for k in range(10)]
    vis = [k * 100 * MS + 2 * MS for k in range(10) if k not in (3, 4)]
    sync = ApproximateTimeSynchronizer(queue_size=10, max_interval=0.05)
    pairs = feed(sync, stream_events(ir, 0) + stream_events(vis, 1))
    expected = [(k * 100 * MS, k * 100 * MS + 2 * MS) for k in range(10) if k not in (3, 4)]
    assert pairs == expected[: len(pairs)] and len(pairs) >= 7
    assert sync.stats.dropped[0] >= 2  # IR frames 3 and 4 never used


def test_max_interval_rejects_sets_too_far_apart():
    sync = ApproximateTimeSynchronizer(queue_size=10, max_interval=0.01)
    ir = [k * 100 * MS for k in range(6)]
    vis = [k * 100 * MS + 30 * MS for k in range(6)]  # always 30 ms apart
    assert feed(sync, stream_events(ir, 0) + stream_events(vis, 1)) == []
    assert sum(sync.stats.dropped) > 0


@pytest.mark.parametrize('queue_size,first_pair', [(10, 0), (5, 5)])
def test_bursts_respect_queue_size(queue_size, first_pair):
    ir = [k * 33 * MS for k in range(10)]
    vis = [k * 33 * MS for k in range(10)]
    # the whole IR burst arrives before any visible frame
    events = [(0, 0, s) for s in ir] + [(1, 1, s) for s in vis]
    sync = ApproximateTimeSynchronizer(queue_size=queue_size)
    pairs = feed(sync, events)
    assert pairs == [(ir[k], vis[k]) for k in range(first_pair, 10)]
    assert sync.stats.dropped[0] == first_pair


def test_arrival_delay_between_cameras_does_not_change_pairs():
    ir = [k * 50 * MS + 4 * MS for k in range(30)]
    vis = [k * 50 * MS for k in range(30)]
    in_order = feed(ApproximateTimeSynchronizer(), stream_events(ir, 0) + stream_events(vis, 1))
    # IR is delivered 120 ms late (out of order relative to visible)
    late_ir = feed(
        ApproximateTimeSynchronizer(), stream_events(ir, 0, 120 * MS) + stream_events(vis, 1)
    )
    assert late_ir[: len(in_order) - 1] == in_order[:-1]
    assert in_order[:29] == list(zip(ir, vis))[:29]


def test_each_message_used_once_and_sets_in_time_order():
    rng = np.random.default_rng(0)
    ir = np.cumsum(rng.integers(20, 60, 200)) * MS
    vis = np.cumsum(rng.integers(10, 40, 300)) * MS
    sync = ApproximateTimeSynchronizer(queue_size=8, max_interval=0.03)
    pairs = feed(sync, stream_events(ir.tolist(), 0) + stream_events(vis.tolist(), 1))
    assert len(pairs) > 100
    for stream in (0, 1):
        used = [p[stream] for p in pairs]
        assert len(set(used)) == len(used)
        assert used == sorted(used)
    assert all(abs(a - b) <= 30 * MS for a, b in pairs)


def test_stamp_going_backwards_is_refused_and_counted():
    sync = ApproximateTimeSynchronizer()
    sync.add(0, 100 * MS, 'a')
    assert sync.add(0, 50 * MS, 'late') == []
    assert sync.stats.out_of_order == [1, 0]
    assert sync.add(1, 100 * MS, 'b') in ([('a', 'b')], [])


def test_large_backward_jump_is_a_clock_reset():
    sync = ApproximateTimeSynchronizer()
    for k in range(3):
        sync.add(0, 10_000 * MS + k * 100 * MS)
    sync.add(0, 100 * MS, 'restart')  # bag looped: 10 s back
    assert sync.stats.resets == 1
    assert sync.stats.dropped[0] == 3
    pairs = sync.add(1, 100 * MS, 'vis')
    pairs += sync.add(0, 200 * MS, 'x') + sync.add(1, 200 * MS, 'y')
    assert ('restart', 'vis') in pairs


def test_three_streams():
    sync = ApproximateTimeSynchronizer(num_streams=3)
    events = []
    for k in range(5):
        events += [(k, 0, k * 100 * MS), (k, 1, k * 100 * MS + MS), (k, 2, k * 100 * MS + 2 * MS)]
    pairs = feed(sync, events)
    assert pairs[:4] == [
        (k * 100 * MS, k * 100 * MS + MS, k * 100 * MS + 2 * MS) for k in range(4)
    ]


def test_invalid_arguments():
    with pytest.raises(ValueError, match='queue_size'):
        ApproximateTimeSynchronizer(queue_size=0)
    with pytest.raises(ValueError, match='at least 2 streams'):
        ApproximateTimeSynchronizer(num_streams=1)
    with pytest.raises(IndexError, match='stream 2'):
        ApproximateTimeSynchronizer().add(2, 0)
    with pytest.raises(ValueError, match="unknown sync policy 'exact'"):
        create_synchronizer('exact')
