"""Detection loss (the paper's L_Det) for the anchor-free detector.

FCOS recipe: sigmoid focal loss on class scores over all cells, GIoU loss on the boxes of
positive cells weighted by their centerness target, and binary cross-entropy on the
centerness of positive cells. Classification and centerness are normalised by the number of
positives, the box term by the sum of centerness targets.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torchvision.ops import generalized_box_iou_loss, sigmoid_focal_loss

from tsjnet_ros.core.model.heads.detection import DetectionHeadOutput, distances_to_boxes
from tsjnet_ros.core.model.losses.detection_targets import assign_targets

FOCAL_ALPHA = 0.25
FOCAL_GAMMA = 2.0


def detection_loss(
    prediction: DetectionHeadOutput,
    targets: Sequence[dict[str, torch.Tensor]],
    scale_ranges: tuple[float, ...] = (64.0, 128.0),
    center_radius: float = 1.5,
) -> dict[str, torch.Tensor]:
    """Loss terms ``classification``, ``box``, ``centerness`` and their sum ``total``.

    ``targets``: one dict per image with ``boxes`` (M, 4) x1y1x2y2 in FUSED-image pixels
    and ``labels`` (M,) class ids; M may be 0.
    """
    cls, dist, ctr, points, levels = prediction.flatten()
    batch, _, num_classes = cls.shape
    if len(targets) != batch:
        raise ValueError(f'got {len(targets)} detection targets for a batch of {batch}')
    sx, sy = prediction.scale
    to_head = torch.tensor([sx, sy, sx, sy], device=cls.device, dtype=torch.float32)

    cls_targets = torch.zeros_like(cls, dtype=torch.float32)
    pred_boxes, target_boxes, pred_ctr, target_ctr = [], [], [], []
    for i, target in enumerate(targets):
        if 'boxes' not in target or 'labels' not in target:
            raise ValueError(f"detection target {i} needs 'boxes' and 'labels'")
        labels = target['labels'].to(cls.device).long()
        if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= num_classes):
            raise ValueError(f'detection target {i} has class ids outside [0, {num_classes - 1}]')
        assigned = assign_targets(
            points,
            levels,
            prediction.strides,
            target['boxes'].to(cls.device).float() / to_head,
            labels,
            scale_ranges,
            center_radius,
        )
        pos = assigned.positive
        cls_targets[i, pos, assigned.labels[pos]] = 1.0
        pred_boxes.append(distances_to_boxes(points[pos], dist[i, pos].float()))
        target_boxes.append(assigned.boxes[pos])
        pred_ctr.append(ctr[i, pos].float())
        target_ctr.append(assigned.centerness[pos])

    pred_boxes_t = torch.cat(pred_boxes)
    target_boxes_t = torch.cat(target_boxes)
    pred_ctr_t = torch.cat(pred_ctr)
    target_ctr_t = torch.cat(target_ctr)
    num_pos = max(float(pred_ctr_t.numel()), 1.0)

    classification = (
        sigmoid_focal_loss(
            cls.float(), cls_targets, alpha=FOCAL_ALPHA, gamma=FOCAL_GAMMA, reduction='sum'
        )
        / num_pos
    )
    if pred_ctr_t.numel() == 0:
        zero = dist.sum() * 0.0 + ctr.sum() * 0.0
        box = zero
        centerness = zero
    else:
        giou = generalized_box_iou_loss(pred_boxes_t, target_boxes_t, reduction='none')
        box = (giou * target_ctr_t).sum() / target_ctr_t.sum().clamp(min=1e-6)
        centerness = (
            F.binary_cross_entropy_with_logits(pred_ctr_t, target_ctr_t, reduction='sum') / num_pos
        )
    return {
        'classification': classification,
        'box': box,
        'centerness': centerness,
        'total': classification + box + centerness,
    }
