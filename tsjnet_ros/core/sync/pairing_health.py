"""Why camera images arrive but nothing (or the wrong thing) is fused, named with numbers.

Pairing fails quietly in many ways: drivers that leave ``header.stamp`` at 0, cameras
stamping with clocks seconds apart, one camera (or both) not arriving, a pairing queue
too short for the delay between the cameras, frames lost on the way, stamps going
backwards. :class:`PairingMonitor` is fed every camera image (its stamp and arrival time)
and the synchroniser's counters, and :meth:`PairingMonitor.problems` returns one
:class:`PairingProblem` per cause that is active now. The fusion node logs, publishes and
diagnoses them; the bag tools list them as problems of a bag. Times are seconds on the
caller's clock (monotonic time live, log time in a bag); stamps are integer nanoseconds.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from tsjnet_ros.core.sync.base import NS_PER_S, SyncStats

STREAMS = ('IR', 'visible')
WINDOW = 60  # images per camera kept for the estimates


@dataclass(frozen=True)
class PairingProblem:
    """One active cause of images not being paired or fused.

    A short ``cause`` key, a message naming it with numbers and what to check, and the numbers
    themselves (for diagnostics key/values).
    """

    cause: str
    message: str
    values: dict[str, str] = field(default_factory=dict, compare=False)


@dataclass
class _Stream:
    stamps: deque = field(default_factory=lambda: deque(maxlen=WINDOW))  # (stamp_ns, arrival_s)
    received: int = 0
    zero_stamps: int = 0
    last_zero: float | None = None
    first: float | None = None
    last: float | None = None
    lost: int = 0
    last_lost: float | None = None
    incompatible_qos: str = ''
    incompatible_type: str = ''  # "offered type (expected type)"


class PairingMonitor:
    """Tracks both cameras and names the causes of missing or wrong pairs (module docstring).

    ``slop`` and ``queue_size`` are the synchroniser's settings (``queue_size`` None for a
    policy without a queue); ``timeout`` is how long a camera may be silent, and how long a
    cause seen once stays reported, in seconds.
    """

    def __init__(
        self,
        slop: float,
        queue_size: int | None = 10,
        timeout: float = 2.0,
        topics: tuple[str, str] = ('ir/image', 'visible/image'),
    ) -> None:
        self.slop = float(slop)
        self.queue_size = queue_size
        self.timeout = float(timeout)
        self.topics = topics
        self._streams = [_Stream(), _Stream()]
        self._started: float | None = None
        self._counters: dict[str, tuple[int, float]] = {}  # name -> (value, time it last grew)

    # -- input -------------------------------------------------------------------------
    def start(self, now: float) -> None:
        """Subscriptions exist from ``now`` on (silence is measured from here)."""
        self._started = now

    def observe(
        self, stream: int, stamp_ns: int, arrival: float, arrival_stamp_ns: int | None = None
    ) -> int:
        """Record one image and return the stamp to pair it by.

        That is ``stamp_ns``, or for a zero stamp (a driver that does not stamp) the arrival
        time as a stamp, ``arrival_stamp_ns`` (the receiver's ROS time) or else ``arrival`` in
        nanoseconds.
        """
        s = self._streams[stream]
        s.received += 1
        s.first = arrival if s.first is None else s.first
        s.last = arrival
        if stamp_ns == 0:
            s.zero_stamps += 1
            s.last_zero = arrival
            stamp_ns = (
                arrival_stamp_ns
                if arrival_stamp_ns is not None
                else int(round(arrival * NS_PER_S))
            )
        s.stamps.append((int(stamp_ns), arrival))
        return stamp_ns

    def note_lost(self, stream: int, count: int, now: float) -> None:
        """Record that the transport reported ``count`` messages of this camera lost."""
        if count > 0:
            self._streams[stream].lost += count
            self._streams[stream].last_lost = now

    def note_incompatible(
        self, stream: int, qos_policy: str = '', offered_type: str = '', expected_type: str = ''
    ) -> None:
        """Record a publisher on this camera's topic that does not match.

        Given are the QoS policy name, or the message type it offers against the one
        subscribed; ``offered_type`` "" clears a type mismatch (the publisher is gone).
        """
        s = self._streams[stream]
        if qos_policy:
            s.incompatible_qos = qos_policy
        s.incompatible_type = f'{offered_type} ({expected_type} expected)' if offered_type else ''

    def _grew(self, name: str, value: int, now: float) -> bool:
        """Return True while counter ``name`` grew within ``timeout`` of ``now``.

        Any growth counts when the monitor runs offline with ``timeout`` = inf.
        """
        old, when = self._counters.get(name, (0, -np.inf))
        if value > old:
            when = now
        self._counters[name] = (value, when)
        return value > 0 and now - when <= self.timeout

    # -- estimates ---------------------------------------------------------------------
    def _rate(self, stream: int) -> float:
        arrivals = [a for _, a in self._streams[stream].stamps]
        if len(arrivals) < 2 or arrivals[-1] <= arrivals[0]:
            return 0.0
        return (len(arrivals) - 1) / (arrivals[-1] - arrivals[0])

    def _period(self, stream: int) -> float | None:
        """Median stamp interval in seconds (None with fewer than 3 images)."""
        stamps = np.array([t for t, _ in self._streams[stream].stamps], np.int64)
        steps = np.diff(stamps)
        steps = steps[steps > 0]
        return float(np.median(steps)) / NS_PER_S if len(steps) >= 2 else None

    def stamp_offset(self) -> float | None:
        """IR stamp minus visible stamp in seconds over the recent images.

        The median distance to the nearest visible stamp while the two stamp ranges overlap,
        otherwise (clocks far apart) the difference of the median (stamp - arrival time) of the
        cameras.
        """
        ir = np.array([t for t, _ in self._streams[0].stamps], np.int64)
        vis = np.sort(np.array([t for t, _ in self._streams[1].stamps], np.int64))
        if len(ir) == 0 or len(vis) == 0:
            return None
        if ir.max() < vis[0] or ir.min() > vis[-1]:
            lag = self.arrival_lag()
            return None if lag is None else -lag
        idx = np.clip(np.searchsorted(vis, ir), 1, max(1, len(vis) - 1))
        idx = np.minimum(idx, len(vis) - 1)
        after, before = vis[idx], vis[idx - 1]
        nearest = np.where(np.abs(ir - before) < np.abs(ir - after), before, after)
        return float(np.median(ir - nearest)) / NS_PER_S

    def arrival_lag(self) -> float | None:
        """How much later (s) an IR image arrives than the visible image with the same stamp.

        Median (arrival - stamp) of IR minus that of visible.
        """
        lags = []
        for s in self._streams:
            if not s.stamps:
                return None
            lags.append(float(np.median([a - t / NS_PER_S for t, a in s.stamps])))
        return lags[0] - lags[1]

    # -- causes ------------------------------------------------------------------------
    def problems(
        self, now: float, stats: SyncStats | None = None, publishers: tuple[int, int] | None = None
    ) -> list[PairingProblem]:
        """Return the causes active at ``now``.

        ``stats`` from the synchroniser, ``publishers`` the number of publishers on each camera
        topic where known.
        """
        found: list[PairingProblem] = []
        ir, vis = self._streams
        started = (
            self._started
            if self._started is not None
            else min([s.first for s in self._streams if s.first is not None], default=now)
        )
        silent = [now - (s.last if s.last is not None else started) for s in self._streams]
        quiet = [x > self.timeout for x in silent]
        rates = [self._rate(0), self._rate(1)]

        if all(quiet):
            found.append(self._no_input(silent, publishers))
        else:
            for stream in (0, 1):
                if quiet[stream]:
                    found.append(
                        self._one_camera(stream, silent[stream], rates[1 - stream], publishers)
                    )
        for stream, s in enumerate(self._streams):
            if s.incompatible_type or s.incompatible_qos:
                found.append(self._incompatible(stream, s))

        zero = [
            s.last_zero is not None and now - s.last_zero <= self.timeout for s in self._streams
        ]
        if any(zero):
            who = 'IR and visible' if all(zero) else STREAMS[zero.index(True)]
            found.append(
                PairingProblem(
                    'zero_stamps',
                    f'{who} header.stamp {"are" if all(zero) else "is"} 0 (the driver '
                    'does not stamp its images): '
                    "pairing by arrival time instead; fix the driver's stamps for exact pairing",
                    {
                        'ir zero stamps': str(ir.zero_stamps),
                        'visible zero stamps': str(vis.zero_stamps),
                    },
                )
            )

        offset = self.stamp_offset() if not any(quiet) else None
        if offset is not None and abs(offset) > self.slop:
            found.append(self._apart(offset))

        if stats is not None:
            found += self._sync_counters(now, stats, quiet)
        for stream, s in enumerate(self._streams):
            gaps = self._missing_frames(stream)
            lost = self._grew(f'lost{stream}', s.lost, now)
            missing = self._grew(f'gaps{stream}', gaps[0], now) if gaps else False
            if lost or missing:
                found.append(self._drops(stream, s.lost, gaps))
        return found

    def _no_input(self, silent: list[float], publishers: tuple[int, int] | None) -> PairingProblem:
        counts = ''
        hint = 'check that the cameras run and the topic names (remapping)'
        if publishers is not None:
            counts = (
                f' (publishers: {self.topics[0]} {publishers[0]}, '
                f'{self.topics[1]} {publishers[1]})'
            )
            if publishers[0] == 0 and publishers[1] == 0:
                hint = (
                    'no camera publishes on these topics: '
                    'check the topic names (remapping) and the namespace'
                )
            else:
                hint = (
                    'publishers exist but send nothing that arrives: '
                    'check their QoS and message type'
                )
        return PairingProblem(
            'no_input',
            f'no images from either camera for {min(silent):.1f} s{counts}: {hint}',
            {'ir silent (s)': f'{silent[0]:.1f}', 'visible silent (s)': f'{silent[1]:.1f}'},
        )

    def _one_camera(
        self, stream: int, silent: float, other_rate: float, publishers: tuple[int, int] | None
    ) -> PairingProblem:
        name, other = STREAMS[stream], STREAMS[1 - stream]
        where = ''
        if publishers is not None:
            where = f'; {publishers[stream]} publisher(s) on {self.topics[stream]}'
        return PairingProblem(
            f'no_{name.lower()}',
            f'no {name} images for {silent:.1f} s while {other} images arrive at '
            f'{other_rate:.1f} Hz{where}: '
            f'nothing can be fused; check the {name} camera and its topic',
            {
                f'{name.lower()} silent (s)': f'{silent:.1f}',
                f'{other.lower()} rate (Hz)': f'{other_rate:.1f}',
            },
        )

    def _incompatible(self, stream: int, s: _Stream) -> PairingProblem:
        name, topic = STREAMS[stream], self.topics[stream]
        if s.incompatible_type:
            text = (
                f'a publisher on {topic} sends another message type, {s.incompatible_type}: '
                f'set the {name} transport (raw for Image, compressed for '
                'CompressedImage) to match it'
            )
        else:
            text = (
                f'a publisher on {topic} offers QoS incompatible with input_qos '
                f'({s.incompatible_qos}): '
                'no image from it can arrive; use input_qos SENSOR_DATA (best '
                'effort accepts any publisher)'
            )
        return PairingProblem(
            f'incompatible_{name.lower()}',
            text,
            {f'{name.lower()} mismatch': s.incompatible_qos or 'type'},
        )

    def _apart(self, offset: float) -> PairingProblem:
        periods = [p for p in (self._period(0), self._period(1)) if p]
        frame = max(periods) if periods else 0.0
        direction = 'behind' if offset < 0 else 'ahead of'
        values = {'ir - visible stamp (s)': f'{offset:.3f}', 'slop (s)': f'{self.slop:g}'}
        if frame and abs(offset) <= frame:
            return PairingProblem(
                'stamps_apart',
                f'IR and visible frames are {abs(offset) * 1000:.0f} ms apart (slop '
                f'{self.slop * 1000:.0f} ms, '
                f'one frame {frame * 1000:.0f} ms): the cameras are not '
                'triggered together; raise slop '
                'or synchronise the cameras',
                values,
            )
        return PairingProblem(
            'clock_offset',
            f'IR and visible stamps are {abs(offset):.1f} s apart (slop {self.slop:g} s): '
            'check the camera clocks '
            f'(IR stamps are {direction} the visible ones)',
            values,
        )

    def _sync_counters(
        self, now: float, stats: SyncStats, quiet: list[bool]
    ) -> list[PairingProblem]:
        found = []
        overflow = getattr(stats, 'overflow', [0, 0])
        for stream in (0, 1):
            grew = self._grew(f'overflow{stream}', overflow[stream], now)
            # with the partner camera silent its queue fills whatever its size: the
            # missing camera is the problem (named above), not queue_size
            if self.queue_size is not None and grew and not quiet[1 - stream]:
                rate = self._rate(stream)
                lag = self.arrival_lag()
                late = (
                    None if lag is None else (lag if stream == 1 else -lag)
                )  # how much later the partner arrives
                held = self.queue_size / rate if rate > 0 else 0.0
                need = int(round((late or 0.0) * rate)) + 2
                detail = (
                    f'; the {STREAMS[1 - stream]} images arrive {late:.2f} s later'
                    if late is not None and late > 0
                    else ''
                )
                found.append(
                    PairingProblem(
                        f'queue_overflow_{STREAMS[stream].lower()}',
                        f'{overflow[stream]} {STREAMS[stream]} images dropped '
                        'from a full pairing queue '
                        f'(queue_size {self.queue_size} holds {held:.2f} s at '
                        f'{rate:.1f} Hz{detail}): '
                        f'raise queue_size to at least {max(need, self.queue_size + 1)}',
                        {f'{STREAMS[stream].lower()} queue overflows': str(overflow[stream])},
                    )
                )
        if self._grew('out_of_order', sum(stats.out_of_order), now):
            found.append(
                PairingProblem(
                    'out_of_order',
                    f'{stats.out_of_order[0]} IR and {stats.out_of_order[1]} visible '
                    'images had a stamp older than '
                    'the previous one of their camera and were ignored',
                    {'out of order': str(sum(stats.out_of_order))},
                )
            )
        if self._grew('resets', stats.resets, now):
            found.append(
                PairingProblem(
                    'clock_reset',
                    f'stamps jumped back more than 1 s {stats.resets} time(s) (bag loop or clock '
                    'reset): pairing restarted',
                    {'sync resets': str(stats.resets)},
                )
            )
        return found

    def _missing_frames(self, stream: int) -> tuple[int, float, float] | None:
        """(frames missing, largest gap s, period s) from stamp gaps over 1.5 periods."""
        period = self._period(stream)
        stamps = np.array([t for t, _ in self._streams[stream].stamps], np.int64)
        if period is None or period <= 0:
            return None
        gaps = np.diff(stamps) / NS_PER_S
        big = gaps[gaps > 1.5 * period]
        missing = int(np.sum(np.round(big / period) - 1)) if len(big) else 0
        return missing, float(big.max()) if len(big) else 0.0, period

    def _drops(
        self, stream: int, lost: int, gaps: tuple[int, float, float] | None
    ) -> PairingProblem:
        name = STREAMS[stream]
        parts, values = [], {}
        if lost:
            parts.append(f'{lost} lost in transport')
            values[f'{name.lower()} lost'] = str(lost)
        if gaps and gaps[0]:
            parts.append(
                f'{gaps[0]} missing from the last {len(self._streams[stream].stamps)} stamps '
                f'(gaps up to {gaps[1]:.2f} s at {1 / gaps[2]:.1f} Hz)'
            )
            values[f'{name.lower()} missing frames'] = str(gaps[0])
        return PairingProblem(
            f'drops_{name.lower()}',
            f'{name} frames dropped before fusion: {", ".join(parts)}; check the '
            'camera, the network bandwidth '
            'and the input_qos depth',
            values,
        )
