"""One box-set type for dataset annotations, bag ground truth and detector output."""

import numpy as np
import pytest

from tsjnet_ros.core.datasets.box_annotations import read_voc, read_yolo
from tsjnet_ros.core.types.box_set import BoxSet


def test_defaults_fill_scores_and_difficult_per_box():
    boxes = BoxSet([[1, 2, 3, 4], [5, 6, 7, 8]], [0, 2])
    assert boxes.boxes.dtype == np.float64 and boxes.boxes.shape == (2, 4)
    assert boxes.class_ids.dtype == np.int64
    assert boxes.scores.tolist() == [1.0, 1.0]
    assert boxes.difficult.tolist() == [False, False]
    assert len(boxes) == 2 and len(BoxSet.empty()) == 0


def test_unequal_lengths_are_refused_naming_the_counts():
    with pytest.raises(ValueError, match=r'boxes \(2\), class ids \(1\)'):
        BoxSet([[1, 2, 3, 4], [5, 6, 7, 8]], [0])
    with pytest.raises(ValueError, match=r'difficult flags \(3\)'):
        BoxSet([[1, 2, 3, 4]], [0], difficult=[True, False, False])


def test_dataset_readers_return_the_one_type(tmp_path):
    yolo = tmp_path / 'a.txt'
    yolo.write_text('1 0.5 0.5 0.2 0.4\n')
    boxes = read_yolo(yolo, 100, 50)
    assert isinstance(boxes, BoxSet)
    np.testing.assert_allclose(boxes.boxes, [[40, 15, 60, 35]])
    assert boxes.class_ids.tolist() == [1] and boxes.scores.tolist() == [1.0]
    voc = tmp_path / 'a.xml'
    voc.write_text(
        '<annotation><object><name>car</name><difficult>1</difficult><bndbox><xmin>1</xmin><ymin>2</ymin>'
        '<xmax>3.5</xmax><ymax>4</ymax></bndbox></object></annotation>'
    )
    boxes = read_voc(voc, ['person', 'car'])
    assert isinstance(boxes, BoxSet)
    assert boxes.class_ids.tolist() == [1] and boxes.difficult.tolist() == [True]
    np.testing.assert_allclose(boxes.boxes, [[1, 2, 3.5, 4]])
