"""A bag made from real MSRS pairs carries their boxes, and mAP is computed from them."""

import json
from dataclasses import replace

import cv2
import numpy as np
import pytest
from bag_making import make_bag

from tsjnet_ros.core.bag.evaluation import EvaluationOptions, evaluate_bag
from tsjnet_ros.core.bag.messages import boxes_from_detections, image_array
from tsjnet_ros.core.bag.reader import BagReader
from tsjnet_ros.core.datasets import PairDataset
from tsjnet_ros.core.fusion import create_backend
from tsjnet_ros.core.runtime.stream_settings import StreamSettings
from tsjnet_ros.core.types.detection import Detection

LIMIT = 3


class DatasetOracle:
    """Laplacian fusion plus, as detections, the dataset's own boxes for the visible image.

    With perfect detections mAP must be 1 exactly, which holds only if boxes, class ids and
    stamps survive the bag and are matched to the right pair.
    """

    def __init__(self, dataset: PairDataset, count: int, drop_every: int = 0) -> None:
        self.name = 'oracle'
        self.detection_classes = list(dataset.class_names)
        self.segmentation_classes: list[str] = []
        self._base = create_backend('laplacian_pyramid')
        self._truth = {}
        for index in range(count):
            sample = dataset[index]
            self._truth[sample.visible.tobytes()] = [
                Detection(int(c), dataset.class_names[c], 0.9, tuple(map(float, b)))
                for k, (b, c) in enumerate(zip(sample.boxes, sample.labels))
                if not drop_every or k % drop_every
            ]

    def fuse(self, ir, visible):
        result = self._base.fuse(ir, visible)
        return replace(result, detections=self._truth[np.ascontiguousarray(visible).tobytes()])


@pytest.fixture
def msrs_bag(shared_data, tmp_path):
    data = shared_data / 'msrs'
    if not data.is_dir():
        pytest.skip(f'MSRS pairs not found at {data}')
    bag = tmp_path / 'msrs_bag'
    make_bag(bag, source=str(data), limit=str(LIMIT), no_progress=True)
    return data, bag


def test_msrs_bag_carries_the_dataset_boxes(msrs_bag):
    data, bag = msrs_bag
    dataset = PairDataset(data)
    with BagReader(bag) as reader:
        assert (
            json.loads(reader.custom_data['tsjnet.detection_class_names'])
            == dataset.class_names
            == ['person', 'bicycle', 'car']
        )
        assert '/ground_truth/segmentation' not in reader.topics  # MSRS here has no class maps
        truths = [
            boxes_from_detections(reader.deserialize(m))
            for m in reader.messages(['/ground_truth/detections'])
        ]
        visible = [image_array(reader.deserialize(m)) for m in reader.messages(['/visible/image'])]
    assert len(truths) == len(visible) == LIMIT
    for index, (truth, image) in enumerate(zip(truths, visible)):
        sample = dataset[index]
        np.testing.assert_array_equal(image[:, :, ::-1], sample.visible)  # written as bgr8
        np.testing.assert_allclose(truth.boxes, sample.boxes, atol=1e-4)
        assert truth.class_ids.tolist() == sample.labels.tolist()


def test_msrs_detections_are_scored_against_the_bag_boxes(msrs_bag, tmp_path):
    data, bag = msrs_bag
    dataset = PairDataset(data)
    options = EvaluationOptions(metrics=('EN',), contact_sheet_rows=1)
    perfect = evaluate_bag(
        bag, DatasetOracle(dataset, LIMIT), StreamSettings(), tmp_path / 'out', options=options
    )
    assert perfect.processed_pairs == LIMIT and perfect.problems == []
    assert perfect.detection['mAP50'] == pytest.approx(1.0) and perfect.detection[
        'mAP50_95'
    ] == pytest.approx(1.0)
    missing = evaluate_bag(
        bag, DatasetOracle(dataset, LIMIT, drop_every=2), StreamSettings(), None, options=options
    )
    assert 0.0 < missing.detection['mAP50'] < 1.0
    with BagReader(tmp_path / 'out') as out:
        written = [
            boxes_from_detections(out.deserialize(m)) for m in out.messages(['/detections'])
        ]
    assert [len(w.boxes) for w in written] == [len(dataset[i].boxes) for i in range(LIMIT)]
    assert all(np.allclose(w.scores, 0.9) for w in written)
    classical = evaluate_bag(
        bag, create_backend('average'), StreamSettings(), None, options=options
    )
    assert classical.detection is None  # no detector: nothing to score, said in the report


def test_report_of_a_folder_bag_names_pairs_compares_baselines_and_says_what_was_scored(
    msrs_bag, tmp_path
):
    from tsjnet_ros.core.bag.evaluation_report import write_report

    data, bag = msrs_bag
    dataset = PairDataset(data)
    options = EvaluationOptions(
        metrics=('EN', 'CV'), contact_sheet_rows=2, baselines=('average', 'max'), baseline_pairs=2
    )
    result = evaluate_bag(
        bag, DatasetOracle(dataset, LIMIT, drop_every=2), StreamSettings(), None, options=options
    )
    names = [dataset[i].name for i in range(LIMIT)]
    assert [
        r.name for r in result.records
    ] == names and result.stills  # input names, not pair numbers
    assert [row[0] for row in result.contact_rows] == [names[0], names[-1]]
    assert {(b['method'], b['name']) for b in result.baseline_records} == {
        (m, n) for m in ('average', 'max') for n in (names[0], names[-1])
    }
    paths = write_report(result, tmp_path / 'report', tile_width=400)
    report = paths['report_md'].read_text()
    assert '| method | pairs | EN ↑ | CV ↓ |' in report
    assert (
        '| oracle | all 3 |' in report
        and '| oracle | same 2 |' in report
        and '| max | same 2 |' in report
    )
    assert (
        f'Source: YOLO boxes in {data / "labels" / "fused"}' in report
    )  # which box set was the ground truth
    assert (
        '| person |' in report and 'precision ↑ | recall ↑' in report
    )  # per-class AP, precision, recall
    assert 'Segmentation' in report and 'no ground-truth class maps' in report
    import csv

    images = [
        row['image']
        for row in csv.DictReader(paths['metrics_csv'].open())
        if row['method'] == 'oracle'
    ]
    assert images[:LIMIT] == names  # named by input, not "00000", "00001", ...
    sheet = cv2.imread(str(paths['contact_sheet']))
    assert sheet.shape[1] == 5 * 400  # tiles drawn at their size: labels stay readable
    summary = json.loads(paths['report_json'].read_text())['summary']
    assert set(summary['baselines_same_pairs']['mean']) == {'oracle', 'average', 'max'}
    assert summary['ground_truth']['source'] == f'YOLO boxes in {data / "labels" / "fused"}'


def test_per_pair_plots_of_still_pairs_use_the_input_names():
    from types import SimpleNamespace

    from tsjnet_ros.core.bag.evaluation_report import pair_axis

    records = [
        SimpleNamespace(stamp_ns=1_700_000_000 * 10**9 + 33_000_000 * i, name=f'{i:05d}N')
        for i in range(100)
    ]
    x, label, ticks = pair_axis(SimpleNamespace(stills=True, records=records))
    assert label == 'input pair' and x.tolist() == list(range(100))
    assert ticks[1][:2] == ['00000N', '00003N'] and len(ticks[1]) <= 40
    x, label, ticks = pair_axis(SimpleNamespace(stills=False, records=records))
    assert (
        label == 'bag time of the pair (s)'
        and ticks is None
        and x[-1] == pytest.approx(99 * 0.033)
    )
