"""Rates and latency percentiles over a sliding window, for diagnostics and reports."""

from __future__ import annotations

from collections import deque

import numpy as np


class RateMeter:
    """Events per second over the last ``window`` seconds of event times.

    The rate is intervals over their span, counting the interval that crosses into the
    window, so a stream slower than two events per window (a model at 0.3 Hz on a small
    CPU) still reads its rate instead of 0. It reads 0 once no event came for ``window``.
    """

    def __init__(self, window: float = 5.0) -> None:
        self.window = window
        self._times: deque[float] = deque()
        self._before: float | None = None  # the newest event older than the window
        self.count = 0

    def tick(self, now: float) -> None:
        self.count += 1
        self._times.append(now)
        self._trim(now)

    def _trim(self, now: float) -> None:
        while self._times and now - self._times[0] > self.window:
            self._before = self._times.popleft()

    def rate(self, now: float) -> float:
        self._trim(now)
        if not self._times:
            return 0.0
        first, intervals = (
            (self._times[0], len(self._times) - 1)
            if self._before is None
            else (self._before, len(self._times))
        )
        span = self._times[-1] - first
        return intervals / span if intervals > 0 and span > 0 else 0.0

    def last(self) -> float | None:
        return self._times[-1] if self._times else None


class LatencyStats:
    """Keeps the last ``capacity`` samples (ms) and reports mean and percentiles."""

    def __init__(self, capacity: int = 1000) -> None:
        self._samples: deque[float] = deque(maxlen=capacity)

    def add(self, value_ms: float) -> None:
        self._samples.append(float(value_ms))

    def __len__(self) -> int:
        return len(self._samples)

    def values(self) -> list[float]:
        """Return the kept samples, oldest first."""
        return list(self._samples)

    def summary(self) -> dict[str, float]:
        """mean, p50, p95, max (ms); empty dict when there are no samples."""
        if not self._samples:
            return {}
        data = np.fromiter(self._samples, dtype=np.float64)
        p50, p95 = np.percentile(data, (50, 95))
        return {
            'mean': float(data.mean()),
            'p50': float(p50),
            'p95': float(p95),
            'max': float(data.max()),
        }
