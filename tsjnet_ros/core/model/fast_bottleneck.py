"""Inference form of the ResNeSt bottleneck that never allocates a second wide map.

The bottleneck ends with ``act(conv3(h) + shortcut(x))``, both 1x1 convs to 4x the width
(512 channels at full resolution in ``tsjnet``). Here the two products accumulate into one
output buffer: with a projection shortcut ``W_s x`` is computed first and ``W_3 h`` added
in place; with an identity shortcut ``W_3 h`` is added straight into the input when the
caller hands it over (``consume_input``). Saves one or two full-size wide tensors per
block, and the page faults of allocating them.
"""

from __future__ import annotations

import torch
from torch import nn

from tsjnet_ros.core.model.blocks.resnest import ResNeStBottleneck
from tsjnet_ros.core.model.fast_convs import PointwiseConv2d
from tsjnet_ros.core.model.memory_layout import is_channels_last


def _pointwise(module: nn.Module) -> PointwiseConv2d | None:
    """The PointwiseConv2d of a folded (conv, Identity) Sequential, else None."""
    parts = list(module) if isinstance(module, nn.Sequential) else [module]
    convs = [p for p in parts if not isinstance(p, nn.Identity)]
    return convs[0] if len(convs) == 1 and isinstance(convs[0], PointwiseConv2d) else None


def can_fuse_bottleneck(block: nn.Module) -> bool:
    """True for a ResNeStBottleneck whose conv3/shortcut were folded to PointwiseConv2d."""
    if not isinstance(block, ResNeStBottleneck) or _pointwise(block.conv3) is None:
        return False
    return isinstance(block.shortcut, nn.Identity) or _pointwise(block.shortcut) is not None


def _flat(x: torch.Tensor) -> tuple[torch.Tensor, bool]:
    """(pixels, C) view of a channels-last map, or (B, C, pixels) view of a channels-first one."""
    if is_channels_last(x):
        return x.permute(0, 2, 3, 1).reshape(-1, x.shape[1]), True
    return x.reshape(x.shape[0], x.shape[1], -1), False


class FusedBottleneck(nn.Module):
    """Same function as the given (folded) ResNeStBottleneck, with accumulated 1x1 convs."""

    def __init__(self, block: ResNeStBottleneck, consume_input: bool = False) -> None:
        super().__init__()
        if not can_fuse_bottleneck(block):
            raise ValueError("FusedBottleneck needs a ResNeStBottleneck with folded 1x1 conv3/shortcut")
        self.conv1 = block.conv1
        self.conv2 = block.conv2
        self.act = block.act
        self.shortcut_pool = block.shortcut_pool
        conv3 = _pointwise(block.conv3)
        shortcut = None if isinstance(block.shortcut, nn.Identity) else _pointwise(block.shortcut)
        self.weight3 = conv3.weight
        bias = conv3.bias.clone() if conv3.bias is not None else torch.zeros(conv3.weight.shape[0])
        if shortcut is not None:
            self.weight_shortcut = shortcut.weight
            if shortcut.bias is not None:
                bias += shortcut.bias
        else:
            self.register_parameter("weight_shortcut", None)
        self.bias = nn.Parameter(bias, requires_grad=False)
        self.consume_input = consume_input

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv2(self.conv1(x))
        h_flat, channels_last = _flat(h)
        w3 = self.weight3.to(h.dtype)
        if self.weight_shortcut is not None:
            x_flat, _ = _flat(x if self.shortcut_pool is None else self.shortcut_pool(x))
            ws = self.weight_shortcut.to(x.dtype)
            out_flat = x_flat @ ws.t() if channels_last else torch.matmul(ws, x_flat)
        else:
            out_flat, _ = _flat(x if self.consume_input else x.clone(memory_format=torch.preserve_format))
        if channels_last:
            out_flat.addmm_(h_flat, w3.t())
            out_flat.add_(self.bias.to(h.dtype))
            batch, _, height, width = h.shape
            out = out_flat.view(batch, height, width, -1).permute(0, 3, 1, 2)
        else:
            out_flat.baddbmm_(w3.expand(h.shape[0], -1, -1), h_flat)
            out_flat.add_(self.bias.to(h.dtype)[:, None])
            out = out_flat.view(h.shape[0], -1, *h.shape[-2:])
        return self.act(out)
