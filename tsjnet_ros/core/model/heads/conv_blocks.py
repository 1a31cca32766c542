"""Small convolution building blocks shared by the segmentation and detection heads."""

from __future__ import annotations

from torch import nn


def make_norm(kind: str, channels: int) -> nn.Module:
    """BatchNorm for the light heads; GroupNorm (batch-size independent) for the large ones."""
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "group":
        groups = 32 if channels % 32 == 0 else 1
        return nn.GroupNorm(groups, channels)
    raise ValueError(f"unknown norm {kind!r}; expected 'batch' or 'group'")


class ConvNormAct(nn.Sequential):
    """Conv -> norm -> ReLU, padded so the spatial size only changes by ``stride``."""

    def __init__(
        self, in_ch: int, out_ch: int, kernel_size: int = 3, dilation: int = 1,
        norm: str = "batch", groups: int = 1,
    ) -> None:
        padding = dilation * (kernel_size // 2)
        super().__init__(
            nn.Conv2d(in_ch, out_ch, kernel_size, padding=padding, dilation=dilation,
                      groups=groups, bias=False),
            make_norm(norm, out_ch),
            nn.ReLU(inplace=True),
        )


class SeparableConvNormAct(nn.Sequential):
    """Depthwise 3x3 then pointwise 1x1: about 1/8 the multiply-adds of a dense 3x3."""

    def __init__(self, in_ch: int, out_ch: int, dilation: int = 1, norm: str = "batch") -> None:
        super().__init__(
            ConvNormAct(in_ch, in_ch, 3, dilation=dilation, norm=norm, groups=in_ch),
            ConvNormAct(in_ch, out_ch, 1, norm=norm),
        )


def conv3x3_block(in_ch: int, out_ch: int, depthwise: bool, norm: str, dilation: int = 1) -> nn.Module:
    """The head's 3x3 block: separable when ``depthwise`` (light preset), dense otherwise."""
    if depthwise:
        return SeparableConvNormAct(in_ch, out_ch, dilation=dilation, norm=norm)
    return ConvNormAct(in_ch, out_ch, 3, dilation=dilation, norm=norm)
