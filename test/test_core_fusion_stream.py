"""The ROS-free fusion stream: pairing, latest-wins inference, synchronous mode, settings."""

from __future__ import annotations

import dataclasses
import threading
import time

import numpy as np
import pytest

from tsjnet_ros.core.fusion import create_backend
from tsjnet_ros.core.image.image_encoding import ImageFormatError
from tsjnet_ros.core.runtime.fusion_stream import FusionStream, silent
from tsjnet_ros.core.runtime.setting_fields import described_settings, parameter_value
from tsjnet_ros.core.runtime.stream_settings import StreamSettings
from tsjnet_ros.core.types.camera_image import CameraImage

MS = 1_000_000
T0 = 1_700_000_000 * 1_000_000_000


def _image(stamp, value=100, shape=(32, 48), frame='cam'):
    return CameraImage(stamp, frame, 'mono8', np.full(shape, value, np.uint8))


def _feed(stream, count, period_ms=100, first=0):
    pairs = []
    for k in range(first, first + count):
        pairs += stream.push(1, _image(T0 + k * period_ms * MS, 60), now=k * 0.1)
        pairs += stream.push(0, _image(T0 + k * period_ms * MS + MS, 200), now=k * 0.1)
    return pairs


def test_synchronous_stream_pairs_and_fuses_every_pair():
    stream = FusionStream(synchronous=True, report=silent)
    stream.configure(StreamSettings(fusion_backend='max'))
    stream.activate(0.0)
    pairs = _feed(stream, 5)
    assert [p[1].stamp_ns for p in pairs] == [
        T0 + k * 100 * MS for k in range(4)
    ]  # the last awaits a later image
    results = [stream.process(p) for p in pairs]
    assert all((r.result.fused == 200).all() for r in results)  # max of 60 and 200
    s = stream.stats()
    assert (s.received, s.pairs, s.fused, s.skipped, s.errors) == ((5, 5), 4, 4, 0, 0)
    assert s.pair_offset_ms.count == 4 and s.pair_offset_ms.mean == pytest.approx(1.0)
    assert [p[1].stamp_ns for p in stream.flush()] == [T0 + 400 * MS]
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.fused = 0


def test_latest_pair_wins_while_the_model_is_busy():
    release, started = threading.Event(), threading.Event()
    backend = create_backend('average')
    fuse = backend.fuse

    def slow_fuse(ir, visible):
        started.set()
        release.wait(10)
        return fuse(ir, visible)

    backend.fuse = slow_fuse
    results = []
    stream = FusionStream(results.append, report=silent)
    stream.configure(StreamSettings(fusion_backend='average'), backend)
    stream.activate(0.0)
    _feed(stream, 2)  # the first pair starts on the inference thread
    assert started.wait(10)
    _feed(stream, 4, first=2)  # pairs 1..4 wait in turn, each replacing the one before
    release.set()

    def settled():
        s = stream.stats()
        return not stream.has_waiting_pair() and s.fused + s.skipped + s.errors == s.pairs

    deadline = time.monotonic() + 10
    while not settled() and time.monotonic() < deadline:
        time.sleep(0.01)
    s = stream.stats()
    assert s.pairs == 5 and s.fused + s.skipped == 5 and s.skipped >= 2 and s.errors == 0
    assert [r.visible.stamp_ns for r in results][-1] == T0 + 400 * MS  # the newest pair was fused
    assert results[-1].skipped_total == s.skipped
    stream.shutdown()
    assert stream.stats().state == 'finalized'


def test_refused_images_are_counted_and_reported_by_cause():
    reports = []
    stream = FusionStream(
        synchronous=True, report=lambda level, message: reports.append((level, message))
    )
    stream.configure(StreamSettings(fusion_backend='max'), pairing_only=True)
    stream.activate(0.0)
    with pytest.raises(ImageFormatError):
        stream.push(0, _image(T0, shape=(8, 8)))
    stream.refuse(1, ImageFormatError('bad encoding', 'encoding'))
    s = stream.stats()
    assert s.received == (1, 1) and s.invalid == (1, 1)
    assert [level for level, _ in reports] == [
        'error',
        'error',
    ] and 'smaller than 16 pixels' in reports[0][1]
    assert s.health() == ('warn', '0 fusion errors, 2 invalid images')


def test_settings_check_every_value_and_give_the_parameter_table():
    with pytest.raises(ValueError, match='slop must be in'):
        StreamSettings(slop=2.0)
    with pytest.raises(ValueError, match='fusion_backend must be one of'):
        StreamSettings(fusion_backend='nope')
    assert StreamSettings.problem('inference_size', [16, 16]).startswith('inference_size must be')
    assert StreamSettings(inference_size=[480, 640]).inference_size == (480, 640)
    described = {s.name: s for s in described_settings(StreamSettings)}
    assert 'detector_model' in described and described['score_threshold'].info.live
    assert StreamSettings().parameters() == {
        name: parameter_value(s.default) for name, s in described.items()
    }
    assert (
        StreamSettings.from_parameters(
            {'slop': 0.01, 'detector_layout': 'nms'}
        ).tasks.detector_layout
        == 'nms'
    )
