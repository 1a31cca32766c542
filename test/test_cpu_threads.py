"""CPU thread count: affinity, cgroup v1/v2 quotas, OMP_NUM_THREADS, explicit requests."""

import os

import pytest

from tsjnet_ros.core.runtime import cpu_threads
from tsjnet_ros.core.runtime.cpu_threads import MAX_AUTO_THREADS, choose_cpu_threads, usable_cpus


@pytest.fixture
def eight_cpus(monkeypatch):
    monkeypatch.setattr(os, 'sched_getaffinity', lambda pid: set(range(8)), raising=False)
    monkeypatch.delenv('OMP_NUM_THREADS', raising=False)


def test_no_cgroup_files_means_the_affinity_mask(eight_cpus, tmp_path):
    assert usable_cpus(tmp_path) == 8


@pytest.mark.parametrize(
    'content, expected',
    [('max 100000', 8), ('200000 100000', 2), ('150000 100000', 1), ('50000 100000', 1)],
)
def test_cgroup_v2_quota_caps_the_count(eight_cpus, tmp_path, content, expected):
    (tmp_path / 'cpu.max').write_text(content + '\n')
    assert usable_cpus(tmp_path) == expected


@pytest.mark.parametrize('quota, expected', [('-1', 8), ('300000', 3)])
def test_cgroup_v1_quota_caps_the_count(eight_cpus, tmp_path, quota, expected):
    (tmp_path / 'cpu').mkdir()
    (tmp_path / 'cpu' / 'cpu.cfs_quota_us').write_text(quota)
    (tmp_path / 'cpu' / 'cpu.cfs_period_us').write_text('100000')
    assert usable_cpus(tmp_path) == expected


def test_auto_is_capped_and_explicit_requests_are_kept(monkeypatch, tmp_path):
    monkeypatch.delenv('OMP_NUM_THREADS', raising=False)
    monkeypatch.setattr(os, 'sched_getaffinity', lambda pid: set(range(64)), raising=False)
    assert choose_cpu_threads(0, tmp_path) == MAX_AUTO_THREADS
    assert choose_cpu_threads(3, tmp_path) == 3


def test_omp_num_threads_wins_over_the_count(eight_cpus, monkeypatch, tmp_path):
    monkeypatch.setenv('OMP_NUM_THREADS', '1')
    assert choose_cpu_threads(0, tmp_path) == 1
    monkeypatch.setenv('OMP_NUM_THREADS', 'not-a-number')
    assert choose_cpu_threads(0, tmp_path) == 8


@pytest.mark.parametrize('bad, error', [(-1, ValueError), (1.5, TypeError), (True, TypeError)])
def test_bad_requests_are_refused(bad, error):
    with pytest.raises(error, match='cpu_threads'):
        choose_cpu_threads(bad)


def test_real_machine_count_is_positive():
    assert 1 <= cpu_threads.usable_cpus() <= (os.cpu_count() or 1)
