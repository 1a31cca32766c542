"""Anchor-free (FCOS-style) detector on strides 8, 16 and 32 of the shared backbone.

Every feature-map cell predicts class scores, the distances from its centre to the four box
sides (left, top, right, bottom) and a "centerness" that down-weights off-centre cells.
No anchors, so there are no anchor shapes to tune per dataset.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from tsjnet_ros.core.model.blocks.conv_norm_act import ConvNormAct
from tsjnet_ros.core.model.heads.conv_blocks import conv3x3_block

DETECTION_STRIDES = (8, 16, 32)
_PRIOR_PROBABILITY = 0.01  # initial foreground probability, keeps the focal loss stable


@dataclass
class DetectionHeadOutput:
    """Raw per-level predictions in head-input pixels.

    ``box_distances`` are positive (left, top, right, bottom) distances; ``scale`` maps
    head-input pixels to fused-image pixels (x factor, y factor); ``image_size`` is the
    fused image's (H, W), for clipping decoded boxes.
    """

    cls_logits: list[torch.Tensor]  # per level (B, C, h, w)
    box_distances: list[torch.Tensor]  # per level (B, 4, h, w)
    centerness: list[torch.Tensor]  # per level (B, 1, h, w)
    strides: tuple[int, ...]
    scale: tuple[float, float] = (1.0, 1.0)
    image_size: tuple[int, int] | None = None

    def flatten(
        self,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Return all levels concatenated.

        cls (B,N,C), distances (B,N,4), centerness (B,N), cell centres (N,2) as (x, y)
        head-input pixels, level index (N,).
        """
        cls = torch.cat([c.flatten(2).transpose(1, 2) for c in self.cls_logits], dim=1)
        dist = torch.cat([d.flatten(2).transpose(1, 2) for d in self.box_distances], dim=1)
        ctr = torch.cat([c.flatten(1) for c in self.centerness], dim=1)
        sizes = [tuple(c.shape[-2:]) for c in self.cls_logits]
        points, levels = cell_centres(sizes, self.strides, cls.device)
        return cls, dist, ctr, points, levels


def cell_centres(
    sizes: list[tuple[int, int]], strides: tuple[int, ...], device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """Centres ((i + 0.5) * stride) of every cell of every level, row-major, and their level."""
    points, levels = [], []
    for level, ((h, w), stride) in enumerate(zip(sizes, strides)):
        ys = (torch.arange(h, device=device, dtype=torch.float32) + 0.5) * stride
        xs = (torch.arange(w, device=device, dtype=torch.float32) + 0.5) * stride
        yy, xx = torch.meshgrid(ys, xs, indexing='ij')
        points.append(torch.stack([xx.reshape(-1), yy.reshape(-1)], dim=1))
        levels.append(torch.full((h * w,), level, device=device, dtype=torch.long))
    return torch.cat(points), torch.cat(levels)


def distances_to_boxes(points: torch.Tensor, distances: torch.Tensor) -> torch.Tensor:
    """(x, y) cell centres + (l, t, r, b) distances -> (x1, y1, x2, y2) boxes."""
    x, y = points[..., 0], points[..., 1]
    left, top, right, bottom = distances.unbind(-1)
    return torch.stack([x - left, y - top, x + right, y + bottom], dim=-1)


class FeaturePyramid(nn.Module):
    """Top-down pyramid: 1x1 laterals, upsample-and-add, one 3x3 smoothing block per level."""

    def __init__(
        self, in_channels: tuple[int, ...], out_ch: int, depthwise: bool, norm: str
    ) -> None:
        super().__init__()
        self.laterals = nn.ModuleList(
            [ConvNormAct(c, out_ch, 1, bias=False, norm_layer=norm) for c in in_channels]
        )
        self.smooth = nn.ModuleList(
            [conv3x3_block(out_ch, out_ch, depthwise, norm) for _ in in_channels]
        )

    def forward(self, features: list[torch.Tensor]) -> list[torch.Tensor]:
        lat = [layer(f) for layer, f in zip(self.laterals, features)]
        merged = [lat[-1]]
        for x in reversed(lat[:-1]):
            merged.insert(0, x + F.interpolate(merged[0], size=x.shape[-2:], mode='nearest'))
        return [layer(m) for layer, m in zip(self.smooth, merged)]


class AnchorFreeDetector(nn.Module):
    """FCOS-style head shared across pyramid levels, with a learnt scale per level."""

    def __init__(
        self,
        in_channels: tuple[int, ...],
        num_classes: int,
        channels: int,
        tower_depth: int,
        depthwise: bool,
        norm: str,
    ) -> None:
        super().__init__()
        if len(in_channels) != len(DETECTION_STRIDES):
            raise ValueError(
                f'detector needs {len(DETECTION_STRIDES)} feature levels, got {len(in_channels)}'
            )
        self.num_classes = num_classes
        self.pyramid = FeaturePyramid(in_channels, channels, depthwise, norm)
        self.cls_tower = nn.Sequential(
            *[conv3x3_block(channels, channels, depthwise, norm) for _ in range(tower_depth)]
        )
        self.reg_tower = nn.Sequential(
            *[conv3x3_block(channels, channels, depthwise, norm) for _ in range(tower_depth)]
        )
        self.cls_out = nn.Conv2d(channels, num_classes, 3, padding=1)
        self.box_out = nn.Conv2d(channels, 4, 3, padding=1)
        self.ctr_out = nn.Conv2d(channels, 1, 3, padding=1)
        self.level_scales = nn.Parameter(torch.ones(len(DETECTION_STRIDES)))
        for conv in (self.cls_out, self.box_out, self.ctr_out):
            nn.init.normal_(conv.weight, std=0.01)
            nn.init.zeros_(conv.bias)
        nn.init.constant_(
            self.cls_out.bias, -math.log((1 - _PRIOR_PROBABILITY) / _PRIOR_PROBABILITY)
        )

    def forward(self, features: list[torch.Tensor]) -> DetectionHeadOutput:
        """``features``: backbone maps at strides 8, 16, 32."""
        cls, dist, ctr = [], [], []
        for level, p in enumerate(self.pyramid(features)):
            c = self.cls_tower(p)
            r = self.reg_tower(p)
            cls.append(self.cls_out(c))
            stride = DETECTION_STRIDES[level]
            dist.append(F.softplus(self.box_out(r) * self.level_scales[level]) * stride)
            ctr.append(self.ctr_out(r))
        return DetectionHeadOutput(cls, dist, ctr, DETECTION_STRIDES)
