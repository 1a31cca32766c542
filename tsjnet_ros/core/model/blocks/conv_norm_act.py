"""Convolution followed by an optional norm and activation (the most repeated unit)."""

from __future__ import annotations

from torch import nn

from tsjnet_ros.core.model.blocks.layer_choice import LayerSpec, act_factory, norm2d_factory


class ConvNormAct(nn.Sequential):
    """``conv -> norm -> act`` as a Sequential, so inference code can fold the norm
    into the conv by position. ``norm_layer=None`` / ``act_layer=None`` drop that part."""

    def __init__(
        self,
        in_chs: int,
        out_chs: int,
        kernel_size: int = 3,
        stride: int = 1,
        groups: int = 1,
        bias: bool = True,
        norm_layer: LayerSpec | None = "batchnorm2d",
        act_layer: LayerSpec | None = "relu",
    ) -> None:
        if in_chs <= 0 or out_chs <= 0:
            raise ValueError(f"channel counts must be positive, got {in_chs} -> {out_chs}")
        if in_chs % groups or out_chs % groups:
            raise ValueError(f"groups ({groups}) must divide both {in_chs} and {out_chs}")
        layers: list[nn.Module] = [
            nn.Conv2d(in_chs, out_chs, kernel_size, stride, kernel_size // 2, groups=groups, bias=bias)
        ]
        if norm_layer is not None:
            layers.append(norm2d_factory(norm_layer)(out_chs))
        if act_layer is not None:
            layers.append(act_factory(act_layer)())
        super().__init__(*layers)
