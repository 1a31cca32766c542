"""Run nodes until SIGINT or SIGTERM and stop them the way ``ros2 launch`` expects.

``ros2 launch`` stops a process with SIGINT, then SIGTERM after 5 s and SIGKILL after 5 s
more; a Ctrl-C in its terminal reaches every process of the group as well, so a node often
gets two SIGINTs. A node started here therefore:

* takes the first SIGINT or SIGTERM as a request to stop and ignores later ones, so a
  second signal never interrupts the cleanup (a KeyboardInterrupt raised inside
  ``destroy_node`` left the process to abort);
* destroys its nodes while the ROS context is still valid, so the last log lines reach
  ``/rosout`` and nothing publishes into a shut-down context;
* ends within :data:`STOP_DEADLINE_S` of the signal whatever a worker thread is doing: a
  thread still inside native code (a PyTorch forward pass) is abandoned by leaving with
  ``os._exit``, because interpreter finalisation would tear it down in the middle of C++
  code (``terminate called without an active exception``, SIGABRT);
* exits 0 on a requested stop (launch reports "process has finished cleanly").

rclpy's own signal handlers are not installed (``SignalHandlerOptions.NO``); these take
their place. A signal during start-up (a model still warming up) aborts the start-up.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import rclpy
from rclpy.executors import Executor, SingleThreadedExecutor
from rclpy.node import Node
from rclpy.signals import SignalHandlerOptions

from tsjnet_ros.core.runtime.large_buffers import keep_large_buffers_in_heap
from tsjnet_ros.nodes.dds_profile import use_large_image_profile
from tsjnet_ros.nodes.declared_parameters import ParameterFileError, init_with_parameter_file

STOP_DEADLINE_S = 3.0  # after the stop signal; launch escalates to SIGTERM at 5 s
SPIN_PERIOD_S = 0.1  # longest wait before the spin loop notices a stop request


class StartupInterrupted(KeyboardInterrupt):
    """A stop signal arrived before the nodes were spinning."""


class StopSignals:
    """SIGINT/SIGTERM handling for one process (see module docstring).

    ``requested`` is set by the first signal; until :meth:`running` is called that signal
    also raises :class:`StartupInterrupted` in the main thread. From the signal on, a
    watchdog ends the process (exit 1) if it is still alive after ``deadline`` seconds.
    """

    def __init__(self, deadline: float = STOP_DEADLINE_S) -> None:
        self.requested = threading.Event()
        self.signal_name = ''
        self.ignored = 0  # signals after the first
        self._deadline = deadline
        self._starting = True
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._on_signal)

    def running(self) -> None:
        """Start-up is over: from now on a signal only sets :attr:`requested`."""
        self._starting = False

    def _on_signal(self, signum: int, frame: object) -> None:
        if self.requested.is_set():
            self.ignored += 1
            return
        self.signal_name = signal.Signals(signum).name
        self.requested.set()
        watchdog = threading.Timer(self._deadline, _exit_overdue, args=(self._deadline,))
        watchdog.daemon = True
        watchdog.start()
        if self._starting:
            self._starting = False
            raise StartupInterrupted(self.signal_name)


def _exit_overdue(deadline: float) -> None:
    sys.stderr.write(
        f'[tsjnet_ros] stopping took longer than {deadline:.0f} s; exiting '
        'without finishing cleanup\n'
    )
    exit_process(1)


def init_ros(args: list[str] | None = None) -> StopSignals:
    """``rclpy.init`` for an executable, with :class:`StopSignals` instead of rclpy's handlers."""
    keep_large_buffers_in_heap()  # every node here moves image-sized messages
    use_large_image_profile()  # ... and exchanges them with other processes
    init_with_parameter_file(args, signal_handler_options=SignalHandlerOptions.NO)
    return StopSignals()


def spin_until_stopped(
    executor: Executor,
    stop: StopSignals,
    duration: float = 0.0,
    every: tuple[float, Callable[[], None]] | None = None,
    until: Callable[[], bool] | None = None,
) -> bool:
    """Spin on this thread until a stop signal, the duration, ``until()`` or shutdown.

    Stops after ``duration`` seconds (0 = no limit), when ``until()`` turns true, or when the
    context shuts down; ``every=(period, fn)`` calls ``fn`` between callbacks every ``period``
    seconds. True when a signal ended it.
    """
    stop.running()
    start = time.monotonic()
    next_call = start + every[0] if every else float('inf')
    while not stop.requested.is_set() and executor.context.ok():
        now = time.monotonic()
        if duration > 0 and now - start >= duration:
            break
        executor.spin_once(timeout_sec=SPIN_PERIOD_S)
        if until is not None and until():
            break
        if every and time.monotonic() >= next_call:
            next_call += every[0]
            every[1]()
    return stop.requested.is_set()


def shut_down(nodes: list[Node], executor: Executor | None = None) -> None:
    """Destroy ``nodes`` (newest first) while the context is valid, then shut ROS down."""
    if executor is not None:
        for node in nodes:
            executor.remove_node(node)
    for node in reversed(nodes):
        node.destroy_node()
    if executor is not None:
        executor.shutdown(timeout_sec=0.0)
    rclpy.try_shutdown(
        uninstall_handlers=False
    )  # rclpy's "uninstall" would restore SIG_DFL: a late SIGINT kills


def exit_process(code: int) -> None:
    """Flush and end the process now, skipping interpreter finalisation (see module docstring)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


def finish(code: int) -> int:
    """Return ``code`` for ``sys.exit``, or end the process at once while another thread lives.

    A model thread inside native code must not meet interpreter finalisation.

    From here on SIGINT and SIGTERM are ignored: interpreter finalisation puts back the
    default handlers, and a second Ctrl-C would otherwise kill the exiting process (-2).
    """
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    others = [
        t
        for t in threading.enumerate()
        if t is not threading.current_thread()
        and t.is_alive()
        and not isinstance(t, threading.Timer)
    ]
    if others:
        exit_process(code)
    return code


def spin_node(factory: Callable[[], Node], args: list[str] | None = None) -> int:
    """Run the node ``factory()`` builds until SIGINT/SIGTERM; the process exit code.

    A parameter the node cannot take ends it with one line on stderr and exit code 2.
    """
    try:
        stop = init_ros(args)
    except ParameterFileError as exc:
        print(f'[tsjnet_ros] {exc}', file=sys.stderr)
        return 2
    nodes: list[Node] = []
    executor = SingleThreadedExecutor()
    code = 0
    try:
        nodes.append(factory())
        executor.add_node(nodes[0])
        spin_until_stopped(executor, stop)
    except StartupInterrupted:
        pass
    except ParameterFileError as exc:
        print(f'[tsjnet_ros] {exc}', file=sys.stderr)
        code = 2
    finally:
        stop.running()  # a later signal must not interrupt the cleanup
        shut_down(nodes, executor)
    return finish(code)


def stop_graph(
    executor: Any, spinner: threading.Thread | None, nodes: Sequence[Node], context: Any = None
) -> None:
    """Stop a graph spun on ``spinner``: executor, nodes, then the context.

    The executor first (and its thread joined), then the nodes in reverse start order
    (consumers before producers), then the context.

    Destroying a node while the executor still runs one of its callbacks is what raises
    ``InvalidHandle: ... destruction was requested`` at shutdown.
    """
    executor.shutdown(timeout_sec=5.0)
    if spinner is not None:
        spinner.join(timeout=5.0)
    for node in reversed(list(nodes)):
        node.destroy_node()
    rclpy.try_shutdown(context=context)
