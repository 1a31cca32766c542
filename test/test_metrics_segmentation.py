"""Segmentation confusion matrix, per-class IoU and mIoU on hand-worked label maps."""

import math

import numpy as np
import pytest

from tsjnet_ros.core.metrics import (
    SegmentationScore,
    confusion_matrix,
    iou_per_class,
    mean_iou,
    pixel_accuracy,
)

TARGET = np.array([[0, 0, 1, 1], [0, 0, 1, 255]])
PRED = np.array([[0, 1, 1, 1], [0, 0, 0, 2]])


def test_confusion_matrix_rows_truth_columns_prediction_and_ignore():
    cm = confusion_matrix(PRED, TARGET, num_classes=3)
    # class 0: 3 right, 1 called 1; class 1: 2 right, 1 called 0; the 255 pixel is skipped
    np.testing.assert_array_equal(cm, [[3, 1, 0], [1, 2, 0], [0, 0, 0]])


def test_iou_per_class_hand_values_and_absent_class_nan():
    iou = iou_per_class(confusion_matrix(PRED, TARGET, 3))
    # IoU0 = 3 / (4 + 4 - 3) = 0.6, IoU1 = 2 / (3 + 3 - 2) = 0.5, class 2 never occurs
    np.testing.assert_allclose(iou[:2], [0.6, 0.5])
    assert math.isnan(iou[2])
    assert mean_iou(confusion_matrix(PRED, TARGET, 3)) == pytest.approx(0.55)
    assert pixel_accuracy(confusion_matrix(PRED, TARGET, 3)) == pytest.approx(5 / 7)


def test_predicted_but_absent_class_counts_as_zero_iou():
    target = np.array([[0, 0]])
    pred = np.array([[0, 2]])
    iou = iou_per_class(confusion_matrix(pred, target, 3, ignore_index=None))
    assert iou[0] == pytest.approx(0.5) and iou[2] == 0.0 and math.isnan(iou[1])


def test_accumulator_over_images_equals_one_big_matrix():
    score = SegmentationScore(3, ['road', 'car', 'person'])
    score.update(PRED[:, :2], TARGET[:, :2])
    score.update(PRED[:, 2:], TARGET[:, 2:])
    np.testing.assert_array_equal(score.confusion, confusion_matrix(PRED, TARGET, 3))
    result = score.as_dict()
    assert result['mIoU'] == pytest.approx(0.55)
    assert set(result['per_class_IoU']) == {'road', 'car', 'person'}


def test_empty_matrix_gives_nan():
    cm = confusion_matrix(np.array([[1]]), np.array([[255]]), 3)
    assert cm.sum() == 0 and math.isnan(mean_iou(cm)) and math.isnan(pixel_accuracy(cm))


@pytest.mark.parametrize(
    'call, error',
    [
        (lambda: confusion_matrix(PRED, TARGET[:, :2], 3), ValueError),
        (lambda: confusion_matrix(np.array([[3]]), np.array([[0]]), 3), ValueError),
        (lambda: confusion_matrix(np.array([[0]]), np.array([[3]]), 3), ValueError),
        (lambda: confusion_matrix(PRED.astype(float), TARGET, 3), TypeError),
        (lambda: confusion_matrix(PRED, TARGET, 0), ValueError),
        (lambda: iou_per_class(np.zeros((2, 3))), ValueError),
        (lambda: SegmentationScore(3, ['a', 'b']), ValueError),
    ],
)
def test_bad_segmentation_input_raises(call, error):
    with pytest.raises(error):
        call()
