"""Helpers for tests that run our executables as processes and stop them with signals.

They stop them the way ``ros2 launch`` does (SIGINT, then SIGTERM after 5 s, then SIGKILL).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import REPO_ROOT

PYTHON = sys.executable
LAUNCH_SIGTERM_AFTER_S = 5.0  # launch's default sigterm_timeout: a clean stop ends before it
# Lines a clean stop must not print (the stop-time failures seen under ros2 launch).
STOP_FAILURES = (
    'Traceback',
    'terminate called',
    'Failed to publish',
    'context is invalid',
    'InvalidHandle',
    'fusion failed',
    '[ERROR]',
    'stopping took longer',
)


class Process:
    """One child process; stdout and stderr go to one log file (no pipe to fill up)."""

    def __init__(
        self, args: list[str], log: Path, cwd: Path = REPO_ROOT, env: dict[str, str] | None = None
    ) -> None:
        self.log_path = log
        self._log = open(log, 'w')
        path = os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get('PYTHONPATH', '')) if p)
        full_env = {**os.environ, 'PYTHONPATH': path, 'PYTHONUNBUFFERED': '1', **(env or {})}
        self.proc = subprocess.Popen(
            args,
            cwd=cwd,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=full_env,
            start_new_session=True,
        )

    def output(self) -> str:
        self._log.flush()
        return self.log_path.read_text()

    def wait_for_output(self, text: str, timeout: float = 120.0, count: int = 1) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.output().count(text) >= count:
                return True
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        return self.output().count(text) >= count

    def stop(
        self,
        sig: int = signal.SIGINT,
        repeat: int = 1,
        gap: float = 0.2,
        timeout: float = 3 * LAUNCH_SIGTERM_AFTER_S,
    ) -> tuple[int | None, float]:
        """Send ``sig`` ``repeat`` times ``gap`` s apart.

        Returns (exit code or None if still running, seconds).
        """
        start = time.monotonic()
        for i in range(repeat):
            if self.proc.poll() is not None:
                break
            if i:
                time.sleep(gap)
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            code = None
        return code, time.monotonic() - start

    def close(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self._log.close()


def module(name: str, *args: str) -> list[str]:
    return [PYTHON, '-m', name, *args]


def slow_fusion(which: str, *args: str) -> list[str]:
    return [PYTHON, str(REPO_ROOT / 'test' / 'slow_fusion.py'), which, *args]


def failures(text: str) -> list[str]:
    return [line for line in text.splitlines() if any(bad in line for bad in STOP_FAILURES)]
