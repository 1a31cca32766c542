"""Shared test fixtures and paths."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = (REPO_ROOT / '..' / 'shared' / 'data').resolve()

# Generated ROS message constructors reject unknown field names only with this set (read when
# a message module is first imported, so it is set before any test imports one).
os.environ['ROS_PYTHON_CHECK_FIELDS'] = '1'

# Keep tests from fighting over the two CPU cores of small machines.
os.environ.setdefault('OMP_NUM_THREADS', '1')


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f'real IR/VIS pairs not found at {SHARED_DATA}')
    return SHARED_DATA


# A private DDS domain per test session, so tests never see other ROS processes on the host.
os.environ.setdefault('ROS_DOMAIN_ID', str(10 + os.getpid() % 90))
os.environ.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')


@pytest.fixture
def graph():
    """Give a node test a ROS graph of its own (context + executor); closed afterwards."""
    from ros_harness import RosGraph  # rclpy only for the tests that use it

    g = RosGraph()
    yield g
    g.close()
