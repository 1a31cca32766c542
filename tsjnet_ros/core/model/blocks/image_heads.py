"""Last decoder stage: features -> one-channel image in [0, 1].

Blending heads also take the sources the features came from.
"""

from __future__ import annotations

import torch
from torch import nn

from tsjnet_ros.core.model.blocks.conv_norm_act import ConvNormAct
from tsjnet_ros.core.model.blocks.layer_choice import LayerSpec
from tsjnet_ros.core.model.blocks.space_depth import DepthToSpace


class ConvImageHead(nn.Module):
    """Full-resolution head of TSJNet: 3x3 conv -> LeakyReLU -> 3x3 conv -> sigmoid."""

    def __init__(
        self, in_chs: int, hidden_chs: int = 256, act_layer: LayerSpec = 'leaky_relu'
    ) -> None:
        super().__init__()
        self.body = nn.Sequential(
            ConvNormAct(in_chs, hidden_chs, 3, bias=False, norm_layer=None, act_layer=act_layer),
            nn.Conv2d(hidden_chs, 1, 3, 1, 1, bias=False),
        )

    def forward(
        self,
        x: torch.Tensor,
        skip: torch.Tensor | None = None,
        sources: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        return torch.sigmoid(self.body(x))


class PixelShuffleImageHead(nn.Module):
    """Light head for low-resolution decoders: 4x upsampling in two pixel-shuffle steps.

    Features at 1/4 size become 1/2-size features (1x1 conv + shuffle), are merged with a
    1/2-size encoder skip, optionally refined by a 3x3 conv-norm-act, and a 3x3 conv
    predicts the 2x2 pixel blocks of the full-size image, so no convolution ever runs at
    full resolution.
    """

    out_chs = 1

    def __init__(
        self,
        in_chs: int,
        skip_chs: int,
        act_layer: LayerSpec = 'relu',
        norm_layer: LayerSpec | None = 'batchnorm2d',
        refine: bool = True,
    ) -> None:
        super().__init__()
        self.up = nn.Sequential(nn.Conv2d(in_chs, skip_chs * 4, 1), DepthToSpace(2))
        self.refine = (
            ConvNormAct(skip_chs, skip_chs, 3, norm_layer=norm_layer, act_layer=act_layer)
            if refine
            else nn.Identity()
        )
        self.to_image = nn.Sequential(
            nn.Conv2d(skip_chs, 4 * self.out_chs, 3, 1, 1), DepthToSpace(2)
        )

    def full_size_maps(self, x: torch.Tensor, skip: torch.Tensor | None) -> torch.Tensor:
        if skip is None:
            raise ValueError(
                f"{type(self).__name__} needs the encoder's half-resolution skip features"
            )
        y = self.up(x)
        if y.shape != skip.shape:
            raise ValueError(
                f'skip features {tuple(skip.shape)} do not match upsampled {tuple(y.shape)}'
            )
        return self.to_image(self.refine(y + skip))

    def forward(
        self,
        x: torch.Tensor,
        skip: torch.Tensor | None = None,
        sources: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        return torch.sigmoid(self.full_size_maps(x, skip))


class SourceBlendImageHead(PixelShuffleImageHead):
    """Pixel-shuffle head that blends the full-size sources instead of drawing the image.

    A network that works at 1/4 size cannot redraw full-size texture, but it can decide,
    per full-size pixel, how much of each source to keep: the head predicts a weight map
    w in (0, 1) and a bounded correction r, and returns clamp(w * a + (1 - w) * b + r, 0, 1)
    for the source pair (a, b). Source edges reach the output untouched; the network
    learns where to take them from. Initialised to w = 0.5, r = 0 (average fusion).
    """

    out_chs = 2

    def __init__(
        self,
        in_chs: int,
        skip_chs: int,
        act_layer: LayerSpec = 'relu',
        norm_layer: LayerSpec | None = 'batchnorm2d',
        refine: bool = True,
        max_correction: float = 0.5,
    ) -> None:
        super().__init__(in_chs, skip_chs, act_layer, norm_layer, refine)
        if not 0.0 <= max_correction <= 1.0:
            raise ValueError(f'max_correction must be in [0, 1], got {max_correction}')
        self.max_correction = float(max_correction)
        last = self.to_image[0]
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)

    def forward(
        self,
        x: torch.Tensor,
        skip: torch.Tensor | None = None,
        sources: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        if sources is None:
            raise ValueError('SourceBlendImageHead needs the full-size source images to blend')
        first, second = sources
        maps = self.full_size_maps(x, skip)
        if maps.shape[-2:] != first.shape[-2:]:
            raise ValueError(
                f'head output {tuple(maps.shape[-2:])} '
                f'does not match sources {tuple(first.shape[-2:])}'
            )
        weight = torch.sigmoid(maps[:, :1])
        correction = torch.tanh(maps[:, 1:]) * self.max_correction
        return (second + weight * (first - second) + correction).clamp(0.0, 1.0)
