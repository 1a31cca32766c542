"""Latest-message synchronisation: pair the newest message of each stream within a slop.

For live perception where freshness beats completeness: only the newest message per
stream is held, a set is emitted as soon as the held messages span at most ``slop``,
and a held message that can no longer be matched (older than the newest of another
stream by more than ``slop``; stamps only grow) is dropped as stale.
"""

from __future__ import annotations

from typing import Any

from tsjnet_ros.core.sync.base import NS_PER_S, Stamped, SyncPolicy


class LatestTimeSynchronizer(SyncPolicy):
    """Newest-of-each pairing within ``slop`` seconds (see module docstring)."""

    def __init__(self, num_streams: int = 2, slop: float = 0.05, reset_after: float = 1.0) -> None:
        super().__init__(num_streams, reset_after)
        if slop < 0:
            raise ValueError(f'slop must be >= 0 seconds, got {slop}')
        self.slop_ns = int(round(slop * NS_PER_S))
        self._clear()

    def _clear(self) -> None:
        self._held: list[Stamped | None] = [None] * self.num_streams

    def _queued_counts(self) -> list[int]:
        return [0 if m is None else 1 for m in self._held]

    def _add(self, stream: int, message: Stamped) -> list[tuple[Any, ...]]:
        if self._held[stream] is not None:
            self.stats.dropped[stream] += 1  # superseded by a newer message
        self._held[stream] = message
        newest = max(m.stamp for m in self._held if m is not None)
        for other, held in enumerate(self._held):
            if held is not None and newest - held.stamp > self.slop_ns:
                self.stats.dropped[other] += 1  # stale: nothing newer can match it
                self._held[other] = None
        if all(m is not None for m in self._held):
            items = tuple(m.item for m in self._held)  # type: ignore[union-attr]
            self._clear()
            return [items]
        return []
