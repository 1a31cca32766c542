"""Progress on stderr for console commands: counted work and single long waits.

Every step that can take more than a couple of seconds shows something moving, so a user
can tell a slow step from a hung one. Counted work gets a tqdm bar (``progress_bar``); a
blocking call without steps (loading and warming up a model) gets a line whose elapsed
time keeps counting (``waiting``).
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager


def progress_bar(
    enabled: bool, description: str, unit: str
) -> tuple[Callable[[int, int], None] | None, Callable[[], None]]:
    """``(update(done, total), close)``; ``update`` is None when disabled."""
    if not enabled:
        return None, lambda: None
    from tqdm import tqdm

    bar = tqdm(desc=description, unit=unit, file=sys.stderr, dynamic_ncols=True)

    def update(done: int, total: int) -> None:
        if bar.total != total:
            bar.total = total
        bar.n = done
        bar.refresh()

    return update, bar.close


@contextmanager
def waiting(description: str, enabled: bool = True, interval: float = 0.5) -> Iterator[None]:
    """Show ``description ... N s`` on stderr while the body runs.

    Updated every ``interval`` s on a terminal, every 10 s in a log; it ends with
    ``done in N s`` or ``failed after N s``.
    """
    if not enabled:
        yield
        return
    start = time.monotonic()
    stop = threading.Event()
    tty = sys.stderr.isatty()

    def tick() -> None:  # a terminal line counts up in place; a log gets a line every 10 s
        last_line = start
        while not stop.wait(interval):
            now = time.monotonic()
            if tty:
                print(
                    f'\r{description} ... {now - start:4.0f} s',
                    end='',
                    file=sys.stderr,
                    flush=True,
                )
            elif now - last_line >= 10.0:
                last_line = now
                print(f'{description} ... {now - start:.0f} s', file=sys.stderr, flush=True)

    print(f'{description} ...', end='' if tty else '\n', file=sys.stderr, flush=True)
    thread = threading.Thread(target=tick, name='progress', daemon=True)
    thread.start()
    outcome = 'failed after'
    try:
        yield
        outcome = 'done in'
    finally:
        stop.set()
        thread.join()
        prefix = '\r' if tty else ''
        print(
            f'{prefix}{description}: {outcome} {time.monotonic() - start:.1f} s',
            file=sys.stderr,
            flush=True,
        )
