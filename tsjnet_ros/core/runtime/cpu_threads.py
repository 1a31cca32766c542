"""How many intra-op threads CPU inference should use.

PyTorch's default is the number of physical cores of the host, which ignores the CPU
affinity mask and a container's CPU quota. In a container limited to two CPUs on a
64-core host that default starts dozens of OpenMP threads that spin against each other,
and one forward pass can take ten times longer. We count what this process may really
use: the affinity mask, capped by the cgroup CPU quota (v2 ``cpu.max`` or v1
``cpu.cfs_quota_us``), and never more than :data:`MAX_AUTO_THREADS`. An explicit
``OMP_NUM_THREADS`` in the environment is the user's choice and wins over the count.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

MAX_AUTO_THREADS = 8  # small-batch inference stops scaling well before this


def _cgroup_quota_cpus(root: Path = Path('/sys/fs/cgroup')) -> float | None:
    """CPUs allowed by the cgroup quota, or None when there is no quota (or no cgroup fs)."""
    try:
        quota, period = (
            (root / 'cpu.max').read_text().split()[:2]
        )  # cgroup v2: "max 100000" or "200000 100000"
        return None if quota == 'max' else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:
        quota_us = int((root / 'cpu' / 'cpu.cfs_quota_us').read_text())  # cgroup v1; -1 = no quota
        period_us = int((root / 'cpu' / 'cpu.cfs_period_us').read_text())
        return None if quota_us <= 0 or period_us <= 0 else quota_us / period_us
    except (OSError, ValueError):
        return None


def usable_cpus(cgroup_root: Path = Path('/sys/fs/cgroup')) -> int:
    """CPUs this process may run on: affinity mask, capped by the cgroup quota (at least 1)."""
    try:
        count = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        count = os.cpu_count() or 1
    quota = _cgroup_quota_cpus(cgroup_root)
    if quota is not None:
        count = min(count, max(1, math.floor(quota)))
    return max(1, count)


def _env_threads() -> int | None:
    value = os.environ.get('OMP_NUM_THREADS', '').strip()
    try:
        count = int(value)
    except ValueError:
        return None
    return count if count > 0 else None


def choose_cpu_threads(requested: int = 0, cgroup_root: Path = Path('/sys/fs/cgroup')) -> int:
    """Return the number of CPU threads to use.

    ``requested`` > 0 is used as given; 0 means auto: ``OMP_NUM_THREADS`` when set, else
    the usable CPUs, at most MAX_AUTO_THREADS.
    """
    if isinstance(requested, bool) or not isinstance(requested, int):
        raise TypeError(f'cpu_threads must be an int, got {type(requested).__name__}')
    if requested < 0:
        raise ValueError(f'cpu_threads must be >= 0 (0 = auto), got {requested}')
    if requested > 0:
        return requested
    return _env_threads() or min(usable_cpus(cgroup_root), MAX_AUTO_THREADS)
