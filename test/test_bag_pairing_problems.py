"""A bag whose cameras cannot pair (or pair wrongly) says why, as the live node says it."""

import numpy as np
import pytest

from tsjnet_ros.core.bag.frame_sources import SyntheticSource
from tsjnet_ros.core.bag.maker import CameraTiming, MakeOptions, make_bag
from tsjnet_ros.core.bag.messages import image_cdr
from tsjnet_ros.core.bag.pairing import PairStream
from tsjnet_ros.core.bag.problems import BagError
from tsjnet_ros.core.bag.reader import BagReader
from tsjnet_ros.core.bag.topics import InputTopics
from tsjnet_ros.core.bag.typestore import IMAGE
from tsjnet_ros.core.bag.writer import BagWriter
from tsjnet_ros.core.runtime.stream_settings import StreamSettings

MS = 1_000_000
T0 = 1_700_000_000 * 1_000_000_000


def write_bag(path, ir_events, vis_events):
    """events: (log_time_ns, stamp_ns, pixel value); images 24x20 mono8."""
    with BagWriter(path) as writer:
        writer.add_topic('/ir/image', IMAGE)
        writer.add_topic('/visible/image', IMAGE)
        events = [('/ir/image', *e) for e in ir_events] + [
            ('/visible/image', *e) for e in vis_events
        ]
        for topic, log, stamp, value in sorted(events, key=lambda e: e[1]):
            writer.write_raw(
                topic, log, image_cdr(np.full((20, 24), value, np.uint8), 'mono8', stamp, 'c')
            )
    return path


def pairs_and_problems(path, **settings):
    with BagReader(path) as reader:
        stream = PairStream(reader, InputTopics(), StreamSettings(**settings))
        pairs = list(stream)
    return pairs, {p.kind: p for p in stream.account.problems}


def test_healthy_synthetic_bag_has_no_pairing_problem(tmp_path):
    make_bag(tmp_path / 'b', SyntheticSource(1.0, 64, 48), CameraTiming(), MakeOptions())
    pairs, problems = pairs_and_problems(tmp_path / 'b')
    assert len(pairs) == 30 and problems == {}


def test_zero_stamps_pair_by_log_time_and_are_reported(tmp_path):
    """VIS1, VIS2 recorded alone; IR1 recorded with VIS3 (all stamps 0): IR1 pairs with VIS3."""
    vis = [(T0 + k * 300 * MS, 0, 10 + k) for k in range(6)]
    ir = [(T0 + k * 300 * MS, 0, 100 + k) for k in range(2, 6)]
    pairs, problems = pairs_and_problems(write_bag(tmp_path / 'b', ir, vis))
    assert [(p.ir.index, p.visible.index) for p in pairs] == [(0, 2), (1, 3), (2, 4), (3, 5)]
    assert all(p.visible.stamp_ns == T0 + (p.visible.index) * 300 * MS for p in pairs)  # not 0
    assert problems['zero_stamps'].detail.startswith('IR and visible header.stamp are 0')


def test_ir_clock_37_s_behind_names_the_offset_and_slop(tmp_path):
    vis = [(T0 + k * 33 * MS, T0 + k * 33 * MS, 10) for k in range(60)]
    ir = [(T0 + k * 33 * MS, T0 - 37_000 * MS + k * 33 * MS, 10) for k in range(60)]
    with pytest.raises(
        BagError,
        match=r'IR and visible stamps are 37\.0 s apart \(slop 0\.05 s\): check the camera clocks',
    ):
        pairs_and_problems(write_bag(tmp_path / 'b', ir, vis))


def test_queue_too_short_for_late_ir_is_a_problem(tmp_path):
    vis = [(T0 + k * 33 * MS, T0 + k * 33 * MS, 10) for k in range(60)]
    ir = [(T0 + k * 33 * MS + 400 * MS, T0 + k * 33 * MS, 10) for k in range(60)]
    pairs, problems = pairs_and_problems(write_bag(tmp_path / 'b', ir, vis), queue_size=3)
    assert 'raise queue_size' in problems['queue_overflow_visible'].detail


def test_compressed_camera_topics_pair_and_decode(tmp_path):
    """A bag holding only image_transport compressed topics: 16-bit PNG thermal, JPEG colour."""
    from tsjnet_ros.core.bag.typestore import bag_typestore
    from tsjnet_ros.core.image.compressed_image import array_to_compressed

    store = bag_typestore()
    msg_type = store.types['sensor_msgs/msg/CompressedImage']
    header_type, time_type = (
        store.types['std_msgs/msg/Header'],
        store.types['builtin_interfaces/msg/Time'],
    )
    thermal = np.full((48, 64), 7000, np.uint16)
    thermal[10:30, 20:40] = 7400
    colour = np.full((48, 64, 3), 90, np.uint8)
    topics = InputTopics(ir='/ir/image/compressed', visible='/visible/image/compressed')
    with BagWriter(tmp_path / 'b') as writer:
        for topic in (topics.ir, topics.visible):
            writer.add_topic(topic, 'sensor_msgs/msg/CompressedImage')
        for k in range(4):
            stamp = T0 + k * 100 * MS
            header = header_type(
                stamp=time_type(sec=stamp // 10**9, nanosec=stamp % 10**9), frame_id='c'
            )
            for topic, (array, enc, fmt) in (
                (topics.ir, (thermal, 'mono16', 'png')),
                (topics.visible, (colour, 'bgr8', 'jpg')),
            ):
                form, data = array_to_compressed(array, enc, fmt)
                writer.write(
                    topic,
                    stamp,
                    msg_type(header=header, format=form, data=np.frombuffer(data, np.uint8)),
                )
    with BagReader(tmp_path / 'b') as reader:
        stream = PairStream(reader, topics, StreamSettings())
        pairs = list(stream)
    assert len(pairs) == 4 and stream.account.invalid == {'ir': 0, 'visible': 0}
    assert (pairs[0].ir.encoding, pairs[0].visible.encoding) == ('mono16', 'bgr8')
    np.testing.assert_array_equal(pairs[0].ir.array, thermal)  # PNG is lossless, 16 bit kept
    assert np.abs(pairs[0].visible.array.astype(int) - 90).max() <= 2
