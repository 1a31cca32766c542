"""Space-to-depth / depth-to-space with a channel order that is cheap in channels-last.

``nn.PixelShuffle``/``nn.PixelUnshuffle`` order channels as (c, dy, dx), which in a
channels-last tensor means interleaving single floats, and they return channels-first
results. Here channels are ordered (dy, dx, c): on the (B, H, W, C) view each move is a
copy of whole C-float runs, and the result keeps the input's layout. A network only ever
uses one convention (the convs around it learn whichever order), so the order is a free
choice.
"""

from __future__ import annotations

import torch
from torch import nn

from tsjnet_ros.core.model.memory_layout import is_channels_last


def _check(x: torch.Tensor, factor: int, what: str) -> None:
    if x.dim() != 4:
        raise ValueError(f'{what} expects (B, C, H, W), got shape {tuple(x.shape)}')
    if factor < 1:
        raise ValueError(f'factor must be >= 1, got {factor}')


def space_to_depth(x: torch.Tensor, factor: int) -> torch.Tensor:
    """(B, C, H*r, W*r) -> (B, r*r*C, H, W); output channel (dy*r + dx)*C + c."""
    _check(x, factor, 'space_to_depth')
    batch, channels, height, width = x.shape
    if height % factor or width % factor:
        raise ValueError(f'space_to_depth: {height}x{width} is not divisible by {factor}')
    h, w = height // factor, width // factor
    if is_channels_last(x):
        y = x.permute(0, 2, 3, 1).reshape(batch, h, factor, w, factor, channels).transpose(2, 3)
        return y.reshape(batch, h, w, factor * factor * channels).permute(0, 3, 1, 2)
    y = x.reshape(batch, channels, h, factor, w, factor).permute(0, 3, 5, 1, 2, 4)
    return y.reshape(batch, factor * factor * channels, h, w)


def depth_to_space(x: torch.Tensor, factor: int) -> torch.Tensor:
    """(B, r*r*C, H, W) -> (B, C, H*r, W*r); inverse of :func:`space_to_depth`."""
    _check(x, factor, 'depth_to_space')
    batch, channels, height, width = x.shape
    if channels % (factor * factor):
        raise ValueError(
            f'depth_to_space: {channels} channels are not divisible by {factor * factor}'
        )
    out_chs = channels // (factor * factor)
    if is_channels_last(x):
        y = (
            x.permute(0, 2, 3, 1)
            .reshape(batch, height, width, factor, factor, out_chs)
            .transpose(2, 3)
        )
        return y.reshape(batch, height * factor, width * factor, out_chs).permute(0, 3, 1, 2)
    y = x.reshape(batch, factor, factor, out_chs, height, width).permute(0, 3, 4, 1, 5, 2)
    return y.reshape(batch, out_chs, height * factor, width * factor)


class _Rearrange(nn.Module):
    """Module form of a parameter-free rearrangement by ``factor``."""

    def __init__(self, factor: int) -> None:
        super().__init__()
        self.factor = int(factor)

    def extra_repr(self) -> str:
        return f'factor={self.factor}'


class SpaceToDepth(_Rearrange):
    """Module form of :func:`space_to_depth`."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return space_to_depth(x, self.factor)


class DepthToSpace(_Rearrange):
    """Module form of :func:`depth_to_space`."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return depth_to_space(x, self.factor)
