"""Writing and reading bags: both storages, interoperability with rclpy and the mcap library."""

import numpy as np
import pytest
import yaml

from tsjnet_ros.core.bag.messages import (
    boxes_from_detections,
    detections_message,
    header_stamp_from_cdr,
    image_array,
    image_cdr,
    stamp_ns,
)
from tsjnet_ros.core.bag.problems import BagError
from tsjnet_ros.core.bag.reader import BagReader
from tsjnet_ros.core.bag.typestore import DETECTIONS, IMAGE, bag_typestore
from tsjnet_ros.core.bag.writer import BagWriter
from tsjnet_ros.core.image.image_encoding import ImageFormatError
from tsjnet_ros.core.types.box_set import BoxSet

T0 = 1_700_000_000_000_000_000


def _images(n=4, size=(300, 400)):
    rng = np.random.default_rng(1)
    return [rng.integers(0, 256, (*size, 3), dtype=np.uint8) for _ in range(n)]


def _write_bag(path, storage, images):
    with BagWriter(path, storage) as writer:
        writer.add_topic('/cam/image', IMAGE)
        writer.add_topic('/gt', DETECTIONS)
        writer.set_custom_data('tsjnet.test', 'yes')
        for k, image in enumerate(images):
            stamp = T0 + k * 33_000_000 + 7
            writer.write_image('/cam/image', stamp + 1000, image, 'rgb8', stamp, 'cam')
            boxes = BoxSet([[k, 2.0, k + 10.5, 20.0]], [k % 3], [0.25 * (k + 1)])
            writer.write(
                '/gt', stamp + 1000, detections_message(boxes.as_detections(), stamp, 'cam')
            )
    return path


@pytest.mark.parametrize('storage', ['mcap', 'sqlite3'])
def test_round_trip_keeps_pixels_stamps_boxes_and_metadata(tmp_path, storage):
    images = _images()
    bag = _write_bag(tmp_path / 'bag', storage, images)
    meta = yaml.safe_load((bag / 'metadata.yaml').read_text())['rosbag2_bagfile_information']
    assert meta['version'] == 9 and meta['storage_identifier'] == storage
    topics = {t['topic_metadata']['name']: t for t in meta['topics_with_message_count']}
    store = bag_typestore()
    assert topics['/cam/image']['topic_metadata']['type'] == IMAGE
    assert topics['/cam/image']['topic_metadata']['type_description_hash'] == store.hash_rihs01(
        IMAGE
    )
    assert topics['/gt']['topic_metadata']['type_description_hash'] == store.hash_rihs01(
        DETECTIONS
    )
    assert topics['/cam/image']['message_count'] == len(images)
    assert (
        topics['/cam/image']['topic_metadata']['offered_qos_profiles'][0]['reliability']
        == 'reliable'
    )
    with BagReader(bag) as reader:
        assert reader.custom_data == {'tsjnet.test': 'yes'}
        assert reader.topics['/gt'].count == len(images)
        seen = {'/cam/image': 0, '/gt': 0}
        for message in reader.messages(['/cam/image', '/gt']):
            k = message.index
            decoded = reader.deserialize(message)
            assert (
                stamp_ns(decoded.header)
                == T0 + k * 33_000_000 + 7
                == header_stamp_from_cdr(message.data)
            )
            assert message.log_time_ns == stamp_ns(decoded.header) + 1000
            if message.topic == '/cam/image':
                np.testing.assert_array_equal(image_array(decoded), images[k])
                assert decoded.header.frame_id == 'cam'
            else:
                boxes = boxes_from_detections(decoded)
                np.testing.assert_allclose(boxes.boxes, [[k, 2.0, k + 10.5, 20.0]])
                assert boxes.class_ids.tolist() == [k % 3] and boxes.scores.tolist() == [
                    0.25 * (k + 1)
                ]
            seen[message.topic] += 1
        assert seen == {'/cam/image': len(images), '/gt': len(images)}
        assert reader.problems == []


def test_image_cdr_round_trips_every_encoding():
    store = bag_typestore()
    rng = np.random.default_rng(2)
    cases = [
        ('rgb8', rng.integers(0, 256, (7, 9, 3), dtype=np.uint8)),
        ('mono8', rng.integers(0, 256, (5, 3), dtype=np.uint8)),
        ('mono16', rng.integers(0, 65536, (4, 6), dtype=np.uint16)),
        ('32FC1', rng.random((3, 5), dtype=np.float32)),
        ('bgra8', rng.integers(0, 256, (2, 3, 4), dtype=np.uint8)),
    ]
    for encoding, array in cases:
        for frame_id in ('', 'a', 'abc', 'camera_optical_frame'):
            data = image_cdr(array, encoding, T0 + 5, frame_id)
            assert data[:4] == b'\x00\x01\x00\x00'  # little-endian CDR
            decoded = store.deserialize_cdr(data, IMAGE)
            assert (decoded.encoding, decoded.header.frame_id, stamp_ns(decoded.header)) == (
                encoding,
                frame_id,
                T0 + 5,
            )
            assert header_stamp_from_cdr(data) == T0 + 5
            np.testing.assert_array_equal(image_array(decoded), array)
    with pytest.raises(ImageFormatError, match='does not fit encoding rgb8'):
        image_cdr(np.zeros((4, 4), np.uint8), 'rgb8', 0, '')


def test_bag_messages_deserialise_with_rclpy(tmp_path):
    rclpy_serialization = pytest.importorskip('rclpy.serialization')
    vision = pytest.importorskip('vision_msgs.msg')
    from sensor_msgs.msg import Image

    images = _images(2, (20, 30))
    bag = _write_bag(tmp_path / 'bag', 'mcap', images)
    with BagReader(bag) as reader:
        for message in reader.messages(['/cam/image', '/gt']):
            if message.topic == '/cam/image':
                msg = rclpy_serialization.deserialize_message(bytes(message.data), Image)
                assert (msg.width, msg.height, msg.encoding) == (30, 20, 'rgb8')
                assert bytes(msg.data) == images[message.index].tobytes()
            else:
                msg = rclpy_serialization.deserialize_message(
                    bytes(message.data), vision.Detection2DArray
                )
                assert msg.detections[0].results[0].hypothesis.class_id == str(message.index % 3)
                assert msg.detections[0].bbox.size_y == pytest.approx(18.0)


def test_mcap_file_is_read_by_the_mcap_library_with_ros2_schemas(tmp_path):
    reader_mod = pytest.importorskip('mcap.reader')
    decoder = pytest.importorskip('mcap_ros2.decoder')
    images = _images(3, (40, 50))
    bag = _write_bag(tmp_path / 'bag', 'mcap', images)
    with open(bag / 'bag.mcap', 'rb') as handle:
        reader = reader_mod.make_reader(handle, decoder_factories=[decoder.DecoderFactory()])
        summary = reader.get_summary()
        assert reader.get_header().profile == 'ros2'
        assert {s.encoding for s in summary.schemas.values()} == {'ros2msg'}
        assert {c.message_encoding for c in summary.channels.values()} == {'cdr'}
        assert summary.statistics.message_count == 6
        hashes = {c.topic: c.metadata['topic_type_hash'] for c in summary.channels.values()}
        assert hashes['/cam/image'] == bag_typestore().hash_rihs01(IMAGE)
        decoded = [(c.topic, m) for _, c, _, m in reader.iter_decoded_messages()]
    images_read = [m for topic, m in decoded if topic == '/cam/image']
    assert [m.encoding for m in images_read] == ['rgb8'] * 3
    assert bytes(images_read[2].data) == images[2].tobytes()
    with open(bag / 'bag.mcap', 'rb') as handle:
        metadata = {m.name: m.metadata for m in reader_mod.make_reader(handle).iter_metadata()}
    assert 'version: 9' in metadata['rosbag2']['serialized_metadata']


def test_writer_and_reader_errors_name_the_problem(tmp_path):
    bag = _write_bag(tmp_path / 'bag', 'mcap', _images(1, (20, 20)))
    with pytest.raises(BagError, match='already exists'):
        BagWriter(bag)
    (tmp_path / 'plain').mkdir()
    (tmp_path / 'plain' / 'keep.txt').write_text('x')
    with pytest.raises(BagError, match='not a rosbag2 folder'):
        BagWriter(tmp_path / 'plain', overwrite=True)
    with pytest.raises(ValueError, match='unknown storage'):
        BagWriter(tmp_path / 'new', storage='rosbag1')
    with pytest.raises(BagError, match='bag not found'):
        BagReader(tmp_path / 'missing')
    with pytest.raises(BagError, match='without metadata.yaml'):
        BagReader(tmp_path / 'plain')
    with BagReader(bag) as reader:
        with pytest.raises(
            BagError, match=r'topic /nope is not in bag .*/cam/image \(sensor_msgs/msg/Image\)'
        ):
            reader.require('/nope', IMAGE)
        with pytest.raises(
            BagError,
            match='topic /gt has type vision_msgs/msg/Detection2DArray, '
            'expected sensor_msgs/msg/Image',
        ):
            reader.require('/gt', IMAGE)
    with BagWriter(tmp_path / 'b2') as writer:
        with pytest.raises(ValueError, match='absolute'):
            writer.add_topic('relative', IMAGE)
        with pytest.raises(BagError, match='was not declared'):
            writer.write_raw('/x', 0, b'')


def test_single_storage_file_and_overwrite(tmp_path):
    images = _images(2, (20, 20))
    bag = _write_bag(tmp_path / 'bag', 'mcap', images)
    with BagReader(bag / 'bag.mcap') as reader:  # a file inside its folder reads the folder
        assert reader.custom_data == {'tsjnet.test': 'yes'}
    lone = tmp_path / 'lone.mcap'
    lone.write_bytes((bag / 'bag.mcap').read_bytes())
    with BagReader(lone) as reader:
        assert sum(1 for _ in reader.messages(['/cam/image'])) == 2
    again = _write_bag(tmp_path / 'bag2', 'sqlite3', images)
    with BagWriter(again, 'mcap', overwrite=True) as writer:
        writer.add_topic('/only', IMAGE)
    with BagReader(again) as reader:
        assert list(reader.topics) == ['/only']
