"""Detection AP/mAP on hand-worked cases: duplicates, misses, crowds, ignored and absent truth."""

import math

import numpy as np
import pytest

from tsjnet_ros.core.metrics import (
    ImageAnnotations,
    ImageDetections,
    average_precision,
    box_iou,
    evaluate_detections,
)

NAMES = ['person', 'car']


def det(boxes, scores, labels):
    return ImageDetections(np.array(boxes, float), np.array(scores, float), np.array(labels))


def gt(boxes, labels, ignore=None):
    return ImageAnnotations(np.array(boxes, float), np.array(labels), ignore)


def test_box_iou_hand_values():
    iou = box_iou([[0, 0, 10, 10]], [[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30]])
    np.testing.assert_allclose(iou, [[1.0, 50 / 150, 0.0]])


def test_perfect_detections_score_one_under_every_interpolation():
    preds = [det([[0, 0, 10, 10], [20, 20, 40, 30]], [0.9, 0.8], [0, 1])]
    truth = [gt([[0, 0, 10, 10], [20, 20, 40, 30]], [0, 1])]
    for interp in ('coco101', 'voc', 'voc11'):
        report = evaluate_detections(preds, truth, NAMES, interpolation=interp)
        assert report.map50 == pytest.approx(1.0)
        assert report.map50_95 == pytest.approx(1.0)


def test_duplicate_detection_is_a_false_positive_but_keeps_ap():
    preds = [det([[0, 0, 10, 10], [0, 0, 10, 10.5]], [0.9, 0.8], [0, 0])]
    truth = [gt([[0, 0, 10, 10]], [0])]
    report = evaluate_detections(preds, truth, ['person'], iou_thresholds=[0.5])
    person = report.per_class[0]
    # ranked TP then FP: precision [1, 0.5], recall [1, 1]
    np.testing.assert_allclose(person.precision_curve, [1.0, 0.5])
    assert person.ap50 == pytest.approx(1.0)
    assert person.precision == pytest.approx(0.5)
    assert person.recall == pytest.approx(1.0)


def test_missed_object_halves_recall_with_interpolation_specific_ap():
    preds = [det([[0, 0, 10, 10]], [0.9], [0])]
    truth = [gt([[0, 0, 10, 10], [50, 50, 60, 60]], [0, 0])]
    ap = {
        interp: evaluate_detections(preds, truth, ['person'], [0.5], interpolation=interp).map50
        for interp in ('voc', 'coco101', 'voc11')
    }
    assert ap['voc'] == pytest.approx(0.5)  # area under precision 1 up to recall 0.5
    assert ap['coco101'] == pytest.approx(51 / 101)  # recall points 0.00 .. 0.50
    assert ap['voc11'] == pytest.approx(6 / 11)  # recall points 0.0 .. 0.5


def test_high_scoring_false_positive_lowers_the_envelope():
    # ranked FP, TP, TP over two objects: precision [0, 1/2, 2/3], recall [0, 1/2, 1]
    preds = [
        det([[100, 100, 110, 110], [0, 0, 10, 10], [50, 50, 60, 60]], [0.9, 0.8, 0.7], [0, 0, 0])
    ]
    truth = [gt([[0, 0, 10, 10], [50, 50, 60, 60]], [0, 0])]
    for interp in ('voc', 'coco101', 'voc11'):
        report = evaluate_detections(preds, truth, ['person'], [0.5], interpolation=interp)
        assert report.map50 == pytest.approx(2 / 3)


def test_crowded_scene_coco_matching_falls_back_to_the_free_neighbour():
    # two overlapping people; det1 = person 1 exactly, det2 overlaps person 1 best (0.905)
    # and person 2 (0.739): COCO matching gives det2 to person 2, VOC calls it a duplicate
    preds = [det([[0, 0, 10, 10], [0.5, 0, 10.5, 10]], [0.9, 0.8], [0, 0])]
    truth = [gt([[0, 0, 10, 10], [2, 0, 12, 10]], [0, 0])]
    coco = evaluate_detections(
        preds, truth, ['person'], [0.5], matching='coco', interpolation='voc'
    )
    voc = evaluate_detections(preds, truth, ['person'], [0.5], matching='voc', interpolation='voc')
    assert coco.map50 == pytest.approx(1.0)
    assert voc.map50 == pytest.approx(0.5)


def test_detections_on_ignored_boxes_count_neither_way():
    preds = [det([[0, 0, 10, 10], [30, 30, 40, 40]], [0.95, 0.9], [0, 0])]
    truth = [gt([[0, 0, 10, 10], [30, 30, 40, 40]], [0, 0], ignore=[True, False])]
    report = evaluate_detections(preds, truth, ['person'], [0.5])
    person = report.per_class[0]
    assert person.num_ground_truth == 1
    assert person.ap50 == pytest.approx(1.0)
    assert person.precision == pytest.approx(1.0)


def test_classes_without_ground_truth_are_left_out_of_the_mean():
    preds = [det([[0, 0, 10, 10], [50, 50, 70, 60]], [0.9, 0.9], [0, 1])]
    truth = [gt([[0, 0, 10, 10]], [0])]  # no car anywhere
    report = evaluate_detections(preds, truth, NAMES, [0.5])
    assert math.isnan(report.per_class[1].ap50)
    assert report.map50 == pytest.approx(1.0)


def test_no_ground_truth_at_all_gives_nan_map():
    preds = [det([[0, 0, 10, 10]], [0.9], [0])]
    truth = [gt(np.zeros((0, 4)), np.zeros(0, int))]
    report = evaluate_detections(preds, truth, NAMES)
    assert math.isnan(report.map50) and math.isnan(report.map50_95)


def test_detections_in_an_image_without_objects_are_false_positives():
    preds = [det([[0, 0, 10, 10]], [0.5], [0]), det([[0, 0, 10, 10]], [0.9], [0])]
    truth = [gt([[0, 0, 10, 10]], [0]), gt(np.zeros((0, 4)), np.zeros(0, int))]
    report = evaluate_detections(preds, truth, ['person'], [0.5], interpolation='voc')
    # ranked FP (0.9, empty image) then TP (0.5): precision [0, 0.5]
    assert report.map50 == pytest.approx(0.5)


def test_map50_95_counts_the_thresholds_a_box_passes():
    preds = [det([[0, 0, 10, 7.5]], [0.9], [0])]  # IoU exactly 0.75 with the object
    truth = [gt([[0, 0, 10, 10]], [0])]
    report = evaluate_detections(preds, truth, ['person'])
    # thresholds 0.50 .. 0.75 (6 of 10) give AP 1, the rest 0
    assert report.map50 == pytest.approx(1.0)
    assert report.map50_95 == pytest.approx(0.6)
    assert report.as_dict()['per_class']['person']['AP50_95'] == pytest.approx(0.6)


def test_score_threshold_sets_the_precision_recall_operating_point():
    preds = [det([[0, 0, 10, 10], [50, 50, 60, 60], [80, 80, 90, 90]], [0.9, 0.4, 0.3], [0, 0, 0])]
    truth = [gt([[0, 0, 10, 10], [50, 50, 60, 60]], [0, 0])]
    all_dets = evaluate_detections(preds, truth, ['person'], [0.5]).per_class[0]
    confident = evaluate_detections(
        preds, truth, ['person'], [0.5], score_threshold=0.5
    ).per_class[0]
    assert (all_dets.precision, all_dets.recall) == pytest.approx((2 / 3, 1.0))
    assert (confident.precision, confident.recall) == pytest.approx((1.0, 0.5))


def test_average_precision_of_an_empty_curve_is_zero():
    assert average_precision(np.zeros(0), np.zeros(0)) == 0.0


@pytest.mark.parametrize(
    'make',
    [
        lambda: ImageDetections(np.zeros((1, 3)), [0.5], [0]),
        lambda: ImageDetections(np.array([[10, 0, 0, 10]]), [0.5], [0]),
        lambda: ImageDetections(np.zeros((1, 4)), [0.5, 0.2], [0]),
        lambda: ImageAnnotations(np.zeros((1, 4)), [-1]),
        lambda: ImageAnnotations(np.zeros((1, 4)), [0], ignore=[True, False]),
        lambda: evaluate_detections([], [gt([[0, 0, 1, 1]], [0])], NAMES),
        lambda: evaluate_detections(
            [det([[0, 0, 1, 1]], [1], [5])], [gt([[0, 0, 1, 1]], [0])], NAMES
        ),
        lambda: evaluate_detections([], [], NAMES, interpolation='voc12'),
        lambda: evaluate_detections([], [], NAMES, matching='hungarian'),
        lambda: evaluate_detections([], [], NAMES, iou_thresholds=[1.5]),
    ],
)
def test_bad_detection_input_raises_value_error(make):
    with pytest.raises(ValueError):
        make()
