"""One thread that owns the model: it builds it, runs it on the latest frame, releases it.

Why one thread: PyTorch's CPU thread pool (OpenMP) belongs to the thread that starts
parallel work. When a second thread also runs the model (a warm-up on the caller's thread,
a benchmark calling the backend directly), the process holds two pools, threads
outnumber cores on a small machine and OpenMP stops spin-waiting between operations, so
every operation waits for sleeping threads. CUDA work also stays on one
thread and one stream this way.

Two kinds of work, one at a time, one-off calls first:

* :meth:`call` runs a function on the thread and returns its result (or raises its
  exception) to the caller: building, warming up and releasing the model.
* :meth:`offer` hands over the newest frame for the handler; a frame still waiting is
  replaced (latest-only) and the caller learns so it can count the skip.
"""

from __future__ import annotations

import gc
import logging
import sys
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

logger = logging.getLogger('tsjnet_ros')


class InferenceThread:
    """A daemon thread serving :meth:`call` jobs and latest-only :meth:`offer` items."""

    def __init__(self, name: str = 'inference') -> None:
        self._cond = threading.Condition()
        self._jobs: deque[tuple[Future, Callable[..., Any], tuple]] = deque()
        self._pending: Any = None
        self._has_pending = False
        self._handler: Callable[[Any], None] | None = None
        self._closed = False
        self._busy = False  # running a frame or a call
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    @property
    def ident(self) -> int | None:
        return self._thread.ident

    def call(self, fn: Callable[..., Any], *args: Any, timeout: float | None = None) -> Any:
        """``fn(*args)`` on the thread; blocks until done (waiting behind a running frame).

        TimeoutError after ``timeout`` seconds; the call still runs later.
        """
        if threading.current_thread() is self._thread:
            return fn(*args)  # a handler or job calling back in must not wait for itself
        future: Future = Future()
        with self._cond:
            if self._closed:
                raise RuntimeError('inference thread is closed')
            self._jobs.append((future, fn, args))
            self._cond.notify()
        return future.result(timeout)

    def set_handler(self, handler: Callable[[Any], None] | None) -> None:
        """Set what :meth:`offer`-ed items go to.

        ``None`` stops handling and drops a waiting item.
        """
        with self._cond:
            self._handler = handler
            if handler is None:
                self._pending, self._has_pending = None, False

    def offer(self, item: Any) -> bool:
        """Queue ``item`` as the next frame; True when it replaced one still waiting.

        Without a handler there is nothing to run it: the item is dropped (False).
        """
        with self._cond:
            if self._handler is None:
                return False
            replaced = self._has_pending
            self._pending, self._has_pending = item, True
            self._cond.notify()
        return replaced

    @property
    def busy(self) -> bool:
        """True while the thread runs a frame or a call (a new call would wait behind it)."""
        with self._cond:
            return self._busy or bool(self._jobs)

    def has_waiting_frame(self) -> bool:
        """Return True while an offered item waits for the thread (not the running one)."""
        with self._cond:
            return self._has_pending

    def close(self, timeout: float = 10.0) -> bool:
        """Finish queued calls and the running frame, then end the thread.

        Returns False while it is still running after ``timeout`` seconds (0: do not wait; it
        ends on its own).
        """
        with self._cond:
            self._closed = True
            self._handler = None
            self._pending, self._has_pending = None, False
            self._cond.notify()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout)
        return not self._thread.is_alive()

    def _next(self) -> tuple[Callable[..., Any], tuple, Future | None] | None:
        with self._cond:
            self._busy = False
            while True:
                if self._jobs:
                    future, fn, args = self._jobs.popleft()
                    self._busy = True
                    return fn, args, future
                if self._has_pending and self._handler is not None:
                    item, self._pending, self._has_pending = self._pending, None, False
                    self._busy = True
                    return self._handler, (item,), None
                if self._closed:
                    return None
                self._cond.wait()

    def _run(self) -> None:
        while (work := self._next()) is not None:
            fn, args, future = work
            if future is None:
                try:
                    fn(*args)
                except (
                    Exception
                ):  # the handler reports its own errors; this only keeps the thread alive
                    logger.exception('inference handler failed')
                continue
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn(*args))
            except BaseException as exc:  # handed to the caller of call()
                future.set_exception(exc)


def free_model_memory() -> None:
    """Give back what a released model held.

    Collect its tensors, then return PyTorch's cached CUDA blocks to the driver, so
    ``torch.cuda.memory_allocated`` (and ``nvidia-smi``) fall back to where they were before
    the model was built. Call it on the thread that ran the model, after the last reference to
    the model is dropped; torch is not imported for it.
    """
    gc.collect()
    torch = sys.modules.get('torch')
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()
