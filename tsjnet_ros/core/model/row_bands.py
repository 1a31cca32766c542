"""Row-local layers run on horizontal bands of a map, for inference in bounded memory.

A stride-1 layer whose output row depends only on the input rows within ``r`` of it
(a "same"-padded k x k conv or pool has ``r = k // 2``; 1x1 convs and activations
``r = 0``) can run on any band of rows: given image rows ``[top, bottom)`` it returns
correct rows ``[top + r, bottom - r)``, and at the image border, where it pads as it
would on the whole map, the band loses nothing on that side. Chains add their radii.
This is how :class:`~tsjnet_ros.core.model.blocks.resnest_banded.BandedResNeStStage`
never holds a full-resolution wide map.
"""

from __future__ import annotations

import torch
from torch import nn

from tsjnet_ros.core.model.pointwise_conv import PointwiseConv2d
from tsjnet_ros.core.model.separable_max_pool import SeparableMaxPool2d
from tsjnet_ros.core.model.winograd_conv import WinogradConv2d

_ELEMENTWISE = (
    nn.Identity,
    nn.ReLU,
    nn.ReLU6,
    nn.LeakyReLU,
    nn.Hardtanh,
    nn.Sigmoid,
    nn.SiLU,
    nn.GELU,
    PointwiseConv2d,
)


def _same_conv_radius(conv: nn.Conv2d) -> int | None:
    """Row radius of a conv that keeps the map's size ("same" padding both ways), else None."""
    kernel, dilation, padding = conv.kernel_size, conv.dilation, conv.padding
    if conv.stride != (1, 1) or conv.padding_mode != 'zeros' or isinstance(padding, str):
        return None
    for axis in (0, 1):
        if kernel[axis] % 2 == 0 or padding[axis] != dilation[axis] * (kernel[axis] - 1) // 2:
            return None
    return padding[0]


def row_radius(module: nn.Module) -> int | None:
    """Rows of context each side that ``module`` needs per output row; None if not row-local.

    Known: ``nn.Sequential`` of known layers, stride-1 ``nn.Conv2d`` that keep the map's
    size and :class:`WinogradConv2d`, :class:`SeparableMaxPool2d`, 1x1 and elementwise
    layers; all keep the map's height and width.
    """
    if isinstance(module, nn.Sequential):
        radii = [row_radius(child) for child in module]
        return None if any(r is None for r in radii) else sum(radii)
    if isinstance(module, _ELEMENTWISE):
        return 0
    if isinstance(module, WinogradConv2d):
        return module.padding[0]
    if isinstance(module, SeparableMaxPool2d):
        return module.kernel_size // 2
    if type(module) is nn.Conv2d:
        return _same_conv_radius(module)
    return None


def run_on_rows(
    module: nn.Module, x: torch.Tensor, x_top: int, top: int, bottom: int
) -> torch.Tensor:
    """Rows ``[top, bottom)`` of ``module``'s output, from ``x`` = image rows from ``x_top`` on.

    ``x`` must hold the rows within ``row_radius(module)`` of ``[top, bottom)``, clipped to
    the image: then every returned row is exact (at the image border ``module`` pads as it
    does on the whole map).
    """
    return module(x)[:, :, top - x_top : bottom - x_top]


def halo(top: int, bottom: int, radius: int, height: int) -> tuple[int, int]:
    """``[top, bottom)`` widened by ``radius`` rows each side, clipped to ``[0, height)``."""
    return max(0, top - radius), min(height, bottom + radius)


def bands(height: int, rows: int) -> list[tuple[int, int]]:
    """``[top, bottom)`` bands of at most ``rows`` rows covering ``height`` rows.

    Raises ValueError when ``rows`` < 1.
    """
    if rows < 1:
        raise ValueError(f'rows must be >= 1, got {rows}')
    return [(top, min(height, top + rows)) for top in range(0, height, rows)]
