"""The 3x3 blocks of the segmentation and detection heads (bias-free convs: a norm follows)."""

from __future__ import annotations

from torch import nn

from tsjnet_ros.core.model.blocks.conv_norm_act import ConvNormAct
from tsjnet_ros.core.model.blocks.layer_choice import LayerSpec


class SeparableConvNormAct(nn.Sequential):
    """Depthwise 3x3 then pointwise 1x1: about 1/8 the multiply-adds of a dense 3x3."""

    def __init__(
        self, in_ch: int, out_ch: int, dilation: int = 1, norm: LayerSpec = 'batchnorm2d'
    ) -> None:
        super().__init__(
            ConvNormAct(
                in_ch, in_ch, 3, groups=in_ch, bias=False, norm_layer=norm, dilation=dilation
            ),
            ConvNormAct(in_ch, out_ch, 1, bias=False, norm_layer=norm),
        )


def conv3x3_block(
    in_ch: int, out_ch: int, depthwise: bool, norm: LayerSpec, dilation: int = 1
) -> nn.Module:
    """Build the head's 3x3 block: separable when ``depthwise`` (light preset), dense otherwise."""
    if depthwise:
        return SeparableConvNormAct(in_ch, out_ch, dilation=dilation, norm=norm)
    return ConvNormAct(in_ch, out_ch, 3, bias=False, norm_layer=norm, dilation=dilation)
