"""tsjnet_msgs: the message contract that the fusion node and its consumers share."""

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
PACKAGE_DIR = REPO_ROOT / 'tsjnet_msgs'

msg = pytest.importorskip(
    'tsjnet_msgs.msg', reason='tsjnet_msgs is not built; run scripts/build_interfaces.sh first'
)
serialization = pytest.importorskip('rclpy.serialization')

from builtin_interfaces.msg import Time  # noqa: E402
from sensor_msgs.msg import Image  # noqa: E402
from vision_msgs.msg import Detection2D, Detection2DArray, ObjectHypothesisWithPose  # noqa: E402

FUSED_FRAME_FIELDS = {
    'header': 'std_msgs/Header',
    'ir_stamp': 'builtin_interfaces/Time',
    'ir_frame_id': 'string',
    'pair_offset': 'float',
    'inference_time': 'float',
    'latency': 'float',
    'backend': 'string',
    'skipped_pairs': 'uint32',
    'fused': 'sensor_msgs/Image',
    'fused_color': 'sensor_msgs/Image',
    'segmentation': 'sensor_msgs/Image',
    'detections': 'vision_msgs/Detection2DArray',
}


def _image(array: np.ndarray, encoding: str, frame_id: str) -> Image:
    image = Image()
    image.header.frame_id = frame_id
    image.height, image.width = array.shape[:2]
    image.encoding = encoding
    image.step = array.strides[0]
    image.data = array.tobytes()
    return image


def _sample_frame():
    rng = np.random.default_rng(7)
    frame = msg.FusedFrame()
    frame.header.stamp = Time(sec=1_700_000_000, nanosec=250_000_000)
    frame.header.frame_id = 'visible_optical'
    frame.ir_stamp = Time(sec=1_700_000_000, nanosec=262_500_000)
    frame.ir_frame_id = 'thermal_optical'
    # float32 fields get values exact in float32 so the round trip compares equal.
    frame.pair_offset = 0.015625
    frame.inference_time = 41.5
    frame.latency = 55.25
    frame.backend = 'tsjnet'
    frame.skipped_pairs = 3
    frame.fused = _image(rng.integers(0, 256, (6, 8), dtype=np.uint8), 'mono8', 'visible_optical')
    frame.fused_color = _image(
        rng.integers(0, 256, (6, 8, 3), dtype=np.uint8), 'bgr8', 'visible_optical'
    )
    frame.segmentation = _image(
        rng.integers(0, 9, (6, 8), dtype=np.uint8), 'mono8', 'visible_optical'
    )

    detection = Detection2D()
    detection.header = frame.header
    detection.bbox.center.position.x = 3.5
    detection.bbox.center.position.y = 2.0
    detection.bbox.size_x = 4.0
    detection.bbox.size_y = 3.0
    hypothesis = ObjectHypothesisWithPose()
    hypothesis.hypothesis.class_id = 'person'
    hypothesis.hypothesis.score = 0.875
    detection.results.append(hypothesis)
    frame.detections = Detection2DArray(header=frame.header, detections=[detection])
    return frame


def test_fused_frame_fields_and_types():
    assert msg.FusedFrame.get_fields_and_field_types() == FUSED_FRAME_FIELDS


def test_fused_frame_round_trips_through_cdr():
    frame = _sample_frame()
    data = serialization.serialize_message(frame)
    assert isinstance(data, bytes) and len(data) > frame.fused.step * frame.fused.height
    back = serialization.deserialize_message(data, msg.FusedFrame)
    assert back == frame
    assert back.detections.detections[0].results[0].hypothesis.class_id == 'person'
    colour = np.frombuffer(bytes(back.fused_color.data), np.uint8).reshape(6, 8, 3)
    assert np.array_equal(
        colour, np.frombuffer(bytes(frame.fused_color.data), np.uint8).reshape(6, 8, 3)
    )


def test_default_fused_frame_has_empty_optional_images():
    frame = msg.FusedFrame()
    assert frame.fused_color.width == frame.fused_color.height == 0
    assert frame.segmentation.width == frame.segmentation.height == 0
    back = serialization.deserialize_message(
        serialization.serialize_message(frame), msg.FusedFrame
    )
    assert back == frame


def test_fusion_status_round_trips_through_cdr():
    status = msg.FusionStatus(
        backend='laplacian_pyramid',
        device='cpu',
        ready=True,
        visible_rate=29.5,
        infrared_rate=8.75,
        output_rate=8.5,
        mean_inference_time=12.5,
        mean_latency=20.0,
        mean_abs_pair_offset=0.00390625,
        pairs_fused=2**40,
        pairs_skipped=12,
        unpaired_images=3,
        message='',
    )
    back = serialization.deserialize_message(
        serialization.serialize_message(status), msg.FusionStatus
    )
    assert back == status
    assert back.pairs_fused == 2**40


def test_package_manifest_declares_interface_dependencies():
    root = ET.parse(PACKAGE_DIR / 'package.xml').getroot()
    assert root.get('format') == '3'
    assert root.findtext('name') == 'tsjnet_msgs'
    depends = {e.text for e in root.findall('depend')}
    assert {'vision_msgs', 'sensor_msgs', 'std_msgs', 'builtin_interfaces'} <= depends
    assert 'rosidl_default_generators' in {e.text for e in root.findall('buildtool_depend')}
    assert 'rosidl_default_runtime' in {e.text for e in root.findall('exec_depend')}
    assert root.findtext('member_of_group') == 'rosidl_interface_packages'


def test_generated_descriptions_reference_upstream_vision_msgs():
    """FusedFrame's hash is built on the same Detection2DArray hash as upstream."""
    # <prefix>/lib/pythonX.Y/site-packages/tsjnet_msgs/msg/__init__.py
    share = Path(msg.__file__).resolve().parents[5] / 'share' / 'tsjnet_msgs' / 'msg'
    hashes = {
        e['type_name']: e['hash_string']
        for e in json.loads((share / 'FusedFrame.json').read_text())['type_hashes']
    }
    assert hashes['tsjnet_msgs/msg/FusedFrame'].startswith('RIHS01_')
    assert hashes['vision_msgs/msg/Detection2DArray'] == (
        'RIHS01_214274120007f4a683866481336b70310268cfa107aebe9d594a6acf75bda968'
    )
