"""The fusion stream: decoded camera images in, fused results out, with every count kept.

One object does, in this order, what a pair goes through live and offline:

1. size check of each decoded image (:func:`check_image_size`), counted and reported by
   cause when refused;
2. time synchronisation with the chosen policy (:mod:`tsjnet_ros.core.sync`) under the
   stream's own lock, with the pairing monitor naming why pairs go missing;
3. pair preparation (:class:`PairPreparation`: single-channel IR, RGB visible, one size);
4. the backend's ``fuse`` on the one thread that owns the model
   (:class:`InferenceThread`): a pair arriving while the model runs replaces the waiting
   one and is counted as skipped (latest wins), so latency stays bounded;
5. the result handed to ``on_result``, then counted (fused, rates, latency).

The ROS node converts messages into :class:`CameraImage` and publishes what ``on_result``
gets; the bag tools, ``tsjnet-graph``, the benches and the tests drive the same object.
With ``synchronous=True`` (offline evaluation) nothing is skipped: :meth:`push` returns the
pairs and the caller runs :meth:`process` on each, on its own thread.

Lifecycle as the ROS node's: :meth:`configure` (build the backend on the inference thread),
:meth:`activate`, :meth:`deactivate` (drop the waiting pair), :meth:`cleanup` (release the
model and its memory), :meth:`shutdown`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tsjnet_ros.core.fusion.backend import FusionBackend
from tsjnet_ros.core.image.image_encoding import ImageFormatError
from tsjnet_ros.core.preparation.pair_alignment import aspect_mismatch
from tsjnet_ros.core.preparation.pair_preparation import PairPreparation, check_image_size
from tsjnet_ros.core.runtime.cause_log import CauseLog
from tsjnet_ros.core.runtime.fusion_stats import FusionStats, Percentiles
from tsjnet_ros.core.runtime.inference_thread import InferenceThread, free_model_memory
from tsjnet_ros.core.runtime.rate_stats import LatencyStats, RateMeter
from tsjnet_ros.core.runtime.stream_settings import LIVE_THRESHOLDS, StreamSettings
from tsjnet_ros.core.sync import SyncPolicy, SyncStats, create_synchronizer
from tsjnet_ros.core.sync.pairing_health import PairingMonitor, PairingProblem
from tsjnet_ros.core.types.camera_image import IR, VISIBLE, CameraImage
from tsjnet_ros.core.types.fusion_result import FusionResult

STREAM_NAMES = ('ir', 'visible')
FLUSH_AFTER_NS = (
    1_000_000_000  # sentinel stamps this far after the newest one complete the last pair
)
ERROR_LOG_PERIOD_S = 5.0

Pair = tuple[CameraImage, CameraImage]
Report = Callable[[str, str], None]  # (level: "info" | "warning" | "error", message)

_logger = logging.getLogger('tsjnet_ros')


def _log(level: str, message: str) -> None:
    getattr(_logger, level)(message)


def silent(level: str, message: str) -> None:
    """Drop every report (for callers that collect problems themselves: the bag tools)."""


@dataclass
class FusedPair:
    """One pair's result.

    ``prepared``: the (ir, visible) arrays the backend fused; ``timings``: ``prepare`` and
    ``fuse`` in ms; ``skipped_total``: pairs the stream had skipped when this one was fused.
    """

    ir: CameraImage
    visible: CameraImage
    prepared: tuple[np.ndarray, np.ndarray]
    result: FusionResult
    backend: str
    resize_to: str
    timings: dict[str, float] = field(default_factory=dict)
    skipped_total: int = 0

    @property
    def camera(self) -> CameraImage:
        """The image whose pixels, stamp and frame the outputs carry (``resize_to``)."""
        return self.visible if self.resize_to == 'visible' else self.ir

    @property
    def pipeline_ms(self) -> float:
        """Pair preparation + fusion (ms)."""
        return self.timings.get('prepare', 0.0) + self.timings.get('fuse', 0.0)

    @property
    def pair_offset_ms(self) -> float:
        """IR stamp minus visible stamp (ms)."""
        return (self.ir.stamp_ns - self.visible.stamp_ns) / 1e6


class FusionStream:
    """Images in, fused pairs out (see the module docstring).

    ``report(level, message)`` receives every warning and error (the node passes its
    logger); ``on_result`` each :class:`FusedPair`, on the inference thread (synchronous
    mode: none, the caller gets the results).
    """

    def __init__(
        self,
        on_result: Callable[[FusedPair], None] | None = None,
        *,
        synchronous: bool = False,
        report: Report = _log,
        thread_name: str = 'fusion_inference',
    ) -> None:
        self.on_result = on_result
        self.synchronous = synchronous
        self.report = report
        self.thread_name = thread_name
        self.state = 'unconfigured'
        self.configure_error = ''
        self.device = 'none'
        self.settings: StreamSettings | None = None
        self.backend: FusionBackend | None = None
        self.inference_ms = LatencyStats()
        self.latency_ms = LatencyStats()
        self.pair_offset_ms = LatencyStats()
        self._lock = threading.Lock()
        self._received = [0, 0]
        self._invalid = [0, 0]
        self._silent = [0, 0]
        self._pairs = self._fused = self._skipped = self._errors = 0
        self._rates = [RateMeter(), RateMeter()]
        self._out_rate = RateMeter()
        self._refusals = CauseLog(period=5.0)  # one report per refusal cause and camera
        self._failures = CauseLog(period=ERROR_LOG_PERIOD_S)
        self._frame_ids: list[str | None] = [None, None]
        self._warned_frame_mismatch = False
        self._warned_aspect = False
        self._sync: SyncPolicy | None = None
        self._monitor: PairingMonitor | None = None
        self._problems: list[PairingProblem] = []
        self._preparation: PairPreparation | None = None
        self._thread: InferenceThread | None = None
        self._closing = False  # a pair still running after cleanup(wait=False) is abandoned
        self._newest_ns = 0

    # -- lifecycle ---------------------------------------------------------------------
    def configure(
        self,
        settings: StreamSettings,
        backend: FusionBackend | None = None,
        *,
        pairing_only: bool = False,
    ) -> None:
        """Build the synchroniser, the preparation and the backend.

        The backend is built on the inference thread, unless ``backend`` is given or the
        stream is synchronous; ``pairing_only``: no backend, for counting a recording's
        pairs. On failure the stream stays unconfigured with the
        reason in ``configure_error``, and the error is raised.
        """
        self.settings = settings
        self._closing = False
        try:
            self._preparation = settings.pair_preparation()
            if not self.synchronous:
                self._thread = InferenceThread(self.thread_name)
            if backend is None and not pairing_only:
                self.device = self.call(
                    settings.resolve_device, lambda m: self.report('warning', m)
                )
                backend = self.call(settings.build_backend, self.device)
            elif backend is not None and self.device == 'none':
                self.device = (
                    'cpu' if settings.fusion_backend != 'tsjnet' else str(settings.device)
                )
        except (
            Exception
        ) as exc:  # missing/corrupt checkpoint, bad model file, ...: say why, stay unconfigured
            self.fail(f'{type(exc).__name__}: {exc}')
            raise
        self.backend = backend
        with self._lock:
            self._sync = create_synchronizer(
                settings.sync_policy, queue_size=settings.queue_size, slop=settings.slop
            )
        self.configure_error = ''
        self.state = 'inactive'

    def fail(self, reason: str) -> None:
        """Record why configuring failed and release whatever was built."""
        self.configure_error = reason
        self.cleanup()

    def activate(
        self,
        now: float | None = None,
        topics: tuple[str, str] = ('ir/image', 'visible/image'),
        timeout: float | None = None,
    ) -> None:
        """Start pairing.

        The pairing monitor starts at ``now`` (monotonic s) and reports a camera silent
        after ``timeout`` s (None: the ``stream_timeout`` setting).
        """
        s = self._settings()
        queue = s.queue_size if s.sync_policy == 'approximate' else None
        with self._lock:
            self._monitor = PairingMonitor(
                s.slop, queue, s.stream_timeout if timeout is None else timeout, topics
            )
            self._monitor.start(time.monotonic() if now is None else now)
        if self._thread is not None:
            self._thread.set_handler(self._run_pair)
        self.state = 'active'

    def deactivate(self, wait: bool = True) -> None:
        """Drop the waiting pair and the queued images; ``wait``: let the running pair finish."""
        if self._thread is not None:
            self._thread.set_handler(None)  # drops the waiting pair
            if wait:
                try:
                    self._thread.call(
                        lambda: None, timeout=10.0
                    )  # returns once the running pair is done
                except TimeoutError:
                    self.report(
                        'error',
                        'the pair being fused has not finished after 10 s; going on without it',
                    )
        with self._lock:
            if self._sync is not None:
                self._sync.reset()
            self._problems = []
        if self.state == 'active':
            self.state = 'inactive'

    def cleanup(self, wait: bool = True) -> None:
        """Release the backend.

        Its memory is freed on the thread that ran it, then that thread ends. Without
        ``wait`` a pair still being fused is abandoned (never handed out).
        """
        self.backend = None
        if not wait:
            self._closing = True
        if self._thread is not None:
            # without wait: no gc.collect pass (it holds the GIL long on a big model)
            if wait:
                self._thread.call(free_model_memory)
            if not self._thread.close(timeout=10.0 if wait else 0.0) and wait:
                self.report('error', 'inference thread did not end within 10 s')
            self._thread = None
        if self.state != 'finalized':
            self.state = 'unconfigured'

    def shutdown(self, wait: bool = True) -> None:
        self.deactivate(wait)
        self.cleanup(wait)
        self.state = 'finalized'

    def update(self, **changes: Any) -> None:
        """Apply settings that may change while running (``live`` ones: thresholds, timeout)."""
        if self.settings is None:
            return
        self.settings = self.settings.with_overrides(**changes)
        for target in (
            getattr(self.backend, 'pipeline', None),
            getattr(self.backend, 'detector', None),
        ):
            for name in LIVE_THRESHOLDS:
                if target is not None and name in changes:
                    setattr(target, name, changes[name])

    def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run ``fn(*args)`` on the thread that owns the model (the caller's when synchronous).

        For callers that use the backend directly without adding a second thread pool.
        """
        if self.synchronous:
            return fn(*args)
        if self._thread is None:
            raise RuntimeError(f'fusion stream is {self.state}; there is no inference thread')
        return self._thread.call(fn, *args)

    def has_waiting_pair(self) -> bool:
        return self._thread is not None and self._thread.has_waiting_frame()

    # -- input -------------------------------------------------------------------------
    def refuse(self, stream: int, error: Exception, now: float | None = None) -> None:
        """Count an image that could not be decoded; report it once per cause and period."""
        now = time.monotonic() if now is None else now
        with self._lock:
            self._received[stream] += 1
            self._rates[stream].tick(now)
        self._refused(stream, error, now)

    def push(
        self,
        stream: int,
        image: CameraImage,
        now: float | None = None,
        clock_ns: int | None = None,
    ) -> list[Pair]:
        """Offer one decoded image (``stream`` 0 IR, 1 visible); returns the pairs it completed.

        ``now``: arrival in monotonic seconds, ``clock_ns``: arrival on the ROS clock (an
        unstamped image gets that as its stamp, changed in ``image``). A refused image
        (too small) is counted and reported, and :class:`ImageFormatError` raised. Unless
        synchronous, each pair goes to the inference thread (replacing a waiting one).
        """
        now = time.monotonic() if now is None else now
        with self._lock:
            self._received[stream] += 1
            self._rates[stream].tick(now)
        if image.array is not None:
            try:
                check_image_size(image.array)
            except ImageFormatError as exc:
                self._refused(stream, exc, now)
                raise
        self._check_frame_id(stream, image.frame_id)
        with self._lock:
            if self._sync is None:
                raise RuntimeError(
                    f'fusion stream is {self.state}; configure it before pushing images'
                )
            if self._monitor is not None:
                image.stamp_ns = self._monitor.observe(stream, image.stamp_ns, now, clock_ns)
            self._newest_ns = max(self._newest_ns, image.stamp_ns)
            pairs = self._sync.add(stream, image.stamp_ns, image)
            self._pairs += len(pairs)
            if not self.synchronous:
                for pair in pairs:
                    if self._thread is not None and self._thread.offer(pair):
                        self._skipped += 1
        if pairs and not self.synchronous:
            # Hand the GIL to the inference thread now; otherwise it waits for the caller
            # (the executor rebuilding its wait set in Python, on the critical path).
            time.sleep(0)
        return pairs

    def flush(self) -> list[Pair]:
        """Complete the pairs still waiting at the end of a recording.

        Pairs that wait for a later message to prove them best are completed by two sentinel
        stamps 1 s after the newest one (the sentinels are not counted as received).
        """
        with self._lock:
            pending: list[tuple[Any, Any]] = []
            for stream in (IR, VISIBLE):
                pending += self._sync.add(stream, self._newest_ns + FLUSH_AFTER_NS, None)
            real = [p for p in pending if p[0] is not None and p[1] is not None]
            stats = self._sync.stats
            stats.received = [r - 1 for r in stats.received]
            stats.emitted -= len(pending) - len(real)
            self._pairs += len(real)
        return real

    def note_incompatible(self, stream: int, **what: str) -> None:
        """Note a QoS or type mismatch on a camera's subscription (see :class:`PairingMonitor`)."""
        with self._lock:
            if self._monitor is not None:
                self._monitor.note_incompatible(stream, **what)

    def note_lost(self, stream: int, count: int, now: float | None = None) -> None:
        """Messages the transport lost on a camera's subscription."""
        with self._lock:
            if self._monitor is not None:
                self._monitor.note_lost(stream, count, time.monotonic() if now is None else now)

    def watch(
        self,
        now: float | None = None,
        publishers: tuple[int, int] | None = None,
        offered_types: list[tuple[str, str]] | None = None,
    ) -> list[PairingProblem]:
        """Name every active cause of missing or wrong pairs.

        Each is reported once when it becomes active. ``offered_types``: per camera (a type
        published on its topic other than the expected one, or ""; the expected type).
        """
        now = time.monotonic() if now is None else now
        with self._lock:
            if self._monitor is None:
                return []
            for stream, (offered, expected) in enumerate(offered_types or ()):
                self._monitor.note_incompatible(
                    stream, offered_type=offered, expected_type=expected
                )
            if self.settings is not None and self._monitor.timeout != float('inf'):
                self._monitor.timeout = self.settings.stream_timeout
            problems = self._monitor.problems(now, self._sync.stats, publishers)
            active = {p.cause for p in self._problems}
            for problem in problems:
                if problem.cause in ('no_ir', 'no_visible'):
                    self._silent[IR if problem.cause == 'no_ir' else VISIBLE] += 1
            self._problems = problems
        for problem in problems:
            if problem.cause not in active:
                self.report('warning', problem.message)
        return problems

    def _refused(self, stream: int, error: Exception, now: float) -> None:
        with self._lock:
            self._invalid[stream] += 1
            invalid = self._invalid[stream]
        key = (stream, getattr(error, 'cause', type(error).__name__))
        if self._refusals.due(key, now):
            self.report(
                'error',
                f'invalid {STREAM_NAMES[stream]} image ({self._refusals.count(key)} with this '
                f'problem, {invalid} invalid in all): {error}',
            )

    def _check_frame_id(self, stream: int, frame_id: str) -> None:
        self._frame_ids[stream] = frame_id
        ir_frame, vis_frame = self._frame_ids
        if (
            ir_frame is not None
            and vis_frame is not None
            and ir_frame != vis_frame
            and not self._warned_frame_mismatch
        ):
            self._warned_frame_mismatch = True
            self.report(
                'warning',
                f"IR frame_id '{ir_frame}' differs from visible frame_id '{vis_frame}'; the "
                'cameras are assumed registered and outputs use the visible frame',
            )

    # -- fusion ------------------------------------------------------------------------
    def process(self, pair: Pair) -> FusedPair:
        """Prepare and fuse one pair on the calling thread.

        That is the inference thread, or the caller's when synchronous; a failure is
        counted and raised.
        """
        ir, visible = pair
        preparation, backend = self._preparation, self.backend
        try:
            if backend is None or preparation is None:
                raise RuntimeError(f'fusion stream is {self.state}; there is no backend')
            if preparation.registration is None and not self._warned_aspect:
                stretch = aspect_mismatch(ir.array.shape, visible.array.shape)
                if stretch:
                    self._warned_aspect = True
                    self.report('warning', stretch)
            t0 = time.perf_counter()
            prepared = preparation(ir.array, ir.encoding, visible.array, visible.encoding)
            t1 = time.perf_counter()
            result = backend.fuse(*prepared)
            t2 = time.perf_counter()
        except Exception as exc:
            self._failed(exc)
            raise
        fused = FusedPair(
            ir,
            visible,
            prepared,
            result,
            getattr(backend, 'name', type(backend).__name__),
            preparation.resize_to,
            {'prepare': (t1 - t0) * 1000.0, 'fuse': (t2 - t1) * 1000.0},
        )
        with self._lock:
            fused.skipped_total = self._skipped
            self.inference_ms.add(fused.pipeline_ms)
            self.pair_offset_ms.add(abs(fused.pair_offset_ms))
        if self.synchronous:
            self._handed_out(fused)
        return fused

    def _run_pair(self, pair: Pair) -> None:
        """Process, hand out and count one pair (the inference thread's handler)."""
        try:
            fused = self.process(pair)
        except Exception:  # counted and reported by process()
            return
        try:
            if self.on_result is not None:
                self.on_result(fused)
        except Exception as exc:  # keep the stream alive; the message says what failed
            self._failed(exc)
            return
        self._handed_out(fused)

    def _handed_out(self, fused: FusedPair) -> None:
        now = time.monotonic()
        with self._lock:
            self._fused += 1
            self._out_rate.tick(now)
            received = max(fused.ir.received, fused.visible.received)
            if received > 0:
                self.latency_ms.add((now - received) * 1000.0)

    def _failed(self, exc: Exception) -> None:
        if self._closing:
            return  # an abandoned pair: nothing to report
        with self._lock:
            self._errors += 1
            errors = self._errors
        if self._failures.due('fusion', time.monotonic()):
            self.report('error', f'fusion failed ({errors} so far): {exc!r}')

    # -- state -------------------------------------------------------------------------
    def sync_stats(self) -> SyncStats:
        """Copy the synchroniser's counters (empty before configure)."""
        with self._lock:
            if self._sync is None:
                return SyncStats.for_streams(2)
            s = self._sync.stats
            return SyncStats(
                list(s.received),
                list(s.dropped),
                list(s.out_of_order),
                list(s.overflow),
                s.emitted,
                s.resets,
            )

    def stats(self) -> FusionStats:
        """Take a consistent snapshot of counters, rates and latency (:class:`FusionStats`)."""
        now = time.monotonic()
        sync = self.sync_stats()
        backend = (
            self.backend.name
            if self.backend is not None
            else (self.settings.fusion_backend if self.settings else '')
        )
        with self._lock:
            return FusionStats(
                state=self.state,
                backend=backend,
                device=self.device,
                configure_error=self.configure_error,
                received=tuple(self._received),
                invalid=tuple(self._invalid),
                pairs=self._pairs,
                fused=self._fused,
                skipped=self._skipped,
                errors=self._errors,
                silent_stream=tuple(self._silent),
                unpaired_dropped=sum(sync.dropped),
                queue_overflows=sum(sync.overflow),
                out_of_order=sum(sync.out_of_order),
                input_rate_hz=(self._rates[IR].rate(now), self._rates[VISIBLE].rate(now)),
                output_rate_hz=self._out_rate.rate(now),
                inference_ms=Percentiles.of(self.inference_ms),
                latency_ms=Percentiles.of(self.latency_ms),
                pair_offset_ms=Percentiles.of(self.pair_offset_ms),
                problems=tuple(self._problems),
            )

    def _settings(self) -> StreamSettings:
        if self.settings is None:
            raise RuntimeError('fusion stream is unconfigured')
        return self.settings
