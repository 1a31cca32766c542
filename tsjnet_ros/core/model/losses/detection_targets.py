"""FCOS target assignment: which feature-map cell is responsible for which ground-truth box.

A cell is a positive for a box when (1) its centre lies within ``center_radius`` strides of
the box centre (clipped to the box), and (2) its largest distance to a box side falls in
its pyramid level's size range, so small boxes go to fine levels and large to coarse. A
cell matching several boxes takes the smallest one.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class AssignedTargets:
    """Per-cell targets of one image.

    ``labels`` (N,) class id or -1 for background, ``boxes`` (N, 4) assigned box
    (x1, y1, x2, y2), ``distances`` (N, 4) (l, t, r, b), ``centerness`` (N,) in [0, 1];
    the last three are meaningful on positives only.
    """

    labels: torch.Tensor
    boxes: torch.Tensor
    distances: torch.Tensor
    centerness: torch.Tensor

    @property
    def positive(self) -> torch.Tensor:
        return self.labels >= 0


def level_size_bounds(scale_ranges: tuple[float, ...]) -> list[tuple[float, float]]:
    """(64, 128) -> [(0, 64), (64, 128), (128, inf)]: box-size range of each level."""
    edges = [0.0, *map(float, scale_ranges), float('inf')]
    return list(zip(edges[:-1], edges[1:]))


def centerness_of(distances: torch.Tensor) -> torch.Tensor:
    """sqrt(min(l,r)/max(l,r) * min(t,b)/max(t,b)): 1 at the box centre, 0 at its edge."""
    left, top, right, bottom = distances.clamp(min=0).unbind(-1)
    lr = torch.minimum(left, right) / torch.maximum(left, right).clamp(min=1e-6)
    tb = torch.minimum(top, bottom) / torch.maximum(top, bottom).clamp(min=1e-6)
    return torch.sqrt(lr * tb)


def assign_targets(
    points: torch.Tensor,
    levels: torch.Tensor,
    strides: tuple[int, ...],
    boxes: torch.Tensor,
    labels: torch.Tensor,
    scale_ranges: tuple[float, ...],
    center_radius: float = 1.5,
) -> AssignedTargets:
    """Assign targets to the cells at ``points`` (N, 2) on pyramid ``levels`` (N,).

    The targets come from one image's ``boxes`` (M, 4) x1y1x2y2 and class ``labels`` (M,),
    all in the same pixel frame as ``points``.
    """
    n = points.shape[0]
    device = points.device
    if boxes.ndim != 2 or boxes.shape[-1] != 4:
        raise ValueError(f'boxes must be (M, 4) x1y1x2y2, got {tuple(boxes.shape)}')
    if labels.shape != boxes.shape[:1]:
        raise ValueError(
            f'labels must be (M,) matching {boxes.shape[0]} boxes, got {tuple(labels.shape)}'
        )
    boxes = boxes.to(device=device, dtype=torch.float32)
    labels = labels.to(device=device, dtype=torch.long)
    if boxes.shape[0] == 0:
        return AssignedTargets(
            labels=torch.full((n,), -1, dtype=torch.long, device=device),
            boxes=points.new_zeros((n, 4)),
            distances=points.new_zeros((n, 4)),
            centerness=points.new_zeros((n,)),
        )
    if bool((boxes[:, 2] <= boxes[:, 0]).any() or (boxes[:, 3] <= boxes[:, 1]).any()):
        raise ValueError('every box needs x2 > x1 and y2 > y1')

    px, py = points[:, 0:1], points[:, 1:2]  # (N, 1) against (M,) boxes
    x1, y1, x2, y2 = boxes.unbind(-1)
    dist = torch.stack([px - x1, py - y1, x2 - px, y2 - py], dim=-1)  # (N, M, 4)

    stride = torch.tensor(strides, device=device, dtype=torch.float32)[levels][:, None]  # (N, 1)
    radius = center_radius * stride
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    in_center = (
        (px > torch.maximum(cx - radius, x1))
        & (px < torch.minimum(cx + radius, x2))
        & (py > torch.maximum(cy - radius, y1))
        & (py < torch.minimum(cy + radius, y2))
    )
    bounds = torch.tensor(level_size_bounds(scale_ranges), device=device)[levels]  # (N, 2)
    reach = dist.max(dim=-1).values
    in_range = (reach >= bounds[:, 0:1]) & (reach <= bounds[:, 1:2])

    area = ((x2 - x1) * (y2 - y1)).expand(n, -1)
    area = torch.where(in_center & in_range, area, torch.full_like(area, float('inf')))
    best_area, best = area.min(dim=1)
    positive = torch.isfinite(best_area)

    index = torch.arange(n, device=device)
    assigned_dist = dist[index, best]
    return AssignedTargets(
        labels=torch.where(positive, labels[best], torch.full_like(best, -1)),
        boxes=boxes[best],
        distances=assigned_dist,
        centerness=torch.where(
            positive, centerness_of(assigned_dist), torch.zeros_like(best_area)
        ),
    )
