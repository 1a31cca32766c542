"""DeepLabV3+ segmentation head: ASPP on a deep feature plus a low-level skip at stride 4."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from tsjnet_ros.core.model.blocks.conv_norm_act import ConvNormAct
from tsjnet_ros.core.model.heads.conv_blocks import conv3x3_block


class ASPP(nn.Module):
    """Atrous spatial pyramid pooling: 1x1, dilated 3x3 branches and image pooling, fused 1x1."""

    def __init__(
        self, in_ch: int, out_ch: int, rates: tuple[int, ...], depthwise: bool, norm: str
    ) -> None:
        super().__init__()
        self.branches = nn.ModuleList([ConvNormAct(in_ch, out_ch, 1, bias=False, norm_layer=norm)])
        for rate in rates:
            self.branches.append(conv3x3_block(in_ch, out_ch, depthwise, norm, dilation=rate))
        # Image-level branch: no norm layer (a 1x1 map has no spatial statistics).
        self.pool = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Conv2d(in_ch, out_ch, 1), nn.ReLU(inplace=True)
        )
        self.project = nn.Sequential(
            ConvNormAct(out_ch * (len(rates) + 2), out_ch, 1, bias=False, norm_layer=norm),
            nn.Dropout(0.1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs = [branch(x) for branch in self.branches]
        outs.append(self.pool(x).expand(-1, -1, x.shape[2], x.shape[3]))
        return self.project(torch.cat(outs, dim=1))


class DeepLabV3PlusHead(nn.Module):
    """Per-pixel class logits at the low-level feature's resolution (stride 4)."""

    def __init__(
        self,
        deep_ch: int,
        low_ch: int,
        num_classes: int,
        aspp_channels: int,
        aspp_rates: tuple[int, ...],
        low_level_channels: int,
        decoder_channels: int,
        depthwise: bool,
        norm: str,
    ) -> None:
        super().__init__()
        self.aspp = ASPP(deep_ch, aspp_channels, aspp_rates, depthwise, norm)
        self.low_proj = ConvNormAct(low_ch, low_level_channels, 1, bias=False, norm_layer=norm)
        self.decoder = nn.Sequential(
            conv3x3_block(aspp_channels + low_level_channels, decoder_channels, depthwise, norm),
            conv3x3_block(decoder_channels, decoder_channels, depthwise, norm),
        )
        self.classifier = nn.Conv2d(decoder_channels, num_classes, 1)

    def forward(self, deep: torch.Tensor, low: torch.Tensor) -> torch.Tensor:
        context = self.aspp(deep)
        context = F.interpolate(context, size=low.shape[-2:], mode='bilinear', align_corners=False)
        x = torch.cat([context, self.low_proj(low)], dim=1)
        return self.classifier(self.decoder(x))
