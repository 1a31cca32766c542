"""Approximate-time synchronisation with the semantics of ROS's C++ ``ApproximateTime``.

The algorithm (message_filters, after R. Thibaux) finds, among queued messages, sets with
one message per stream whose stamp spread is minimal; each message is used at most once,
sets come out in time order, and a set is emitted as soon as no future message can
produce a better one. This is a Python restatement of that algorithm's rules:

- The *pivot* is the stream whose head message ends the first candidate interval; every
  later candidate for this pivot must contain the pivot's message.
- A candidate is replaced when a later interval is narrower (with ``age_penalty``
  favouring older sets, default 0.1 as in ROS).
- A candidate is published when the start of the window reaches the pivot, when any
  later interval is provably wider, or when the optimistic *virtual* search (streams
  without queued messages assumed to arrive at ``max(last + lower_bound, pivot)``)
  proves optimality.
- ``queue_size`` bounds queued + looked-past messages per stream; overflow drops that
  stream's oldest message and cancels the candidate.
- ``max_interval`` (seconds, ``None`` = unbounded) rejects sets wider than it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Any

from tsjnet_ros.core.sync.base import NS_PER_S, Stamped, SyncPolicy


class ApproximateTimeSynchronizer(SyncPolicy):
    """Best-interval matching across ``num_streams`` streams (see module docstring)."""

    def __init__(
        self,
        num_streams: int = 2,
        queue_size: int = 10,
        max_interval: float | None = None,
        age_penalty: float = 0.1,
        inter_message_lower_bounds: Sequence[float] | None = None,
        reset_after: float = 1.0,
    ) -> None:
        super().__init__(num_streams, reset_after)
        if queue_size < 1:
            raise ValueError(f'queue_size must be >= 1, got {queue_size}')
        if max_interval is not None and max_interval < 0:
            raise ValueError(f'max_interval must be >= 0 seconds, got {max_interval}')
        if age_penalty < 0:
            raise ValueError(f'age_penalty must be >= 0, got {age_penalty}')
        bounds = inter_message_lower_bounds or [0.0] * num_streams
        if len(bounds) != num_streams or any(b < 0 for b in bounds):
            raise ValueError('inter_message_lower_bounds needs one value >= 0 per stream')
        self.queue_size = queue_size
        self.max_interval_ns = (
            None if max_interval is None else int(round(max_interval * NS_PER_S))
        )
        self.age_penalty = age_penalty
        self._lower_bounds = [int(round(b * NS_PER_S)) for b in bounds]
        self._clear()

    # -- state -----------------------------------------------------------------------
    def _clear(self) -> None:
        n = self.num_streams
        self._deques: list[deque[Stamped]] = [deque() for _ in range(n)]
        self._past: list[list[Stamped]] = [[] for _ in range(n)]
        self._candidate: list[Stamped] | None = None
        self._candidate_start = 0
        self._candidate_end = 0
        self._pivot: int | None = None
        self._pivot_time = 0
        self._has_dropped = [False] * n
        self._out: list[tuple[Any, ...]] = []

    def _queued_counts(self) -> list[int]:
        return [len(q) + len(p) for q, p in zip(self._deques, self._past)]

    def _all_non_empty(self) -> bool:
        return all(self._deques)

    # -- input -----------------------------------------------------------------------
    def _add(self, stream: int, message: Stamped) -> list[tuple[Any, ...]]:
        self._out = []
        queue = self._deques[stream]
        queue.append(message)
        if len(queue) == 1 and self._all_non_empty():
            self._process()
        if len(queue) + len(self._past[stream]) > self.queue_size:
            self._recover_all()
            queue.popleft()
            self.stats.dropped[stream] += 1
            self.stats.overflow[stream] += 1
            self._has_dropped[stream] = True
            if self._pivot is not None:
                self._candidate = None
                self._pivot = None
                self._process()
        return self._out

    # -- deque moves -----------------------------------------------------------------
    def _delete_front(self, stream: int) -> None:
        self._deques[stream].popleft()
        self.stats.dropped[stream] += 1

    def _move_front_to_past(self, stream: int) -> None:
        self._past[stream].append(self._deques[stream].popleft())

    def _recover(self, stream: int, count: int | None = None) -> None:
        past, queue = self._past[stream], self._deques[stream]
        count = len(past) if count is None else count
        for _ in range(count):
            queue.appendleft(past.pop())

    def _recover_all(self) -> None:
        for stream in range(self.num_streams):
            self._recover(stream)

    def _make_candidate(self) -> None:
        self._candidate = [q[0] for q in self._deques]
        for stream, past in enumerate(self._past):
            self.stats.dropped[stream] += len(past)
            past.clear()

    def _publish_candidate(self) -> None:
        assert self._candidate is not None
        self._out.append(tuple(m.item for m in self._candidate))
        self._candidate = None
        self._pivot = None
        for stream in range(self.num_streams):
            self._recover(stream)
            self._deques[stream].popleft()  # the published message: used, not dropped

    # -- interval bounds -------------------------------------------------------------
    @staticmethod
    def _boundary(times: Sequence[int], end: bool) -> tuple[int, int]:
        """(index, time) of the earliest (end=False) or latest (end=True) time.

        Ties resolve like the C++ code: the first stream for the start, the last for the end.
        """
        index, time = 0, times[0]
        for i, t in enumerate(times):
            if (t < time) != end and i > 0:
                index, time = i, t
        return index, time

    def _virtual_time(self, stream: int) -> int:
        queue = self._deques[stream]
        if queue:
            return queue[0].stamp
        bound = self._past[stream][-1].stamp + self._lower_bounds[stream]
        return max(bound, self._pivot_time)

    def _penalised(self, delta: int) -> float:
        return delta * (1.0 + self.age_penalty)

    # -- the matching loop -----------------------------------------------------------
    def _process(self) -> None:
        while self._all_non_empty():
            heads = [q[0].stamp for q in self._deques]
            end_index, end_time = self._boundary(heads, end=True)
            start_index, start_time = self._boundary(heads, end=False)
            for stream in range(self.num_streams):
                if stream != end_index:
                    self._has_dropped[stream] = False
            if self._pivot is None:
                too_wide = (
                    self.max_interval_ns is not None
                    and end_time - start_time > self.max_interval_ns
                )
                if too_wide or self._has_dropped[end_index]:
                    self._delete_front(start_index)
                    continue
                self._make_candidate()
                self._candidate_start, self._candidate_end = start_time, end_time
                self._pivot, self._pivot_time = end_index, end_time
                self._move_front_to_past(start_index)
            else:
                if (
                    self._penalised(end_time - self._candidate_end)
                    < start_time - self._candidate_start
                ):
                    self._make_candidate()
                    self._candidate_start, self._candidate_end = start_time, end_time
                self._move_front_to_past(start_index)

            if start_index == self._pivot:
                self._publish_candidate()
            elif (
                self._penalised(end_time - self._candidate_end)
                >= self._pivot_time - self._candidate_start
            ):
                self._publish_candidate()
            elif not self._all_non_empty():
                self._virtual_search()

    def _virtual_search(self) -> None:
        """Try to prove the candidate optimal using optimistic arrival times (rate bounds)."""
        moves = [0] * self.num_streams
        while True:
            times = [self._virtual_time(s) for s in range(self.num_streams)]
            _, end_time = self._boundary(times, end=True)
            start_index, start_time = self._boundary(times, end=False)
            end_delta = self._penalised(end_time - self._candidate_end)
            if end_delta >= self._pivot_time - self._candidate_start:
                self._publish_candidate()
                return
            if end_delta < start_time - self._candidate_start:
                for stream in range(self.num_streams):
                    self._recover(stream, moves[stream])
                return
            self._move_front_to_past(start_index)
            moves[start_index] += 1
