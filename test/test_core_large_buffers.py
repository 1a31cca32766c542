"""keep_large_buffers_in_heap: glibc malloc thresholds for image-sized buffers."""

import ctypes.util
import subprocess
import sys

import pytest

from tsjnet_ros.core.runtime.large_buffers import keep_large_buffers_in_heap

PROBE = r"""
import array, sys
import numpy as np
from tsjnet_ros.core.runtime.large_buffers import keep_large_buffers_in_heap
if sys.argv[1] == "on":
    assert keep_large_buffers_in_heap()
# one 640x480 bgr8 image
source = np.random.default_rng(0).integers(0, 255, 921_600, dtype=np.uint8)
def faults():
    with open("/proc/self/stat") as stat:
        return int(stat.read().rsplit(")", 1)[1].split()[7])  # minflt
def frame():
    # What filling a message does: a new data buffer replaces the previous one.
    data = array.array("B"); data.frombytes(source)
    replacement = array.array("B"); replacement.frombytes(source)
    data = replacement
for _ in range(5):
    frame()
before = faults()
for _ in range(50):
    frame()
print(faults() - before)
"""


def _faults(mode):
    out = subprocess.run(
        [sys.executable, '-c', PROBE, mode], capture_output=True, text=True, check=True
    )
    return int(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(
    not ctypes.util.find_library('c') or sys.platform != 'linux', reason='needs glibc on Linux'
)
def test_large_buffers_are_reused_instead_of_faulted_in_again():
    # 50 frames of two 900 KiB buffers: glibc's default maps fresh pages for each (about
    # 21,000 page faults here); with the thresholds raised the heap reuses them.
    assert _faults('on') < 500 <= _faults('off')


def test_bad_thresholds_are_refused():
    with pytest.raises(ValueError, match='mmap_threshold_mb'):
        keep_large_buffers_in_heap(mmap_threshold_mb=64)
    with pytest.raises(ValueError, match='trim_mb'):
        keep_large_buffers_in_heap(mmap_threshold_mb=16, trim_mb=8)


def test_opt_out_by_environment(monkeypatch):
    monkeypatch.setenv('TSJNET_KEEP_MALLOC', '1')
    assert keep_large_buffers_in_heap() is False
