"""Pairs from a bag are the pairs the live node forms, with the node's parameters."""

import numpy as np
import pytest

from tsjnet_ros.core.bag.frame_sources import SyntheticSource
from tsjnet_ros.core.bag.maker import CameraTiming, MakeOptions, make_bag
from tsjnet_ros.core.bag.messages import detections_message, image_cdr
from tsjnet_ros.core.bag.pairing import PairStream, plan_pairs
from tsjnet_ros.core.bag.problems import BagError
from tsjnet_ros.core.bag.reader import BagReader
from tsjnet_ros.core.bag.topics import InputTopics
from tsjnet_ros.core.bag.typestore import DETECTIONS, IMAGE
from tsjnet_ros.core.bag.writer import BagWriter
from tsjnet_ros.core.image.color import RangeScaler, unit_to_uint8
from tsjnet_ros.core.preparation.pair_preparation import prepare_pair
from tsjnet_ros.core.runtime.stream_settings import StreamSettings
from tsjnet_ros.core.types.box_set import BoxSet
from tsjnet_ros.resources import config_file


def _bag(path, seconds=0.5, **timing):
    make_bag(path, SyntheticSource(seconds, 64, 48), CameraTiming(**timing), MakeOptions())
    return path


def test_every_visible_frame_is_paired_including_the_last(tmp_path):
    bag = _bag(tmp_path / 'b', seconds=1.0)  # 30 + 30 frames, 4 ms IR offset, 2 ms jitter
    with BagReader(bag) as reader:
        pairs, account = plan_pairs(reader, InputTopics(), StreamSettings())
    assert len(pairs) == 30 and account.flushed_pairs == 1
    assert account.unpaired == {'ir': 0, 'visible': 0}
    assert [p.visible.index for p in pairs] == list(range(30)) == [p.ir.index for p in pairs]
    offsets = np.array([(p.ir.stamp_ns - p.visible.stamp_ns) / 1e6 for p in pairs])
    assert abs(offsets.mean() - 4.0) < 1.5 and np.abs(offsets).max() < 15
    assert account.sync_stats.emitted == 30 and account.sync_stats.received == [30, 30]


def test_slower_ir_camera_pairs_each_ir_frame_with_its_nearest_visible_frame(tmp_path):
    bag = _bag(tmp_path / 'b', seconds=1.0, ir_rate=15.0, jitter=0.0)
    with BagReader(bag) as reader:
        pairs, account = plan_pairs(reader, InputTopics(), StreamSettings())
    assert len(pairs) == 15 and account.unpaired == {'ir': 0, 'visible': 15}
    assert [p.visible.index for p in pairs] == list(range(0, 30, 2))
    assert all(p.ir.stamp_ns - p.visible.stamp_ns == 4_000_000 for p in pairs)


def test_node_parameters_come_from_the_parameter_file(tmp_path):
    assert StreamSettings.from_parameter_file(config_file('fusion.yaml')) == StreamSettings()
    bag = _bag(tmp_path / 'b', ir_clock_offset=0.01, jitter=0.0)
    with BagReader(bag) as reader:
        pairs, _ = plan_pairs(reader, InputTopics(), StreamSettings())
    assert len(pairs) == 15
    params = tmp_path / 'params.yaml'
    params.write_text(
        '/fusion_node:\n  ros__parameters:\n    slop: 0.005\n'
        '    sync_policy: latest\n    queue_size: 3\n'
    )
    settings = StreamSettings.from_parameter_file(params)
    assert (settings.slop, settings.sync_policy, settings.queue_size, settings.resize_to) == (
        0.005,
        'latest',
        3,
        'visible',
    )
    with (
        BagReader(bag) as reader,
        pytest.raises(
            BagError, match=r'no IR/visible pair .*latest, slop=0.005 s: /ir/image has 15 messages'
        ),
    ):
        plan_pairs(reader, InputTopics(), settings)
    params.write_text('/**/fusion_node:\n  ros__parameters:\n    slop: 5.0\n')
    with pytest.raises(ValueError, match='slop must be in'):
        StreamSettings.from_parameter_file(params)


def test_clock_offset_beyond_any_slop_names_both_stamp_ranges(tmp_path):
    bag = _bag(tmp_path / 'b', ir_clock_offset=5.0, jitter=0.0)
    with (
        BagReader(bag) as reader,
        pytest.raises(BagError, match=r'stamp ranges are 4\.5\d\d s apart'),
    ):
        plan_pairs(reader, InputTopics(), StreamSettings())


def _write_pairs(path, stamps, gt_delay_ns):
    """Equal IR and visible stamps; boxes logged ``gt_delay_ns`` after their image."""
    frame = np.full((20, 24), 90, np.uint8)
    with BagWriter(path) as writer:
        for topic, kind in (
            ('/ir/image', IMAGE),
            ('/visible/image', IMAGE),
            ('/ground_truth/detections', DETECTIONS),
        ):
            writer.add_topic(topic, kind)
        events = []
        for stamp in stamps:
            events.append((stamp, '/ir/image', image_cdr(frame, 'mono8', stamp, 'c')))
            events.append((stamp, '/visible/image', image_cdr(frame, 'mono8', stamp, 'c')))
            boxes = BoxSet([[1, 2, 3, 4 + stamp % 7]], [stamp % 3])
            events.append(
                (
                    stamp + gt_delay_ns,
                    '/ground_truth/detections',
                    detections_message(boxes.as_detections(), stamp, 'c'),
                )
            )
        for log, topic, message in sorted(events, key=lambda e: e[0]):
            if isinstance(message, bytes):
                writer.write_raw(topic, log, message)
            else:
                writer.write(topic, log, message)


def test_stamps_going_back_are_ignored_as_the_node_ignores_them(tmp_path):
    t = 10**18
    ir = [t, t + 100_000_000, t + 150_000_000, t + 200_000_000]
    path = tmp_path / 'b'
    frame = np.full((20, 24), 90, np.uint8)
    with BagWriter(path) as writer:
        writer.add_topic('/ir/image', IMAGE)
        writer.add_topic('/visible/image', IMAGE)
        for k, log in enumerate(ir):
            stamp = (
                log - 120_000_000 if k == 2 else log
            )  # arrives after k=1 but is stamped before it
            writer.write_raw('/ir/image', log, image_cdr(frame, 'mono8', stamp, 'c'))
            writer.write_raw('/visible/image', log, image_cdr(frame, 'mono8', log, 'c'))
    with BagReader(path) as reader:
        stream = PairStream(reader, InputTopics(), StreamSettings())
        pairs = list(stream)
    assert stream.account.sync_stats.out_of_order == [1, 0]
    assert len(pairs) == 3 and any(p.kind == 'out_of_order' for p in stream.account.problems)


def test_ground_truth_logged_late_is_still_matched_by_stamp(tmp_path):
    t = 10**18
    stamps = [t + k * 40_000_000 for k in range(6)]
    path = tmp_path / 'b'
    _write_pairs(path, stamps, gt_delay_ns=200_000_000)
    with BagReader(path) as reader:
        stream = PairStream(reader, InputTopics(), StreamSettings())
        pairs = list(stream)
    assert len(pairs) == 6 and stream.account.gt_unmatched == 0
    for pair in pairs:
        assert pair.gt_boxes is not None
        assert pair.gt_boxes.class_ids.tolist() == [pair.visible.stamp_ns % 3]
        assert pair.gt_boxes.boxes[0, 3] == 4 + pair.visible.stamp_ns % 7


def test_prepare_pair_brings_any_camera_pair_to_the_backend_input():
    rng = np.random.default_rng(0)
    ir16 = rng.integers(0, 65536, (24, 32), dtype=np.uint16)
    vis_bgr = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    ir, vis = prepare_pair(ir16, 'mono16', vis_bgr, 'bgr8', 'visible')
    assert ir.dtype == np.uint16 and ir.shape == (48, 64)  # 16-bit kept: the backend scales it
    np.testing.assert_array_equal(vis, vis_bgr[:, :, ::-1])
    ir, vis = prepare_pair(ir16, 'mono16', vis_bgr, 'bgr8', 'ir')
    assert ir is ir16 and vis.shape == (24, 32, 3)
    vis16 = rng.integers(0, 65536, (24, 32), dtype=np.uint16)
    ir_rgb = rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)
    ir, vis = prepare_pair(ir_rgb, 'rgb8', vis16, '16UC1', 'visible')
    # wider than 8 bit: scaled by the frame's value range (percentiles), not cut to its top byte
    np.testing.assert_array_equal(vis, unit_to_uint8(RangeScaler(momentum=0.0)(vis16)))
    assert ir.ndim == 2 and ir.dtype == np.uint8
    with pytest.raises(ValueError, match='resize_to'):
        prepare_pair(ir16, 'mono16', vis_bgr, 'bgr8', 'largest')
