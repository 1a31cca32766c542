"""A ROS graph of its own for commands that start one (bag replay, the one-process graph).

A replay or a demo graph publishes camera images, ``/clock`` and fused images under the
standard names. In the environment's DDS domain it would receive any other process's
images on those topics and push its own ``/clock`` into a live robot system. So these
commands start their context in a domain of their own (random among the DDS domains
1..101 that work on every platform, never the environment's ``ROS_DOMAIN_ID``) and with
localhost-only discovery (``ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST``, read by rcl at
``rclpy.init``). Other tools join it with :meth:`GraphIsolation.watch_environment`.
"""

from __future__ import annotations

import os
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

DOMAIN_VARIABLE = 'ROS_DOMAIN_ID'
DISCOVERY_RANGE_VARIABLE = 'ROS_AUTOMATIC_DISCOVERY_RANGE'
USABLE_DOMAINS = range(1, 102)  # DDS domain ids whose ports fit every OS's port ranges


@dataclass(frozen=True)
class GraphIsolation:
    """Domain id and discovery range of a command's own graph."""

    domain_id: int

    def watch_environment(self) -> dict[str, str]:
        """Variables that put another ROS process (rviz2, ``ros2 topic``) into this graph."""
        return {DOMAIN_VARIABLE: str(self.domain_id), DISCOVERY_RANGE_VARIABLE: 'LOCALHOST'}

    def describe(self) -> str:
        watch = ' '.join(f'{k}={v}' for k, v in self.watch_environment().items())
        return f'own ROS graph: domain {self.domain_id}, localhost only (to watch it: {watch})'


def environment_domain(environ: Mapping[str, str] | None = None) -> int:
    """Return the domain id the environment selects.

    That is ``ROS_DOMAIN_ID``, or 0 when unset or not a number.
    """
    value = (os.environ if environ is None else environ).get(DOMAIN_VARIABLE, '').strip()
    return int(value) if value.isdigit() else 0


def isolated_graph(
    domain_id: int | None = None,
    environ: Mapping[str, str] | None = None,
    rng: random.Random | None = None,
) -> GraphIsolation:
    """``domain_id`` when given, else a random usable domain other than the environment's.

    Raises ValueError for a domain id outside 0..232 (the ids DDS allows).
    """
    if domain_id is not None:
        if not 0 <= domain_id <= 232:
            raise ValueError(f'ROS domain id must be in 0..232, got {domain_id}')
        return GraphIsolation(domain_id)
    taken = environment_domain(environ)
    choices = [d for d in USABLE_DOMAINS if d != taken]
    return GraphIsolation((rng or random.SystemRandom()).choice(choices))


def init_isolated(isolation: GraphIsolation | None, args: Sequence[str], context=None) -> None:
    """``rclpy.init`` into ``isolation``'s graph (the environment's graph when None).

    The discovery range variable is set only while rcl reads it, so other contexts of the
    process keep the environment's setting.
    """
    from tsjnet_ros.nodes.declared_parameters import init_with_parameter_file

    if isolation is None:
        init_with_parameter_file(list(args), context=context)
        return
    previous = os.environ.get(DISCOVERY_RANGE_VARIABLE)
    os.environ[DISCOVERY_RANGE_VARIABLE] = 'LOCALHOST'
    try:
        init_with_parameter_file(list(args), context=context, domain_id=isolation.domain_id)
    finally:
        if previous is None:
            os.environ.pop(DISCOVERY_RANGE_VARIABLE, None)
        else:
            os.environ[DISCOVERY_RANGE_VARIABLE] = previous
