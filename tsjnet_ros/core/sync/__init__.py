"""Time synchronisation of camera streams (no ROS imports)."""

from __future__ import annotations

from tsjnet_ros.core.sync.approximate_time import ApproximateTimeSynchronizer
from tsjnet_ros.core.sync.base import SyncPolicy, SyncStats
from tsjnet_ros.core.sync.latest_time import LatestTimeSynchronizer

POLICIES = ('approximate', 'latest')


def create_synchronizer(
    policy: str, num_streams: int = 2, queue_size: int = 10, slop: float = 0.05
) -> SyncPolicy:
    """Policy by name, as the ``sync_policy`` parameter selects it.

    ``slop`` is the widest accepted stamp spread in seconds (``max_interval`` of the
    approximate policy); ``queue_size`` applies to the approximate policy only.
    """
    if policy == 'approximate':
        return ApproximateTimeSynchronizer(num_streams, queue_size=queue_size, max_interval=slop)
    if policy == 'latest':
        return LatestTimeSynchronizer(num_streams, slop=slop)
    raise ValueError(f'unknown sync policy {policy!r}; expected one of {", ".join(POLICIES)}')


__all__ = [
    'ApproximateTimeSynchronizer',
    'LatestTimeSynchronizer',
    'POLICIES',
    'SyncPolicy',
    'SyncStats',
    'create_synchronizer',
]
