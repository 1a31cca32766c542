"""Figures of a live replay, as ros2_benchmark reports them, and the peak-rate search.

One trial plays the bag at a rate factor and records, for every output received, its
arrival time and its latency (from publishing the visible image it carries the stamp of).
From those: frames sent and received, missed frames, mean output rate, latency
percentiles and inter-arrival jitter. The peak search raises the rate factor while the
drop fraction stays below the limit and bisects between the last passing and the first
failing factor.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np


@dataclass
class TrialMeasurement:
    """Raw observations of one replay trial (times in seconds, latencies in ms)."""

    rate_factor: float
    sent: dict[str, int]
    expected_outputs: int
    bag_pair_rate_hz: float
    arrivals: list[float] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    unmatched_outputs: int = 0  # outputs whose stamp was never published (should stay 0)
    playback_s: float = 0.0
    node: dict = field(default_factory=dict)


def _percentiles(values: Sequence[float]) -> dict[str, float]:
    if not len(values):
        return {}
    data = np.asarray(values, dtype=np.float64)
    p50, p95 = np.percentile(data, (50, 95))
    return {
        'mean': float(data.mean()),
        'p50': float(p50),
        'p95': float(p95),
        'max': float(data.max()),
    }


def summarize_trial(m: TrialMeasurement) -> dict:
    """Return the benchmark figures of one trial as a JSON-ready dict."""
    received = len(m.arrivals)
    missed = max(0, m.expected_outputs - received)
    arrivals = np.sort(np.asarray(m.arrivals, dtype=np.float64))
    gaps = np.diff(arrivals) * 1000.0
    span = float(arrivals[-1] - arrivals[0]) if received > 1 else 0.0
    jitter = {}
    if gaps.size:
        jitter = {
            'std': float(gaps.std()),
            'max_abs_deviation': float(np.max(np.abs(gaps - gaps.mean()))),
        }
    return {
        'rate_factor': m.rate_factor,
        'input_pair_rate_hz': m.bag_pair_rate_hz * m.rate_factor,
        'frames_sent': m.sent,
        'expected_outputs': m.expected_outputs,
        'frames_received': received,
        'missed_frames': missed,
        'drop_fraction': missed / m.expected_outputs if m.expected_outputs else 0.0,
        'mean_output_fps': (received - 1) / span if span > 0 else 0.0,
        'latency_ms': _percentiles(m.latencies_ms),
        'inter_arrival_ms': _percentiles(gaps) if gaps.size else {},
        'jitter_ms': jitter,
        'unmatched_outputs': m.unmatched_outputs,
        'playback_s': m.playback_s,
        'node': m.node,
    }


def search_peak_rate(
    run_trial: Callable[[float], dict],
    max_drop: float = 0.05,
    start: float = 1.0,
    lowest: float = 0.125,
    highest: float = 16.0,
    bisections: int = 3,
) -> dict:
    """Highest rate factor whose trial drops less than ``max_drop`` of the outputs.

    ``run_trial(factor)`` returns a :func:`summarize_trial` dict. Doubling (or halving)
    from ``start`` brackets the limit within [``lowest``, ``highest``], then ``bisections``
    geometric bisection steps narrow it. Returns the best passing trial (None if even
    ``lowest`` fails) and every trial in the order run.
    """
    if not 0.0 <= max_drop < 1.0:
        raise ValueError(f'max_drop must be in [0, 1), got {max_drop}')
    if not 0 < lowest <= start <= highest:
        raise ValueError(f'need 0 < lowest <= start <= highest, got {lowest}, {start}, {highest}')
    if bisections < 0:
        raise ValueError(f'bisections must be >= 0, got {bisections}')
    trials: list[dict] = []

    def passes(factor: float) -> bool:
        trial = run_trial(factor)
        trial['passed'] = trial['drop_fraction'] < max_drop
        trials.append(trial)
        return trial['passed']

    good: float | None = None
    bad: float | None = None
    factor = start
    if passes(factor):
        good = factor
        while factor < highest:
            factor = min(highest, factor * 2.0)
            if passes(factor):
                good = factor
            else:
                bad = factor
                break
    else:
        bad = factor
        while factor > lowest:
            factor = max(lowest, factor / 2.0)
            if passes(factor):
                good = factor
                break
            bad = factor
    if good is not None and bad is not None:
        for _ in range(bisections):
            middle = float(np.sqrt(good * bad))
            if passes(middle):
                good = middle
            else:
                bad = middle
    best = None
    if good is not None:
        best = max((t for t in trials if t['passed']), key=lambda t: t['rate_factor'])
    return {
        'max_drop': max_drop,
        'peak_rate_factor': None if best is None else best['rate_factor'],
        'peak_input_pair_rate_hz': None if best is None else best['input_pair_rate_hz'],
        'peak_output_fps': None if best is None else best['mean_output_fps'],
        'limited_by_search_range': good is not None and bad is None,
        'trials': trials,
    }
