"""Latest policy: newest of each stream within slop, stale messages dropped."""

from __future__ import annotations

from tsjnet_ros.core.sync import LatestTimeSynchronizer, create_synchronizer

MS = 1_000_000


def test_pairs_newest_within_slop():
    sync = LatestTimeSynchronizer(slop=0.02)
    assert sync.add(0, 0, 'ir0') == []
    assert sync.add(0, 33 * MS, 'ir1') == []  # supersedes ir0
    assert sync.add(1, 40 * MS, 'vis0') == [('ir1', 'vis0')]
    assert sync.stats.dropped == [1, 0]
    assert sync.stats.emitted == 1


def test_stale_message_is_dropped_not_paired():
    sync = LatestTimeSynchronizer(slop=0.02)
    sync.add(0, 0, 'ir0')
    # visible frame 100 ms later: ir0 can never match anything newer
    assert sync.add(1, 100 * MS, 'vis0') == []
    assert sync.stats.dropped == [1, 0]
    assert sync.add(0, 110 * MS, 'ir1') == [('ir1', 'vis0')]


def test_fast_and_slow_camera():
    sync = LatestTimeSynchronizer(slop=0.02)
    pairs = []
    events = [(k * 33 * MS, 1) for k in range(30)] + [(k * 111 * MS + 5 * MS, 0) for k in range(9)]
    for stamp, stream in sorted(events):
        pairs += sync.add(stream, stamp, stamp)
    assert len(pairs) == 9
    assert all(abs(a - b) <= 20 * MS for a, b in pairs)
    assert [a for a, _ in pairs] == [k * 111 * MS + 5 * MS for k in range(9)]


def test_factory_passes_slop():
    sync = create_synchronizer('latest', slop=0.001)
    sync.add(0, 0, 'a')
    assert sync.add(1, 2 * MS, 'b') == []
