"""Round trip: pairs -> bag -> offline evaluation equals the direct evaluation of the pairs."""

import json

import cv2
import numpy as np
import pytest
from bag_making import make_bag

from tsjnet_ros.core.bag.messages import boxes_from_detections, image_array, stamp_ns
from tsjnet_ros.core.bag.reader import BagReader
from tsjnet_ros.core.datasets.synthetic import SyntheticScene
from tsjnet_ros.core.fusion import create_backend
from tsjnet_ros.core.viz.overlay import draw_overlay
from tsjnet_ros.tools.bag import main as bag_main
from tsjnet_ros.tools.evaluate import main as eval_main

PAIRS = 5


@pytest.fixture(scope='module')
def pair_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp('pairs')
    (folder / 'ir').mkdir()
    (folder / 'vi').mkdir()
    scene = SyntheticScene(96, 72, num_targets=4, seed=3)
    for k in range(PAIRS):
        frame = scene.render(k * 0.1)
        cv2.imwrite(str(folder / 'ir' / f'{k:03d}.png'), frame.ir)
        cv2.imwrite(
            str(folder / 'vi' / f'{k:03d}.png'), cv2.cvtColor(frame.visible, cv2.COLOR_RGB2BGR)
        )
    return folder


@pytest.mark.parametrize('storage', ['mcap', 'sqlite3'])
def test_bag_evaluation_equals_direct_evaluation(pair_folder, tmp_path, storage):
    assert (
        eval_main(
            [
                str(pair_folder),
                '--out',
                str(tmp_path / 'direct'),
                '--method',
                'laplacian_pyramid',
                '--contact-sheet',
                '0',
                '--no-progress',
            ]
        )
        == 0
    )
    direct = json.loads((tmp_path / 'direct' / 'metrics.json').read_text())
    direct_per_image = direct['datasets'][pair_folder.name]['methods']['laplacian_pyramid'][
        'per_image'
    ]

    bag, report = tmp_path / 'bag', tmp_path / 'report'
    make_bag(bag, source=str(pair_folder), storage=storage, no_progress=True)
    assert (
        bag_main(
            [
                'evaluate',
                str(bag),
                '--out',
                str(report),
                '--backend',
                'laplacian_pyramid',
                '--out-storage',
                storage,
                '--no-progress',
            ]
        )
        == 0
    )
    document = json.loads((report / 'report.json').read_text())
    summary = document['summary']
    assert summary['pairs'] == {'expected': PAIRS, 'processed': PAIRS, 'flushed_at_end': 1}
    assert summary['unpaired_images'] == {'ir': 0, 'visible': 0} and summary['problems'] == []
    for pair, name in zip(document['pairs'], sorted(direct_per_image)):
        assert pair['name'] == name  # the report names each pair by its input files
        for metric, value in direct_per_image[name].items():
            if metric != 'fuse_ms':
                assert pair['metrics'][metric] == pytest.approx(value, rel=1e-12, abs=1e-12), (
                    name,
                    metric,
                )
    for path in (
        'report.md',
        'metrics.md',
        'metrics.csv',
        'metrics.json',
        'contact_sheet.png',
        'per_frame_metrics.png',
        'latency.png',
    ):
        assert (report / path).is_file(), path
    assert cv2.imread(str(report / 'contact_sheet.png')).shape[1] == 5 * 480

    with BagReader(bag) as reader:
        inputs = [reader.deserialize(m) for m in reader.messages(['/visible/image'])]
    with BagReader(report / 'fused_bag') as out:
        assert out.storage == storage
        counts = {t: info.count for t, info in out.topics.items()}
        assert counts == {'/fused/image': PAIRS, '/debug/overlay': PAIRS, '/detections': PAIRS}
        fused = [out.deserialize(m) for m in out.messages(['/fused/image'])]
        detections = [out.deserialize(m) for m in out.messages(['/detections'])]
    assert (
        [stamp_ns(m.header) for m in fused]
        == [stamp_ns(m.header) for m in inputs]
        == [p['stamp_ns'] for p in document['pairs']]
    )
    assert {m.header.frame_id for m in fused} == {'camera_optical_frame'}
    assert all(m.encoding == 'mono8' and image_array(m).shape == (72, 96) for m in fused)
    assert all(
        len(boxes_from_detections(d).boxes) == 0 for d in detections
    )  # a classical backend detects nothing
    assert [stamp_ns(d.header) for d in detections] == [stamp_ns(m.header) for m in fused]


def test_synthetic_bag_with_unequal_rates_processes_every_formed_pair(tmp_path):
    bag, report = tmp_path / 'bag', tmp_path / 'report'
    make_bag(
        bag,
        duration=0.5,
        width=64,
        height=48,
        ir_rate=20,
        visible_rate=30,
        ir_encoding='mono16',
        no_progress=True,
    )
    assert (
        bag_main(
            [
                'evaluate',
                str(bag),
                '--out',
                str(report),
                '--metrics',
                'EN,SD',
                '--contact-sheet',
                '2',
                '--backend',
                'laplacian_pyramid',
                '--no-progress',
            ]
        )
        == 0
    )
    summary = json.loads((report / 'report.json').read_text())['summary']
    assert summary['messages'] == {'ir': 10, 'visible': 15}
    assert summary['pairs']['processed'] == summary['pairs']['expected'] == 10
    assert summary['unpaired_images'] == {'ir': 0, 'visible': 5}
    # boxes of the 5 unpaired visible frames match no pair; class maps are not read for a
    # backend without segmentation
    assert summary['ground_truth'] == {
        'detections': True,
        'segmentation': True,
        'unmatched_messages': 5,
        'source': "the synthetic scene's target boxes and class maps",
    }
    assert set(summary['fusion_metrics_mean']) == {'EN', 'SD'} and np.isfinite(
        summary['fusion_metrics_mean']['EN']
    )
    with BagReader(bag) as reader:
        assert reader.topics['/ir/image'].msgtype == 'sensor_msgs/msg/Image'
        first_ir = reader.deserialize(next(iter(reader.messages(['/ir/image']))))
        assert first_ir.encoding == 'mono16' and image_array(first_ir).dtype == np.uint16
        assert json.loads(reader.custom_data['tsjnet.detection_class_names']) == [
            'person',
            'bicycle',
            'car',
        ]


class SegmentingOracle:
    """Average fusion plus the bag's own class maps as segmentation, in its own class order.

    The backend numbers its classes differently from the bag (car first), so a perfect mIoU
    needs the evaluation to map classes by name.
    """

    segmentation_classes = ['car', 'background', 'person', 'bicycle']
    detection_classes: list = []
    name = 'segmenting_oracle'

    def __init__(self, maps_by_image):
        self._maps = maps_by_image
        self._base = create_backend('average')
        bag_order = ['background', 'person', 'bicycle', 'car']
        self._to_backend = np.array(
            [self.segmentation_classes.index(n) for n in bag_order], np.uint8
        )

    def fuse(self, ir, visible):
        result = self._base.fuse(ir, visible)
        result.segmentation = self._to_backend[self._maps[np.ascontiguousarray(visible).tobytes()]]
        return result


def test_segmentation_is_scored_and_written_with_an_overlay(tmp_path):
    from tsjnet_ros.core.bag.evaluation import EvaluationOptions, evaluate_bag
    from tsjnet_ros.core.runtime.stream_settings import StreamSettings

    bag = tmp_path / 'bag'
    make_bag(bag, duration=0.2, width=64, height=48, visible_encoding='rgb8', no_progress=True)
    with BagReader(bag) as reader:
        images = [image_array(reader.deserialize(m)) for m in reader.messages(['/visible/image'])]
        maps = [
            image_array(reader.deserialize(m))
            for m in reader.messages(['/ground_truth/segmentation'])
        ]
    assert all(m.max() >= 1 for m in maps)  # the targets are labelled
    backend = SegmentingOracle({i.tobytes(): m for i, m in zip(images, maps)})
    result = evaluate_bag(
        bag, backend, StreamSettings(), tmp_path / 'out', options=EvaluationOptions(metrics=())
    )
    assert result.processed_pairs == 6 and result.problems == []
    assert result.segmentation['mIoU'] == pytest.approx(1.0) and result.segmentation[
        'pixel_accuracy'
    ] == pytest.approx(1.0)
    with BagReader(tmp_path / 'out') as out:
        assert out.topics['/segmentation/image'].count == 6
        written = [image_array(out.deserialize(m)) for m in out.messages(['/segmentation/image'])]
        overlays = [image_array(out.deserialize(m)) for m in out.messages(['/debug/overlay'])]
    np.testing.assert_array_equal(written[0], backend._to_backend[maps[0]])
    with BagReader(bag) as reader:
        first_ir = image_array(reader.deserialize(next(iter(reader.messages(['/ir/image'])))))
    expected = backend.fuse(first_ir, images[0])
    np.testing.assert_array_equal(
        overlays[0], draw_overlay(expected.fused_color, [], expected.segmentation)
    )
    tinted = (overlays[0] != expected.fused_color).any(axis=2)
    assert (
        tinted.any() and not tinted[expected.segmentation == 0].any()
    )  # class 0 of the backend stays untinted


class DetectingStub:
    """Average fusion plus one fixed detection per pair.

    The output bag's detections can then be read back.
    """

    detection_classes = ['person', 'bicycle', 'car']
    segmentation_classes: list = []
    name = 'detecting_stub'

    def __init__(self):
        self._base = create_backend('average')

    def fuse(self, ir, visible):
        from tsjnet_ros.core.types.detection import Detection

        result = self._base.fuse(ir, visible)
        result.detections = [Detection(2, 'car', 0.75, (4.0, 6.0, 20.0, 30.0))]
        return result


@pytest.mark.parametrize('class_id_format, expected', [('id', '2'), ('name', 'car')])
def test_output_bag_detections_follow_class_id_format(tmp_path, class_id_format, expected):
    """The output bag writes hypothesis.class_id as the node would with the same parameter file."""
    from tsjnet_ros.core.bag.evaluation import EvaluationOptions, evaluate_bag
    from tsjnet_ros.core.runtime.stream_settings import StreamSettings

    bag = tmp_path / 'bag'
    make_bag(bag, duration=0.1, width=64, height=48, no_progress=True)
    params = tmp_path / 'params.yaml'
    params.write_text(
        f'fusion_node:\n  ros__parameters:\n    class_id_format: {class_id_format}\n'
    )
    settings = StreamSettings.from_parameter_file(params)
    result = evaluate_bag(
        bag, DetectingStub(), settings, tmp_path / 'out', options=EvaluationOptions(metrics=())
    )
    assert result.processed_pairs > 0
    with BagReader(tmp_path / 'out') as out:
        messages = [out.deserialize(m) for m in out.messages(['/detections'])]
    assert len(messages) == result.processed_pairs
    for message in messages:
        (detection,) = message.detections
        assert [r.hypothesis.class_id for r in detection.results] == [expected]
        assert (detection.bbox.center.position.x, detection.bbox.size_y) == (12.0, 24.0)
