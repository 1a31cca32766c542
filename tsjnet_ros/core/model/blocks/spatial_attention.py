"""Data-agnostic grouped spatial attention (TSJNet decoder, also inside the DSM).

The channels are split into ``groups``; each group predicts one sigmoid map from its
own channels with a 1x1 conv and is rescaled by it. No statistics of a particular data
domain are involved (no norm layer), which is what lets the same maps recalibrate
attention across datasets. The maps are returned so the diversity loss L_div can push
different groups to attend to different places.
"""

from __future__ import annotations

import torch
from torch import nn

from tsjnet_ros.core.model.memory_layout import is_channels_last


class GroupedSpatialAttention(nn.Module):
    """``x`` (B, C, H, W) -> (x rescaled per group, maps (B, groups, H, W) in (0, 1))."""

    def __init__(self, channels: int, groups: int = 8) -> None:
        super().__init__()
        if groups < 1 or channels % groups:
            raise ValueError(f'groups ({groups}) must be >= 1 and divide channels ({channels})')
        self.groups = groups
        # One grouped conv computes all maps at once; group g only sees its own channels.
        self.score = nn.Conv2d(channels, groups, 1, groups=groups)

    def forward(self, x: torch.Tensor, inplace: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """Rescale ``x`` per group; return it with the maps.

        ``inplace=True`` rescales ``x`` itself (callers that own a fresh tensor and run
        without autograd save a full-size temporary).
        """
        maps = torch.sigmoid(self.score(x))
        batch, channels, height, width = x.shape
        per_group = channels // self.groups
        if is_channels_last(x):
            # Channels-last: (B, H, W, G, C/G) is a free view; the result stays channels-last.
            grouped = x.permute(0, 2, 3, 1).reshape(batch, height, width, self.groups, per_group)
            out = grouped * maps.permute(0, 2, 3, 1).unsqueeze(-1)
            return out.reshape(batch, height, width, channels).permute(0, 3, 1, 2), maps
        grouped = x.reshape(batch, self.groups, per_group, height, width)
        if inplace and x.is_contiguous():
            return grouped.mul_(maps.unsqueeze(2)).view(batch, channels, height, width), maps
        return (grouped * maps.unsqueeze(2)).reshape(batch, channels, height, width), maps
