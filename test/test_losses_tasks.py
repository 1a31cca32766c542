"""Segmentation and detection losses, FCOS target assignment and the joint objective."""

import math
from types import SimpleNamespace

import pytest
import torch

from tsjnet_ros.core.model.heads.detection import (
    DETECTION_STRIDES,
    DetectionHeadOutput,
    cell_centres,
)
from tsjnet_ros.core.model.heads.system import SystemOutput
from tsjnet_ros.core.model.losses import (
    JointLoss,
    LossWeights,
    assign_targets,
    detection_loss,
    intensity_loss,
    segmentation_loss,
)

SIZES = [(8, 8), (4, 4), (2, 2)]  # a 64x64 image at strides 8, 16, 32


def points_and_levels():
    return cell_centres(SIZES, DETECTION_STRIDES, torch.device('cpu'))


def test_segmentation_uniform_logits_cost_log_c_and_ignore_is_skipped():
    logits = torch.zeros(1, 4, 2, 2)
    labels = torch.tensor([[[0, 1, 2, 3], [3, 2, 1, 0], [0, 0, 255, 255], [1, 1, 1, 1]]])
    assert segmentation_loss(logits, labels).item() == pytest.approx(math.log(4))
    confident = torch.full((1, 4, 4, 4), -10.0)
    confident[:, 1] = 10.0
    only_ones = torch.full((1, 4, 4), 255)
    only_ones[0, 3] = 1
    assert segmentation_loss(confident, only_ones).item() < 1e-6
    nothing = segmentation_loss(confident.requires_grad_(), torch.full((1, 4, 4), 255))
    assert nothing.item() == 0.0 and not math.isnan(nothing.item())


def test_segmentation_rejects_bad_labels():
    with pytest.raises(ValueError, match=r'must be in \[0, 3\]'):
        segmentation_loss(torch.zeros(1, 4, 2, 2), torch.full((1, 2, 2), 7))
    with pytest.raises(TypeError, match='integer'):
        segmentation_loss(torch.zeros(1, 4, 2, 2), torch.zeros(1, 2, 2))
    with pytest.raises(ValueError, match=r'\(B, H, W\)'):
        segmentation_loss(torch.zeros(1, 4, 2, 2), torch.zeros(2, 2, dtype=torch.long))


def test_assignment_picks_centre_cells_on_the_right_level():
    points, levels = points_and_levels()
    boxes = torch.tensor([[16.0, 16.0, 48.0, 48.0]])
    t = assign_targets(points, levels, DETECTION_STRIDES, boxes, torch.tensor([2]), (64.0, 128.0))
    pos = torch.nonzero(t.positive).squeeze(1)
    got = sorted(map(tuple, points[pos].tolist()))
    assert got == [(28.0, 28.0), (28.0, 36.0), (36.0, 28.0), (36.0, 36.0)]
    assert (levels[pos] == 0).all() and (t.labels[pos] == 2).all()
    assert (t.labels[~t.positive] == -1).all()
    # cell (28, 28): l = t = 12, r = b = 20 -> centerness sqrt(0.6 * 0.6)
    first = pos[(points[pos] == torch.tensor([28.0, 28.0])).all(dim=1)][0]
    assert t.distances[first].tolist() == [12.0, 12.0, 20.0, 20.0]
    assert t.centerness[first].item() == pytest.approx(0.6)
    # smaller size ranges push the same box up to the stride-16 level
    t2 = assign_targets(points, levels, DETECTION_STRIDES, boxes, torch.tensor([2]), (16.0, 32.0))
    assert set(levels[t2.positive].tolist()) == {1}


def test_assignment_prefers_the_smaller_box_and_handles_no_boxes():
    points, levels = points_and_levels()
    boxes = torch.tensor([[0.0, 0.0, 64.0, 64.0], [20.0, 20.0, 44.0, 44.0]])
    t = assign_targets(
        points, levels, DETECTION_STRIDES, boxes, torch.tensor([0, 1]), (64.0, 128.0)
    )
    centre = ((points == torch.tensor([28.0, 28.0])).all(dim=1) & (levels == 0)).nonzero()[0, 0]
    assert t.labels[centre].item() == 1
    empty = assign_targets(
        points, levels, DETECTION_STRIDES, torch.zeros(0, 4), torch.zeros(0), (64.0, 128.0)
    )
    assert not empty.positive.any()
    with pytest.raises(ValueError, match='x2 > x1'):
        assign_targets(
            points,
            levels,
            DETECTION_STRIDES,
            torch.tensor([[5.0, 5.0, 5.0, 9.0]]),
            torch.tensor([0]),
            (64.0, 128.0),
        )


def perfect_prediction(boxes, labels, num_classes=3, scale=(1.0, 1.0)):
    """Head output that predicts exactly the FCOS targets for (head-frame) ``boxes``."""
    points, levels = points_and_levels()
    t = assign_targets(points, levels, DETECTION_STRIDES, boxes, labels, (64.0, 128.0))
    cls = torch.full((points.shape[0], num_classes), -20.0)
    cls[t.positive, t.labels[t.positive]] = 20.0
    dist = torch.where(t.positive[:, None], t.distances, torch.ones_like(t.distances))
    p = t.centerness.clamp(1e-4, 1 - 1e-4)
    ctr = torch.log(p / (1 - p))
    split = [h * w for h, w in SIZES]
    to_maps = lambda x, c: [  # noqa: E731
        chunk.t().reshape(1, c, h, w) for chunk, (h, w) in zip(x.split(split), SIZES)
    ]
    out = DetectionHeadOutput(
        to_maps(cls, num_classes),
        to_maps(dist, 4),
        to_maps(ctr[:, None], 1),
        DETECTION_STRIDES,
        scale,
    )
    return out, t


def test_detection_loss_of_a_perfect_prediction():
    boxes, labels = torch.tensor([[16.0, 16.0, 48.0, 48.0]]), torch.tensor([1])
    pred, t = perfect_prediction(boxes, labels)
    loss = detection_loss(pred, [{'boxes': boxes, 'labels': labels}])
    assert loss['classification'].item() < 1e-6
    assert loss['box'].item() < 1e-5
    # BCE at its minimum equals the binary entropy of the centerness targets
    c = t.centerness[t.positive]
    entropy = -(c * c.log() + (1 - c) * (1 - c).log()).mean()
    assert loss['centerness'].item() == pytest.approx(entropy.item(), rel=1e-3)
    assert loss['total'].item() == pytest.approx(
        sum(loss[k].item() for k in ('classification', 'box', 'centerness'))
    )


def test_detection_loss_targets_are_in_fused_pixels():
    head_boxes, labels = torch.tensor([[16.0, 16.0, 48.0, 48.0]]), torch.tensor([1])
    pred, _ = perfect_prediction(
        head_boxes, labels, scale=(2.0, 2.0)
    )  # heads saw a half-size image
    loss = detection_loss(pred, [{'boxes': head_boxes * 2, 'labels': labels}])
    assert loss['box'].item() < 1e-5 and loss['classification'].item() < 1e-6
    wrong = detection_loss(pred, [{'boxes': head_boxes, 'labels': labels}])  # not rescaled
    assert wrong['total'].item() > loss['total'].item() + 0.5


def test_detection_loss_without_boxes_and_with_wrong_boxes():
    boxes, labels = torch.tensor([[16.0, 16.0, 48.0, 48.0]]), torch.tensor([1])
    pred, _ = perfect_prediction(boxes, labels)
    for t in pred.cls_logits + pred.box_distances + pred.centerness:
        t.requires_grad_()
    empty = detection_loss(
        pred, [{'boxes': torch.zeros(0, 4), 'labels': torch.zeros(0, dtype=torch.long)}]
    )
    assert (
        empty['box'].item() == 0.0 and empty['classification'].item() > 1.0
    )  # confident false positives
    empty['total'].backward()
    assert pred.cls_logits[0].grad is not None
    shifted = detection_loss(pred, [{'boxes': boxes + 6.0, 'labels': labels}])
    assert shifted['box'].item() > 0.1
    with pytest.raises(ValueError, match='class ids'):
        detection_loss(pred, [{'boxes': boxes, 'labels': torch.tensor([5])}])
    with pytest.raises(ValueError, match='batch of 1'):
        detection_loss(pred, [])


def test_joint_loss_sums_weighted_terms():
    g = torch.Generator().manual_seed(0)
    ir, vis = torch.rand(1, 1, 64, 64, generator=g), torch.rand(1, 1, 64, 64, generator=g)
    fused = torch.rand(1, 1, 64, 64, generator=g, requires_grad=True)
    fusion = SimpleNamespace(
        fused=fused,
        attention_maps=torch.rand(1, 8, 16, 16, generator=g),
        ir_reconstruction=ir * 0.9,
        visible_reconstruction=None,
    )
    pred, _ = perfect_prediction(torch.tensor([[16.0, 16.0, 48.0, 48.0]]), torch.tensor([1]))
    seg = torch.zeros(1, 9, 16, 16, requires_grad=True)
    out = SystemOutput(fusion, seg, pred)
    labels = torch.zeros(1, 64, 64, dtype=torch.long)
    targets = [{'boxes': torch.tensor([[16.0, 16.0, 48.0, 48.0]]), 'labels': torch.tensor([1])}]
    terms = JointLoss()(out, ir, vis, labels, targets)
    assert set(terms) == {
        'intensity',
        'gradient',
        'ssim',
        'diversity',
        'reconstruction',
        'segmentation',
        'detection',
        'total',
    }
    assert terms['intensity'].item() == pytest.approx(20 * intensity_loss(fused, ir, vis).item())
    assert terms['segmentation'].item() == pytest.approx(math.log(9), rel=1e-5)
    assert terms['reconstruction'].item() == pytest.approx(
        torch.mean((ir * 0.1) ** 2).item(), rel=1e-4
    )
    parts = sum(v.item() for k, v in terms.items() if k != 'total')
    assert terms['total'].item() == pytest.approx(parts, rel=1e-6)
    terms['total'].backward()
    assert fused.grad is not None and seg.grad is not None

    fusion_only = JointLoss(LossWeights(gradient=0, ssim=0))(out, ir, vis)
    assert set(fusion_only) == {'intensity', 'diversity', 'reconstruction', 'total'}
    no_heads = SystemOutput(fusion, None, None)
    with pytest.raises(ValueError, match='without its heads'):
        JointLoss()(no_heads, ir, vis, segmentation_labels=labels)
