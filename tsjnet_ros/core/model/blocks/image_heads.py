"""Last decoder stage: features -> one-channel image in [0, 1]."""

from __future__ import annotations

import torch
from torch import nn

from tsjnet_ros.core.model.blocks.conv_norm_act import ConvNormAct
from tsjnet_ros.core.model.blocks.layer_choice import LayerSpec
from tsjnet_ros.core.model.blocks.space_depth import DepthToSpace


class ConvImageHead(nn.Module):
    """Full-resolution head of TSJNet: 3x3 conv -> LeakyReLU -> 3x3 conv -> sigmoid."""

    def __init__(self, in_chs: int, hidden_chs: int = 256, act_layer: LayerSpec = "leaky_relu") -> None:
        super().__init__()
        self.body = nn.Sequential(
            ConvNormAct(in_chs, hidden_chs, 3, bias=False, norm_layer=None, act_layer=act_layer),
            nn.Conv2d(hidden_chs, 1, 3, 1, 1, bias=False),
        )

    def forward(self, x: torch.Tensor, skip: torch.Tensor | None = None) -> torch.Tensor:
        return torch.sigmoid(self.body(x))


class PixelShuffleImageHead(nn.Module):
    """Light head for low-resolution decoders: 4x upsampling in two pixel-shuffle steps.

    Features at 1/4 size become 1/2-size features (1x1 conv + shuffle), are merged with a
    1/2-size encoder skip, optionally refined by a 3x3 conv-norm-act, and a 3x3 conv
    predicts the 2x2 pixel blocks of the full-size image, so no convolution ever runs at
    full resolution.
    """

    def __init__(self, in_chs: int, skip_chs: int, act_layer: LayerSpec = "relu",
                 norm_layer: LayerSpec | None = "batchnorm2d", refine: bool = True) -> None:
        super().__init__()
        self.up = nn.Sequential(nn.Conv2d(in_chs, skip_chs * 4, 1), DepthToSpace(2))
        self.refine = (ConvNormAct(skip_chs, skip_chs, 3, norm_layer=norm_layer, act_layer=act_layer)
                       if refine else nn.Identity())
        self.to_image = nn.Sequential(nn.Conv2d(skip_chs, 4, 3, 1, 1), DepthToSpace(2))

    def forward(self, x: torch.Tensor, skip: torch.Tensor | None = None) -> torch.Tensor:
        if skip is None:
            raise ValueError("PixelShuffleImageHead needs the encoder's half-resolution skip features")
        y = self.up(x)
        if y.shape != skip.shape:
            raise ValueError(f"skip features {tuple(skip.shape)} do not match upsampled {tuple(y.shape)}")
        return torch.sigmoid(self.to_image(self.refine(y + skip)))
