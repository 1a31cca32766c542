"""Detection decoding, NMS, rescaling to camera pixels and segmentation class maps."""

import pytest
import torch

from tsjnet_ros.core.model.heads.detection import DETECTION_STRIDES, DetectionHeadOutput
from tsjnet_ros.core.model.postprocess import (
    DecodedDetections,
    decode_detections,
    rescale_boxes,
    segmentation_class_map,
    to_detection_list,
)

SIZES = [(8, 8), (4, 4), (2, 2)]  # 64x64 head input


def head_output(hits, num_classes=3, scale=(1.0, 1.0), image_size=(64, 64)):
    """``hits``: (level, row, col, class, logit, (l, t, r, b)) cells that fire."""
    cls = [torch.full((1, num_classes, h, w), -12.0) for h, w in SIZES]
    dist = [torch.full((1, 4, h, w), 4.0) for h, w in SIZES]
    ctr = [torch.full((1, 1, h, w), 12.0) for h, w in SIZES]
    for level, row, col, c, logit, ltrb in hits:
        cls[level][0, c, row, col] = logit
        dist[level][0, :, row, col] = torch.tensor(ltrb)
    return DetectionHeadOutput(cls, dist, ctr, DETECTION_STRIDES, scale, image_size)


def test_decode_one_box_from_cell_centre_and_distances():
    # level 0, row 3, col 2 -> centre (20, 28); distances give box (10, 20, 35, 40)
    out = head_output([(0, 3, 2, 1, 12.0, (10.0, 8.0, 15.0, 12.0))])
    (dets,) = decode_detections(out, score_threshold=0.5)
    assert dets.boxes.tolist() == [[10.0, 20.0, 35.0, 40.0]]
    assert dets.labels.tolist() == [1]
    assert dets.scores.item() == pytest.approx(torch.sigmoid(torch.tensor(12.0)).item(), rel=1e-5)


def test_nms_leaves_one_box_per_object_whatever_its_class():
    ltrb = (10.0, 10.0, 10.0, 10.0)
    out = head_output(
        [
            (0, 3, 3, 0, 8.0, ltrb),  # centre (28, 28)
            (0, 3, 4, 0, 6.0, ltrb),  # centre (36, 28): IoU 0.43 with the first
            (
                0,
                3,
                4,
                2,
                6.0,
                ltrb,
            ),  # same box, other class: the same object called something else
        ]
    )
    (dets,) = decode_detections(out, score_threshold=0.5, nms_iou=0.3)
    assert dets.labels.tolist() == [0]  # class-agnostic by default: a car is not also a person
    (per_class,) = decode_detections(out, score_threshold=0.5, nms_iou=0.3, class_agnostic=False)
    assert sorted(per_class.labels.tolist()) == [0, 2]
    (loose,) = decode_detections(out, score_threshold=0.5, nms_iou=0.9)
    assert loose.labels.tolist() == [0, 0]  # the identical box of class 2 is the same object
    (loose,) = decode_detections(out, score_threshold=0.5, nms_iou=0.9, class_agnostic=False)
    assert len(loose.labels) == 3
    (top1,) = decode_detections(out, score_threshold=0.5, nms_iou=0.9, max_detections=1)
    assert top1.labels.tolist() == [0] and top1.scores.item() == loose.scores.max().item()


def test_decode_applies_scale_and_clips_to_image():
    out = head_output(
        [(0, 0, 0, 0, 10.0, (20.0, 20.0, 10.0, 10.0))], scale=(2.0, 3.0), image_size=(150, 120)
    )
    (dets,) = decode_detections(out, score_threshold=0.5)
    # head box (-16, -16, 14, 14) -> x*2, y*3 -> clipped at 0
    assert dets.boxes.tolist() == [[0.0, 0.0, 28.0, 42.0]]


def test_decode_rejects_bad_thresholds():
    out = head_output([])
    with pytest.raises(ValueError, match='score_threshold'):
        decode_detections(out, score_threshold=1.5)
    with pytest.raises(ValueError, match='nms_iou'):
        decode_detections(out, nms_iou=0.0)
    assert decode_detections(out)[0].boxes.shape == (0, 4)


def test_rescale_and_named_detections_in_camera_pixels():
    boxes = torch.tensor([[10.0, 20.0, 30.0, 40.0], [100.0, 0.0, 130.0, 64.0]])
    out = rescale_boxes(boxes, (64, 128), (480, 640))
    assert out.tolist() == [[50.0, 150.0, 150.0, 300.0], [500.0, 0.0, 640.0, 480.0]]
    decoded = DecodedDetections(boxes, torch.tensor([0.9, 0.4]), torch.tensor([2, 0]))
    dets = to_detection_list(decoded, ['person', 'bicycle', 'car'], (64, 128), (480, 640))
    assert [(d.class_id, d.class_name) for d in dets] == [(2, 'car'), (0, 'person')]
    assert dets[0].box_xyxy == (50.0, 150.0, 150.0, 300.0) and dets[0].score == pytest.approx(0.9)
    with pytest.raises(ValueError, match='no name'):
        to_detection_list(decoded, ['person'], (64, 128), (480, 640))


def test_segmentation_class_map_upsamples_to_camera_size():
    logits = torch.zeros(1, 3, 2, 2)
    logits[0, 2, :, 1] = 5.0  # right half class 2
    logits[0, 1, :, 0] = 5.0  # left half class 1
    seg = segmentation_class_map(logits, (6, 10))
    assert seg.dtype == torch.uint8 and seg.shape == (1, 6, 10)
    assert (seg[0, :, :4] == 1).all() and (seg[0, :, 6:] == 2).all()


def test_cpu_class_map_matches_torch_bilinear_argmax():
    logits = torch.randn(2, 9, 15, 20, generator=torch.Generator().manual_seed(0))
    expected = torch.nn.functional.interpolate(
        logits, size=(61, 83), mode='bilinear', align_corners=False
    ).argmax(1)
    got = segmentation_class_map(logits, (61, 83))
    assert (got.long() == expected).float().mean() > 0.999  # float rounding may flip exact ties
    same_size = segmentation_class_map(logits, (15, 20))
    assert torch.equal(same_size.long(), logits.argmax(1))
