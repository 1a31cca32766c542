"""InferenceThread: one thread for model calls and latest-only frames."""

from __future__ import annotations

import gc
import threading
import time
import weakref

import pytest
import torch

from tsjnet_ros.core.runtime.inference_thread import InferenceThread, free_model_memory


@pytest.fixture
def worker():
    thread = InferenceThread('test_inference')
    yield thread
    thread.close()


def test_call_runs_on_the_thread_and_returns_or_raises(worker):
    assert worker.call(threading.get_ident) == worker.ident != threading.get_ident()
    assert worker.call(lambda a, b: a + b, 2, 3) == 5
    with pytest.raises(ValueError, match='bad checkpoint'):
        worker.call(_raise, ValueError('bad checkpoint'))
    assert worker.call(lambda: 'still alive') == 'still alive'


def test_offer_replaces_a_waiting_frame_and_reports_it(worker):
    handled, release = [], threading.Event()

    def handler(item):
        if item == 'first':
            release.wait(5)
        handled.append((item, threading.get_ident()))

    worker.set_handler(handler)
    assert worker.offer('first') is False
    _wait_until(lambda: not worker.has_waiting_frame())  # "first" is running
    assert worker.offer('second') is False
    assert worker.offer('third') is True  # replaced "second" before it ran
    release.set()
    _wait_until(lambda: len(handled) == 2)
    assert [item for item, _ in handled] == ['first', 'third']
    assert {ident for _, ident in handled} == {worker.ident}


def test_calls_go_before_waiting_frames(worker):
    order, release = [], threading.Event()

    def handler(item):
        if item == 'blocker':
            release.wait(5)
        order.append(item)

    worker.set_handler(handler)
    worker.offer('blocker')
    _wait_until(lambda: not worker.has_waiting_frame())
    worker.offer('frame')
    caller = threading.Thread(target=lambda: worker.call(lambda: order.append('call')))
    caller.start()
    _wait_until(lambda: len(worker._jobs) == 1)  # the call is queued behind the blocker
    release.set()
    caller.join(5)
    _wait_until(lambda: len(order) == 3)
    assert order == ['blocker', 'call', 'frame']


def test_without_a_handler_frames_are_dropped(worker):
    handled, release = [], threading.Event()
    assert worker.offer('before any handler') is False
    worker.set_handler(lambda item: (release.wait(5), handled.append(item)))
    worker.offer('running')
    _wait_until(lambda: not worker.has_waiting_frame())
    worker.offer('waiting')
    worker.set_handler(None)  # drops "waiting"; "running" finishes
    assert not worker.has_waiting_frame()
    release.set()
    worker.call(lambda: None)
    worker.set_handler(handled.append)
    worker.call(lambda: None)
    assert handled == ['running']


def test_a_failing_handler_does_not_end_the_thread(worker, caplog):
    worker.set_handler(lambda item: _raise(RuntimeError(f'broken {item}')))
    worker.offer(1)
    _wait_until(lambda: not worker.has_waiting_frame())
    assert worker.call(lambda: 'alive') == 'alive'  # runs after the failed frame
    assert 'inference handler failed' in caplog.text


def test_call_timeout(worker):
    release = threading.Event()
    worker.set_handler(lambda item: release.wait(5))
    worker.offer('slow frame')
    _wait_until(lambda: not worker.has_waiting_frame())
    with pytest.raises(TimeoutError):
        worker.call(lambda: None, timeout=0.05)
    release.set()
    assert worker.call(lambda: 'done', timeout=5) == 'done'


def test_close_ends_the_thread_and_refuses_calls():
    worker = InferenceThread('test_close')
    assert worker.close() is True
    with pytest.raises(RuntimeError, match='closed'):
        worker.call(lambda: None)


def test_a_call_from_the_thread_itself_runs_inline(worker):
    assert worker.call(lambda: worker.call(threading.get_ident)) == worker.ident


def _raise(exc: Exception):
    raise exc


def _wait_until(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, 'condition not reached in time'
        time.sleep(0.005)


class _Holder:
    """A model stand-in caught in a reference cycle (as modules with hooks often are)."""

    def __init__(self, tensor):
        self.tensor = tensor
        self.me = self


def test_free_model_memory_collects_a_released_model_caught_in_a_cycle(worker):
    gc.disable()  # only free_model_memory may collect the cycle
    try:
        holder = _Holder(torch.zeros(1000))
        alive = weakref.ref(holder)
        del holder
        assert alive() is not None
        worker.call(free_model_memory)
        assert alive() is None
    finally:
        gc.enable()


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA GPU')
def test_cleanup_returns_cuda_memory_to_its_start_value():
    """What the node's cleanup does: build and run on the thread, drop it, free, end the thread."""
    from tsjnet_ros.core.fusion import create_backend
    from tsjnet_ros.resources import default_checkpoint

    torch.cuda.synchronize()
    start = torch.cuda.memory_allocated()
    thread = InferenceThread('cuda_cleanup')
    backend = thread.call(
        lambda: create_backend(
            'tsjnet',
            checkpoint=str(default_checkpoint()),
            device='cuda',
            precision='bf16',
            warmup_size=(96, 128),
        )
    )
    ir = (torch.rand(96, 128) * 255).to(torch.uint8).numpy()
    result = thread.call(backend.fuse, ir, ir)
    assert result.fused.shape == (96, 128)
    assert torch.cuda.memory_allocated() > start
    del backend
    thread.call(free_model_memory)
    assert thread.close()
    torch.cuda.synchronize()
    assert torch.cuda.memory_allocated() == start
