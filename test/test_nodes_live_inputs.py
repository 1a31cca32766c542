"""What real cameras send reaches the fused outputs intact.

Float thermal in degrees, outputs in the frame of the header they carry, compressed transport,
stretched aspect ratios named.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from ros_harness import (
    MS,
    T0,
    Collector,
    image_msg,
    send_pairs,
    start_fusion_node,
    wait_for,
    wait_for_matched,
)
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header
from vision_msgs.msg import Detection2DArray

from tsjnet_msgs.msg import FusedFrame
from tsjnet_ros.core.image.compressed_image import array_to_compressed
from tsjnet_ros.core.image.image_encoding import image_to_array
from tsjnet_ros.core.model.checkpoint import create_untrained_checkpoint
from tsjnet_ros.nodes.messages import ns_to_stamp


def person_scene(background, person, shape=(60, 80)):
    scene = np.full(shape, background, np.float32)
    scene[10:50, 35:45] = person
    return scene


@pytest.mark.parametrize(
    'background, person, ir_range, expected',
    [
        (20.0, 36.5, [0.0, 0.0], (0, 255)),
        (293.15, 309.65, [0.0, 0.0], (0, 255)),
        (20.0, 36.5, [15.0, 40.0], (51, 219)),
    ],
    ids=['celsius-agc', 'kelvin-agc', 'celsius-fixed-range'],
)
def test_float_thermal_in_degrees_keeps_the_person(graph, background, person, ir_range, expected):
    fusion, log, probe, pubs = start_fusion_node(graph, ir_range=ir_range)
    fused = Collector(probe, Image, 'fused/image')
    wait_for_matched(probe)
    stamps = [T0 + k * 100 * MS for k in range(3)]
    send_pairs(
        pubs,
        [image_msg(person_scene(background, person), '32FC1', s, 'cam') for s in stamps],
        [image_msg(np.zeros((60, 80), np.uint8), 'mono8', s, 'cam') for s in stamps],
    )
    assert wait_for(lambda: len(fused.messages) >= 2)
    out = image_to_array(fused.messages[0])
    assert abs(int(out[0, 0]) - expected[0]) <= 2 and abs(int(out[30, 40]) - expected[1]) <= 2


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    return create_untrained_checkpoint(tmp_path_factory.mktemp('ckpt') / 'tsjnet_rt.pt', seed=0)


@pytest.mark.parametrize('resize_to', ['visible', 'ir'])
def test_every_output_is_in_the_frame_of_its_header(graph, checkpoint, resize_to):
    """Each output topic's header, image size and boxes belong to the camera named by resize_to.

    With IR 64x48 (frame 'thermal') and visible 128x96 (frame 'color'), each output topic's
    header, image size and box coordinates belong to one camera, the one named by resize_to.
    """
    fusion, log, probe, pubs = start_fusion_node(
        graph,
        fusion_backend='tsjnet',
        checkpoint=str(checkpoint),
        resize_to=resize_to,
        score_threshold=0.0,
        max_detections=5,
    )
    frame_id, size = ('color', (128, 96)) if resize_to == 'visible' else ('thermal', (64, 48))
    images = {
        t: Collector(probe, Image, t)
        for t in ('fused/image', 'fused/image_color', 'segmentation/image', 'segmentation/color')
    }
    detections = Collector(probe, Detection2DArray, 'detections')
    frames = Collector(probe, FusedFrame, 'fused/frame')
    wait_for_matched(probe)
    rng = np.random.default_rng(0)
    stamps = [T0 + k * 100 * MS for k in range(3)]
    send_pairs(
        pubs,
        [
            image_msg(
                rng.integers(0, 255, (48, 64), dtype=np.uint8), 'mono8', s + 2 * MS, 'thermal'
            )
            for s in stamps
        ],
        [
            image_msg(rng.integers(0, 255, (96, 128, 3), dtype=np.uint8), 'bgr8', s, 'color')
            for s in stamps
        ],
    )
    assert wait_for(
        lambda: all(len(c.messages) >= 2 for c in (*images.values(), detections, frames)), 30
    )
    stamp_offset = 2 * MS if resize_to == 'ir' else 0
    for topic, collector in images.items():
        msg = collector.messages[0]
        assert (msg.header.frame_id, msg.width, msg.height) == (frame_id, *size), topic
        assert msg.header.stamp == ns_to_stamp(stamps[0] + stamp_offset), topic
    for array in (detections.messages[0], frames.messages[0].detections):
        assert array.header.frame_id == frame_id and array.detections
        for det in array.detections:
            assert det.header.frame_id == frame_id
            assert (
                0 <= det.bbox.center.position.x <= size[0]
                and 0 <= det.bbox.center.position.y <= size[1]
            )
            assert det.bbox.size_x <= size[0] + 1e-6 and det.bbox.size_y <= size[1] + 1e-6
    frame = frames.messages[0]
    assert (frame.header.frame_id, frame.fused.width, frame.fused.height) == (frame_id, *size)
    assert frame.pair_offset == pytest.approx(
        0.002, abs=1e-6
    )  # IR minus visible, whichever header


def test_stretched_aspect_ratio_is_warned_once(graph):
    fusion, log, probe, pubs = start_fusion_node(graph)
    fused = Collector(probe, Image, 'fused/image')
    wait_for_matched(probe)
    stamps = [T0 + k * 100 * MS for k in range(3)]
    send_pairs(
        pubs,
        [image_msg(np.zeros((80, 80), np.uint8), 'mono8', s, 'cam') for s in stamps],
        [image_msg(np.zeros((90, 160), np.uint8), 'mono8', s, 'cam') for s in stamps],
    )
    assert wait_for(lambda: len(fused.messages) >= 2)
    warnings = [w for w in log.lines('warning') if 'differ in aspect ratio' in w]
    assert (
        len(warnings) == 1
        and 'IR 80x80 (aspect 1.00) and visible 160x90 (aspect 1.78)' in warnings[0]
    )


def test_registration_parameter_warps_ir_onto_visible(graph, tmp_path):
    from tsjnet_ros.core.preparation.registration import Registration

    path = tmp_path / 'registration.yaml'
    Registration(np.array([[0.9, 0, 40.0], [0, 0.95, 5.0], [0, 0, 1]]), (80, 80), (160, 90)).save(
        path
    )
    fusion, log, probe, pubs = start_fusion_node(graph, registration=str(path))
    fused = Collector(probe, Image, 'fused/image')
    wait_for_matched(probe)
    ir = np.zeros((80, 80), np.uint8)
    ir[20:60, 20:60] = 255
    stamps = [T0 + k * 100 * MS for k in range(3)]
    send_pairs(
        pubs,
        [image_msg(ir, 'mono8', s, 'cam') for s in stamps],
        [image_msg(np.zeros((90, 160), np.uint8), 'mono8', s, 'cam') for s in stamps],
    )
    assert wait_for(lambda: len(fused.messages) >= 2)
    ys, xs = np.nonzero(image_to_array(fused.messages[0]) > 127)
    assert (xs.min(), xs.max(), ys.min(), ys.max()) == (58, 93, 24, 61)  # a square, not stretched
    assert not [w for w in log.lines('warning') if 'aspect ratio' in w]


def compressed(array, encoding, fmt, stamp):
    form, data = array_to_compressed(array, encoding, fmt)
    return CompressedImage(
        header=Header(stamp=ns_to_stamp(stamp), frame_id='cam'), format=form, data=data
    )


def test_compressed_transport_png16_thermal_and_jpeg_colour(graph):
    fusion, log, probe, pubs = start_fusion_node(
        graph,
        CompressedImage,
        CompressedImage,
        'ir/image/compressed',
        'visible/image/compressed',
        ir_transport='compressed',
        visible_transport='compressed',
    )
    fused = Collector(probe, Image, 'fused/image')
    wait_for_matched(probe)
    thermal = np.full((60, 80), 7000, np.uint16)  # 16-bit counts in a narrow band
    thermal[10:50, 35:45] = 7400
    stamps = [T0 + k * 100 * MS for k in range(3)]
    send_pairs(
        pubs,
        [compressed(thermal, 'mono16', 'png', s) for s in stamps],
        [compressed(np.full((60, 80, 3), 30, np.uint8), 'bgr8', 'jpg', s) for s in stamps],
    )
    assert wait_for(lambda: len(fused.messages) >= 2)
    out = image_to_array(fused.messages[0])
    assert int(out[30, 40]) - int(out[0, 0]) > 200
    assert fusion.stats().invalid == (0, 0)
    bad = CompressedImage(
        header=Header(stamp=ns_to_stamp(T0 + 10**9), frame_id='cam'), format='jpeg', data=b'junk'
    )
    pubs[0].publish(bad)
    assert wait_for(lambda: fusion.stats().invalid[0] == 1)
    assert any('is not a JPEG or PNG' in e for e in log.lines('error'))


def test_each_refusal_cause_gets_its_own_log_line(graph):
    fusion, log, probe, pubs = start_fusion_node(graph)
    wrong_encoding = image_msg(np.zeros((48, 64), np.uint8), 'mono8', T0, 'cam')
    wrong_encoding.encoding = 'yuv411'
    short_step = image_msg(np.zeros((48, 64), np.uint8), 'mono8', T0, 'cam')
    short_step.step = 10
    for msg in (wrong_encoding, short_step, wrong_encoding, short_step):
        pubs[0].publish(msg)
        pubs[1].publish(msg)
        time.sleep(0.05)
    assert wait_for(lambda: fusion.stats().invalid == (4, 4))
    errors = log.lines('error')
    assert len(errors) == 4  # two causes x two cameras, each once in the window
    assert sum('yuv411' in e for e in errors) == 2 and sum('step 10' in e for e in errors) == 2
