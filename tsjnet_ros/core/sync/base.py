"""What every synchronisation policy shares: per-stream ordering checks and counters."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

NS_PER_S = 1_000_000_000


@dataclass
class SyncStats:
    """Counters per stream (index = stream) plus sets emitted.

    ``dropped`` counts messages that left the synchroniser without being used in a set
    (queue overflow, unmatched, superseded or stale), ``overflow`` the part of them pushed
    out of a full queue; ``out_of_order`` counts messages
    refused because their stamp went backwards on their own stream; ``resets`` counts
    large backward jumps treated as a clock reset (e.g. a bag restarting).
    """

    received: list[int]
    dropped: list[int]
    out_of_order: list[int]
    overflow: list[int] = field(default_factory=lambda: [0, 0])
    emitted: int = 0
    resets: int = 0

    @classmethod
    def for_streams(cls, n: int) -> SyncStats:
        return cls(received=[0] * n, dropped=[0] * n, out_of_order=[0] * n, overflow=[0] * n)


@dataclass(frozen=True)
class Stamped:
    """One queued message: stamp in integer nanoseconds and the caller's payload."""

    stamp: int
    item: Any = field(compare=False)


class SyncPolicy:
    """Base class: validates stream indices and stamp order, keeps :class:`SyncStats`.

    A stamp older than the newest one already seen on the same stream cannot be placed in
    time order, so it is refused and counted. A jump back by more than ``reset_after``
    seconds is a clock reset (bag loop, simulator restart): all queues are cleared and the
    message starts a new timeline.
    """

    def __init__(self, num_streams: int = 2, reset_after: float = 1.0) -> None:
        if num_streams < 2:
            raise ValueError(f'need at least 2 streams to synchronise, got {num_streams}')
        if reset_after <= 0:
            raise ValueError(f'reset_after must be > 0 seconds, got {reset_after}')
        self.num_streams = num_streams
        self.reset_after_ns = int(round(reset_after * NS_PER_S))
        self.stats = SyncStats.for_streams(num_streams)
        self._newest: list[int | None] = [None] * num_streams

    def add(self, stream: int, stamp_ns: int, item: Any = None) -> list[tuple[Any, ...]]:
        """Offer one message; returns the sets (tuples of items, stream order) now complete."""
        if not 0 <= stream < self.num_streams:
            raise IndexError(f'stream {stream} out of range 0..{self.num_streams - 1}')
        stamp_ns = int(stamp_ns)
        self.stats.received[stream] += 1
        newest = self._newest[stream]
        if newest is not None and stamp_ns < newest:
            if newest - stamp_ns > self.reset_after_ns:
                self.reset()
                self.stats.resets += 1
            else:
                self.stats.out_of_order[stream] += 1
                return []
        self._newest[stream] = stamp_ns
        sets = self._add(stream, Stamped(stamp_ns, item))
        self.stats.emitted += len(sets)
        return sets

    def reset(self) -> None:
        """Forget every queued message (counted as dropped) and the per-stream order."""
        for stream, count in enumerate(self._queued_counts()):
            self.stats.dropped[stream] += count
        self._clear()
        self._newest = [None] * self.num_streams

    def _add(self, stream: int, message: Stamped) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def _queued_counts(self) -> Sequence[int]:
        raise NotImplementedError

    def _clear(self) -> None:
        raise NotImplementedError
