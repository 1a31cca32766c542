"""A snapshot of what the fusion stream did: counters, rates, latency, state, active problems.

One frozen value feeds ``/diagnostics``, ``FusionStatus``, the tools' progress lines and
summaries and the tests, so none of them reads the stream's or the node's internals.
"""

from __future__ import annotations

from dataclasses import dataclass

from tsjnet_ros.core.runtime.rate_stats import LatencyStats
from tsjnet_ros.core.sync.pairing_health import PairingProblem


@dataclass(frozen=True)
class Percentiles:
    """Mean, median, 95th percentile and maximum (ms) of the kept samples (0 without samples)."""

    count: int = 0
    mean: float = 0.0
    p50: float = 0.0
    p95: float = 0.0
    max: float = 0.0

    @classmethod
    def of(cls, samples: LatencyStats) -> Percentiles:
        summary = samples.summary()
        return cls(len(samples), **summary) if summary else cls()

    def as_dict(self) -> dict[str, float]:
        """``{mean, p50, p95, max}``; empty when there are no samples (as reports print "n/a")."""
        return (
            {'mean': self.mean, 'p50': self.p50, 'p95': self.p95, 'max': self.max}
            if self.count
            else {}
        )


@dataclass(frozen=True)
class FusionStats:
    """Counters since start (per camera: index 0 IR, 1 visible), rates over the last seconds.

    ``state``: unconfigured | inactive | active | finalized; ``configure_error`` why the last
    configure failed. ``pairs`` = pairs formed; each is ``fused``, ``skipped`` (replaced by a
    newer pair while the model was busy) or an ``error``. ``unpaired_dropped``,
    ``queue_overflows``, ``out_of_order``: images the synchroniser did not use.
    ``silent_stream``: watchdog checks that found that camera silent. ``inference_ms``: pair
    preparation + fusion; ``latency_ms``: last image of a pair received -> results handed
    out; ``pair_offset_ms``: |IR stamp - visible stamp|.
    """

    state: str = 'unconfigured'
    backend: str = ''
    device: str = 'none'
    configure_error: str = ''
    received: tuple[int, int] = (0, 0)
    invalid: tuple[int, int] = (0, 0)
    pairs: int = 0
    fused: int = 0
    skipped: int = 0
    errors: int = 0
    silent_stream: tuple[int, int] = (0, 0)
    unpaired_dropped: int = 0
    queue_overflows: int = 0
    out_of_order: int = 0
    input_rate_hz: tuple[float, float] = (0.0, 0.0)
    output_rate_hz: float = 0.0
    inference_ms: Percentiles = Percentiles()
    latency_ms: Percentiles = Percentiles()
    pair_offset_ms: Percentiles = Percentiles()
    problems: tuple[PairingProblem, ...] = ()

    def health(self) -> tuple[str, str]:
        """Rate the stream: (``ok`` | ``warn`` | ``error``, message).

        Never ``ok`` while images arrive and nothing is fused, or while a pairing problem is
        active.
        """
        if self.state == 'unconfigured':
            return 'error', 'unconfigured' + (
                f': {self.configure_error}' if self.configure_error else ''
            )
        if self.state != 'active':
            return 'ok', self.state
        if self.problems:
            return 'warn', '; '.join(p.message for p in self.problems)
        if self.fused == 0 and max(self.input_rate_hz) > 0:
            return 'warn', 'images arrive but nothing fused yet'
        if self.errors or sum(self.invalid):
            return 'warn', f'{self.errors} fusion errors, {sum(self.invalid)} invalid images'
        return 'ok', 'fusing'
