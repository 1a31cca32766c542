"""Damaged bags: what was readable is kept, every loss is reported with topic or offset."""

import struct

import numpy as np
import pytest

from tsjnet_ros.core.bag.evaluation import EvaluationOptions, evaluate_bag
from tsjnet_ros.core.bag.frame_sources import SyntheticSource
from tsjnet_ros.core.bag.maker import CameraTiming, MakeOptions, make_bag
from tsjnet_ros.core.bag.mcap_salvage import McapSalvage
from tsjnet_ros.core.bag.messages import image_cdr, image_message
from tsjnet_ros.core.bag.pairing import PairStream
from tsjnet_ros.core.bag.problems import BagError
from tsjnet_ros.core.bag.reader import BagReader
from tsjnet_ros.core.bag.topics import InputTopics
from tsjnet_ros.core.bag.typestore import IMAGE
from tsjnet_ros.core.bag.writer import BagWriter
from tsjnet_ros.core.fusion import create_backend
from tsjnet_ros.core.runtime.stream_settings import StreamSettings

TIMING = CameraTiming(jitter=0.0)


@pytest.fixture
def bag(tmp_path):
    path = tmp_path / 'bag'
    make_bag(
        path, SyntheticSource(10 / 30, 400, 300), TIMING, MakeOptions(ground_truth=False)
    )  # visible frames get own chunks
    return path


def _chunks(mcap_path):
    """(offset, messages inside) of every chunk record of the data section, in file order."""
    counts = {}
    for message in McapSalvage(mcap_path).messages():
        counts[message.offset] = counts.get(message.offset, 0) + 1
    return sorted(counts.items())


def _cut_inside_chunk(storage, number):
    """Truncate ``storage`` 20 bytes into chunk ``number``.

    Returns (its offset, messages before).
    """
    chunks = _chunks(storage)
    offset = chunks[number][0]
    storage.write_bytes(storage.read_bytes()[: offset + 20])
    return offset, sum(count for _, count in chunks[:number])


def test_truncated_mcap_keeps_the_messages_before_the_cut(bag):
    offset, before = _cut_inside_chunk(bag / 'bag.mcap', 3)
    assert 0 < before < 20
    with BagReader(bag) as reader:
        assert reader.salvaged
        messages = list(reader.messages(['/ir/image', '/visible/image']))
        assert len(messages) == before
        kinds = {p.kind: p for p in reader.problems}
        assert kinds['truncated'].offset == offset
        assert 'runs past the end' in kinds['truncated'].detail
        lost = [p for p in reader.problems if p.kind == 'count_mismatch']
        assert {p.topic for p in lost} == {'/ir/image', '/visible/image'}
        assert all('lists 10 messages' in p.detail for p in lost)


def test_evaluating_a_truncated_bag_reports_partial_results(bag, tmp_path):
    _, before = _cut_inside_chunk(bag / 'bag.mcap', 3)
    result = evaluate_bag(
        bag,
        create_backend('average'),
        StreamSettings(),
        tmp_path / 'out',
        options=EvaluationOptions(metrics=('EN',), contact_sheet_rows=0),
    )
    assert result.status == 'complete'
    assert 0 < result.processed_pairs == result.expected_pairs <= before // 2
    assert {p.kind for p in result.problems} >= {'truncated', 'count_mismatch'}
    with BagReader(tmp_path / 'out') as out:
        assert out.topics['/fused/image'].count == result.processed_pairs


def test_corrupt_chunk_is_skipped_with_its_offset(bag):
    storage = bag / 'bag.mcap'
    data = bytearray(storage.read_bytes())
    chunk, inside = _chunks(storage)[1]
    struct.pack_into('<Q', data, chunk + 9 + 16, 12345)  # wrong uncompressed size
    storage.write_bytes(bytes(data[: len(data) - 40]))  # and no footer: read record by record
    with BagReader(bag) as reader:
        messages = list(reader.messages(['/ir/image', '/visible/image']))
        assert len(messages) == 20 - inside
        corrupt = [p for p in reader.problems if p.kind == 'corrupt']
        assert corrupt and corrupt[0].offset == chunk


def test_not_an_mcap_file_is_a_clear_error(tmp_path, bag):
    (bag / 'bag.mcap').write_bytes(b'garbage that is no MCAP at all')
    with pytest.raises(BagError, match='not an MCAP file'):
        BagReader(bag).open()


def test_invalid_images_are_skipped_and_named(tmp_path):
    path = tmp_path / 'bad'
    good = np.full((40, 50), 100, np.uint8)
    with BagWriter(path) as writer:
        writer.add_topic('/ir/image', IMAGE)
        writer.add_topic('/visible/image', IMAGE)
        for k in range(6):
            stamp = 10**18 + k * 50_000_000
            ir = image_message(good, 'mono8', stamp, 'cam')
            if k == 2:
                ir.data = ir.data[:-7]  # shorter than step * height
            if k == 4:
                ir = image_message(
                    np.zeros((8, 8), np.uint8), 'mono8', stamp, 'cam'
                )  # too small to fuse
            writer.write('/ir/image', stamp, ir)
            writer.write_raw(
                '/visible/image', stamp, image_cdr(np.dstack([good] * 3), 'rgb8', stamp, 'cam')
            )
    with BagReader(path) as reader:
        stream = PairStream(reader, InputTopics(), StreamSettings())
        pairs = list(stream)
    account = stream.account
    assert len(pairs) == 4 and account.invalid == {'ir': 2, 'visible': 0}
    assert account.unpaired == {'ir': 0, 'visible': 2}
    problems = {p.index: p for p in account.problems if p.kind == 'invalid_image'}
    assert set(problems) == {2, 4} and all(p.topic == '/ir/image' for p in problems.values())
    assert 'data length' in problems[2].detail and 'smaller than 16 pixels' in problems[4].detail


def test_no_pair_left_after_damage_says_so(bag):
    _cut_inside_chunk(bag / 'bag.mcap', 0)  # the topics survive, no message does
    with (
        BagReader(bag) as reader,
        pytest.raises(
            BagError,
            match=r'no IR/visible pair .*the bag is damaged: .*\[truncated\] byte offset \d+',
        ),
    ):
        list(PairStream(reader, InputTopics(), StreamSettings()))


class _FailingBackend:
    """Average fusion that fails on chosen calls (ValueError) or stops the run (Ctrl-C)."""

    name = 'failing'
    detection_classes: list = []
    segmentation_classes: list = []

    def __init__(self, fail_at=(), interrupt_at=None):
        self._base = create_backend('average')
        self.calls = 0
        self.fail_at, self.interrupt_at = set(fail_at), interrupt_at

    def fuse(self, ir, visible):
        self.calls += 1
        if self.calls - 1 == self.interrupt_at:
            raise KeyboardInterrupt
        if self.calls - 1 in self.fail_at:
            raise ValueError('model exploded')
        return self._base.fuse(ir, visible)


def test_a_failing_pair_is_reported_and_the_rest_processed(bag, tmp_path):
    result = evaluate_bag(
        bag,
        _FailingBackend(fail_at={2}),
        StreamSettings(),
        tmp_path / 'out',
        options=EvaluationOptions(metrics=(), contact_sheet_rows=0),
    )
    assert (
        result.status == 'complete' and result.processed_pairs == 9 and result.expected_pairs == 10
    )
    failed = [p for p in result.problems if p.kind == 'fusion_failed']
    assert len(failed) == 1 and 'pair 2: ValueError: model exploded' in failed[0].detail
    assert any(p.kind == 'incomplete' for p in result.problems)


def test_an_interrupted_evaluation_keeps_a_readable_output_bag(bag, tmp_path):
    from tsjnet_ros.core.bag.evaluation_report import write_report

    result = evaluate_bag(
        bag,
        _FailingBackend(interrupt_at=4),
        StreamSettings(),
        tmp_path / 'out',
        options=EvaluationOptions(metrics=('EN',), contact_sheet_rows=0),
    )
    assert result.status == 'interrupted' and result.processed_pairs == 4
    with BagReader(tmp_path / 'out') as out:
        assert out.problems == [] and out.topics['/fused/image'].count == 4
        assert sum(1 for _ in out.messages(['/fused/image'])) == 4
    paths = write_report(result, tmp_path / 'report')
    assert 'interrupted' in paths['report_md'].read_text()


def test_zstd_chunks_are_read_intact_and_after_a_cut(tmp_path):
    """Chunks compressed by the storage read through the summary and in salvage.

    The chunks are compressed with rosbag2's zstd presets.
    """
    from rosbags.rosbag2 import CompressionFormat, CompressionMode, StoragePlugin, Writer

    from tsjnet_ros.core.bag.mcap_writer import McapStorage
    from tsjnet_ros.core.bag.typestore import bag_typestore

    class ZstdChunkWriter(Writer):
        STORAGE_PLUGINS = {**Writer.STORAGE_PLUGINS, StoragePlugin.MCAP: McapStorage}

    store = bag_typestore()
    frames = [np.full((300, 400), k, np.uint8) for k in range(20)]
    writer = ZstdChunkWriter(
        tmp_path / 'z', version=Writer.VERSION_LATEST, storage_plugin=StoragePlugin.MCAP
    )
    writer.set_compression(CompressionMode.STORAGE, CompressionFormat.ZSTD)
    with writer:
        connection = writer.add_connection('/ir/image', IMAGE, typestore=store)
        for k, frame in enumerate(frames):
            writer.write(connection, 10**18 + k, image_cdr(frame, 'mono8', 10**18 + k, 'c'))
    storage = tmp_path / 'z' / 'z.mcap'
    assert (
        storage.stat().st_size < sum(f.nbytes for f in frames) // 10
    )  # the chunks are compressed
    with BagReader(tmp_path / 'z') as reader:
        assert not reader.salvaged and reader.topics['/ir/image'].count == 20
        assert [
            int(store.deserialize_cdr(m.data, IMAGE).data[0])
            for m in reader.messages(['/ir/image'])
        ] == list(range(20))
    chunks = _chunks(storage)
    assert len(chunks) > 1
    storage.write_bytes(storage.read_bytes()[: chunks[-1][0] + 30])
    with BagReader(tmp_path / 'z') as reader:
        assert reader.salvaged
        assert len(list(reader.messages(['/ir/image']))) == sum(count for _, count in chunks[:-1])
        assert any(p.kind == 'truncated' and p.offset == chunks[-1][0] for p in reader.problems)
