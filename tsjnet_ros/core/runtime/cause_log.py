"""Rate limiting by cause, so one repeated problem never hides a different one.

rclpy's ``throttle_duration_sec`` throttles per call site: when two cameras send two
different bad encodings through one ``logger.error`` line, only the first shows in each
window. :class:`CauseLog` throttles per cause key instead.
"""

from __future__ import annotations

from collections.abc import Hashable


class CauseLog:
    """Per-cause rate limit and counter for log messages.

    ``due(key, now)`` is True the first time ``key`` is seen and then at most once per
    ``period`` seconds; ``count(key)`` is how often it was seen (logged or not).
    """

    def __init__(self, period: float = 5.0) -> None:
        self.period = float(period)
        self._last: dict[Hashable, float] = {}
        self._seen: dict[Hashable, int] = {}

    def due(self, key: Hashable, now: float) -> bool:
        self._seen[key] = self._seen.get(key, 0) + 1
        last = self._last.get(key)
        if last is not None and now - last < self.period:
            return False
        self._last[key] = now
        return True

    def count(self, key: Hashable) -> int:
        return self._seen.get(key, 0)
