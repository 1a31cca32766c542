"""A bag made from real MSRS pairs carries their boxes, and mAP is computed from them."""

import json
from dataclasses import replace

import numpy as np
import pytest

from tsjnet_ros.core.bag.evaluation import EvaluationOptions, evaluate_bag
from tsjnet_ros.core.bag.messages import boxes_from_detections, image_array
from tsjnet_ros.core.bag.reader import BagReader
from tsjnet_ros.core.bag.settings import PipelineSettings
from tsjnet_ros.core.datasets import PairDataset
from tsjnet_ros.core.fusion import create_backend
from tsjnet_ros.core.fusion.backend import Detection
from tsjnet_ros.tools.bag import main as bag_main

LIMIT = 3


class DatasetOracle:
    """Laplacian fusion plus, as detections, the dataset's own boxes for the visible image.

    With perfect detections mAP must be 1 exactly, which holds only if boxes, class ids and
    stamps survive the bag and are matched to the right pair.
    """

    def __init__(self, dataset: PairDataset, count: int, drop_every: int = 0) -> None:
        self.name = "oracle"
        self.detection_classes = list(dataset.class_names)
        self.segmentation_classes: list[str] = []
        self._base = create_backend("laplacian_pyramid")
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
    data = shared_data / "msrs"
    if not data.is_dir():
        pytest.skip(f"MSRS pairs not found at {data}")
    bag = tmp_path / "msrs_bag"
    assert bag_main(["make", "--source", str(data), "--limit", str(LIMIT), "--out", str(bag), "--no-progress"]) == 0
    return data, bag


def test_msrs_bag_carries_the_dataset_boxes(msrs_bag):
    data, bag = msrs_bag
    dataset = PairDataset(data)
    with BagReader(bag) as reader:
        assert json.loads(reader.custom_data["tsjnet.detection_class_names"]) == dataset.class_names == ["person", "bicycle", "car"]
        assert "/ground_truth/segmentation" not in reader.topics  # MSRS here has no class maps
        truths = [boxes_from_detections(reader.deserialize(m)) for m in reader.messages(["/ground_truth/detections"])]
        visible = [image_array(reader.deserialize(m)) for m in reader.messages(["/visible/image"])]
    assert len(truths) == len(visible) == LIMIT
    for index, (truth, image) in enumerate(zip(truths, visible)):
        sample = dataset[index]
        np.testing.assert_array_equal(image[:, :, ::-1], sample.visible)  # written as bgr8
        np.testing.assert_allclose(truth.boxes, sample.boxes, atol=1e-4)
        assert truth.class_ids.tolist() == sample.labels.tolist()


def test_msrs_detections_are_scored_against_the_bag_boxes(msrs_bag, tmp_path):
    data, bag = msrs_bag
    dataset = PairDataset(data)
    options = EvaluationOptions(metrics=("EN",), contact_sheet_rows=1)
    perfect = evaluate_bag(bag, DatasetOracle(dataset, LIMIT), PipelineSettings(), tmp_path / "out", options=options)
    assert perfect.processed_pairs == LIMIT and perfect.problems == []
    assert perfect.detection["mAP50"] == pytest.approx(1.0) and perfect.detection["mAP50_95"] == pytest.approx(1.0)
    missing = evaluate_bag(bag, DatasetOracle(dataset, LIMIT, drop_every=2), PipelineSettings(), None, options=options)
    assert 0.0 < missing.detection["mAP50"] < 1.0
    with BagReader(tmp_path / "out") as out:
        written = [boxes_from_detections(out.deserialize(m)) for m in out.messages(["/detections"])]
    assert [len(w.boxes) for w in written] == [len(dataset[i].boxes) for i in range(LIMIT)]
    assert all(np.allclose(w.scores, 0.9) for w in written)
    classical = evaluate_bag(bag, create_backend("average"), PipelineSettings(), None, options=options)
    assert classical.detection is None  # no detector: nothing to score, said in the report
