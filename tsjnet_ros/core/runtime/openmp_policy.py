"""OpenMP wait policy for CPUs shared with other processes.

PyTorch's CPU kernels run on an OpenMP (libgomp) thread pool whose idle threads spin for a
while before sleeping, so that the next parallel region starts without a wake-up. On a
robot computer the cores are shared with camera drivers, rviz and other nodes: spinning
threads then burn the time slices the working thread needs, and every parallel region waits
for a thread that the scheduler has parked. Two threads on two busy cores became 5-15x
slower than one thread. ``OMP_WAIT_POLICY=PASSIVE`` makes idle threads sleep at once,
which costs a little on an idle machine and removes the collapse under load
(``bench/cpu_contention.py`` measures both). libgomp reads the variable when it is loaded,
so it must be set before ``torch`` is imported; ``tsjnet_ros/__init__.py`` does that for
every entry point of the package (nodes, tools, training).
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping

# Either variable means the user chose a policy; we never override it.
USER_VARIABLES = ('OMP_WAIT_POLICY', 'GOMP_SPINCOUNT')


def prefer_passive_wait(environ: MutableMapping[str, str] | None = None) -> bool:
    """Set ``OMP_WAIT_POLICY=PASSIVE`` unless a wait policy is already chosen.

    Returns True when it set the variable. Has no effect on an OpenMP runtime that is
    already loaded (import order: call before ``import torch``).
    """
    env = os.environ if environ is None else environ
    if any(name in env for name in USER_VARIABLES):
        return False
    env['OMP_WAIT_POLICY'] = 'PASSIVE'
    return True
