"""Shared feature extractor for the task heads: a timm CNN run on the fused image.

Built with ``pretrained=False`` and ``in_chans=1``: nothing is downloaded, weights come
from our checkpoints. Returns four feature maps at strides 4, 8, 16 and 32.
"""

from __future__ import annotations

import timm
import torch
from torch import nn

_EXPECTED_STRIDES = (4, 8, 16, 32)


class SharedBackbone(nn.Module):
    """timm ``features_only`` network; ``channels[i]`` belongs to stride ``strides[i]``."""

    def __init__(self, name: str, mean: float = 0.5, std: float = 0.25) -> None:
        super().__init__()
        try:
            self.body = timm.create_model(
                name, features_only=True, pretrained=False, in_chans=1, out_indices=(1, 2, 3, 4)
            )
        except (RuntimeError, ValueError) as exc:
            raise ValueError(f'cannot build timm backbone {name!r}: {exc}') from exc
        strides = tuple(int(r) for r in self.body.feature_info.reduction())
        if strides != _EXPECTED_STRIDES:
            raise ValueError(
                f'backbone {name!r} gives feature strides {strides}; '
                f'the heads need {_EXPECTED_STRIDES}'
            )
        self.strides = strides
        self.channels = tuple(int(c) for c in self.body.feature_info.channels())
        self.mean = float(mean)
        self.std = float(std)

    def forward(self, image: torch.Tensor) -> list[torch.Tensor]:
        """``image``: (B, 1, H, W) fused luminance in [0, 1]."""
        return self.body((image - self.mean) / self.std)
