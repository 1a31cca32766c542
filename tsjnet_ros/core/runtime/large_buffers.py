"""Keep large image buffers in the malloc heap instead of fresh mmap()s per message.

glibc serves every allocation above ``M_MMAP_THRESHOLD`` (128 KiB at start, adapting
upwards only slowly) with its own ``mmap`` and returns it with ``munmap`` when freed. A
640x480 colour image is 900 KiB, and an image node allocates several such buffers per
frame (message data, serialisation, DDS copies, numpy arrays), so every frame pays
hundreds of page faults, where buffers reused from the heap pay none.

:func:`keep_large_buffers_in_heap` raises the mmap threshold and the heap trim threshold
for the whole process (both C and Python allocations). Freed buffers are reused for the
next frame, so resident memory stays flat; it may hold up to ``trim_mb`` of free heap.
It is a no-op on non-glibc systems and when ``TSJNET_KEEP_MALLOC=1`` is set.
:func:`release_free_heap` hands free heap pages back to the system once, after a burst
of temporaries such as building a model.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import os

logger = logging.getLogger('tsjnet_ros')

_M_TRIM_THRESHOLD = -1  # from glibc's malloc.h
_M_MMAP_THRESHOLD = -3
_applied: tuple[int, int] | None = None


def _libc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL(ctypes.util.find_library('c') or 'libc.so.6')
    except OSError:
        return None


def release_free_heap() -> bool:
    """Return free heap memory to the system (glibc ``malloc_trim``); True when it did.

    Building a model leaves its temporaries (state dicts, the copy an inference form is
    made from) as free heap pages that still count as resident memory.
    """
    trim = getattr(_libc(), 'malloc_trim', None)
    if trim is None:  # not glibc (musl, macOS, Windows)
        return False
    gc.collect()
    trim.argtypes = (ctypes.c_size_t,)
    trim.restype = ctypes.c_int
    return trim(0) == 1


def keep_large_buffers_in_heap(mmap_threshold_mb: int = 32, trim_mb: int = 128) -> bool:
    """Apply the thresholds once per process; True when glibc accepted them."""
    global _applied
    if os.environ.get('TSJNET_KEEP_MALLOC') == '1':
        return False
    if not 0 < mmap_threshold_mb <= 32:  # glibc caps the mmap threshold at 32 MiB on 64-bit
        raise ValueError(f'mmap_threshold_mb must be in 1..32, got {mmap_threshold_mb}')
    if trim_mb < mmap_threshold_mb:
        raise ValueError(f'trim_mb ({trim_mb}) must be >= mmap_threshold_mb ({mmap_threshold_mb})')
    if _applied == (mmap_threshold_mb, trim_mb):
        return True
    mallopt = getattr(_libc(), 'mallopt', None)
    if mallopt is None:  # not glibc (musl, macOS, Windows)
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    ok = mallopt(_M_MMAP_THRESHOLD, mmap_threshold_mb << 20) == 1
    ok = mallopt(_M_TRIM_THRESHOLD, trim_mb << 20) == 1 and ok
    if ok:
        _applied = (mmap_threshold_mb, trim_mb)
        logger.debug(
            'malloc: mmap threshold %d MiB, trim threshold %d MiB', mmap_threshold_mb, trim_mb
        )
    return ok
