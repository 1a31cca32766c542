"""Inference form of :class:`ResNeStBottleneck` that accumulates its two wide 1x1 convs.

The bottleneck ends with ``act(conv3(h) + shortcut(x))``; both are 1x1 convs to 4x the
width (512 channels at full resolution in ``tsjnet``). Here the shortcut product (or a
copy of the input for an identity shortcut) is the output buffer and ``W_3 h`` is added
into it with one ``baddbmm``: one full-size wide temporary less per block than the sum of
two convs, and its page faults. Built by :meth:`ResNeStBottleneck.fuse`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _conv_weights(conv: nn.Conv2d) -> tuple[torch.Tensor, torch.Tensor]:
    """(C_out, C_in) weight and (C_out,) bias (zeros when the conv has none) of a 1x1 conv."""
    weight = conv.weight.detach().flatten(1).clone()
    bias = torch.zeros(weight.shape[0]) if conv.bias is None else conv.bias.detach().clone()
    return weight, bias


class FusedResNeStBottleneck(nn.Module):
    """Same function as a folded (eval-mode) ResNeSt bottleneck, for inference only.

    ``conv1``/``conv2``/``act``/``shortcut_pool`` are the block's (already fused) modules;
    ``conv3`` and ``shortcut`` are plain 1x1 ``nn.Conv2d`` (norms folded in), or None for
    an identity shortcut. Input (B, C_in, H, W), output (B, C_out, H, W). Channels-last
    maps and autograd take the two-conv path. ``overwrite_input`` (identity shortcut only,
    off unless set): the output is written into the input's memory, for a block whose
    input nothing else reads afterwards (one wide full-size map less); calling such a
    block on a tensor destroys that tensor.
    """

    def __init__(
        self,
        conv1: nn.Module,
        conv2: nn.Module,
        conv3: nn.Conv2d,
        shortcut: nn.Conv2d | None,
        shortcut_pool: nn.Module | None,
        act: nn.Module,
    ) -> None:
        super().__init__()
        self.conv1, self.conv2, self.act, self.shortcut_pool = conv1, conv2, act, shortcut_pool
        weight3, bias = _conv_weights(conv3)
        self.weight3 = nn.Parameter(weight3, requires_grad=False)
        if shortcut is not None:
            weight_shortcut, bias_shortcut = _conv_weights(shortcut)
            self.weight_shortcut = nn.Parameter(weight_shortcut, requires_grad=False)
            bias = bias + bias_shortcut
        else:
            self.register_parameter('weight_shortcut', None)
        self.bias = nn.Parameter(bias, requires_grad=False)
        self.overwrite_input = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv2(self.conv1(x))
        # The block builds a shortcut pool only for a projection shortcut.
        source = x if self.shortcut_pool is None else self.shortcut_pool(x)
        w3, bias = self.weight3.to(h.dtype), self.bias.to(h.dtype)
        if not (h.is_contiguous() and source.is_contiguous()) or torch.is_grad_enabled():
            out = F.conv2d(h, w3[:, :, None, None])
            if self.weight_shortcut is None:
                out = out + source
            else:
                out = out + F.conv2d(source, self.weight_shortcut.to(h.dtype)[:, :, None, None])
            return self.act(out + bias[:, None, None])
        return self.merge(h, source, overwrite_source=self.overwrite_input)

    def merge(
        self, h: torch.Tensor, source: torch.Tensor, overwrite_source: bool = False
    ) -> torch.Tensor:
        """Compute the block's last step, ``act(W_3 h + shortcut(source) + b)``, as GEMMs.

        ``h`` (B, planes, H, W) is the attended map and ``source`` (B, C_in, H, W) the
        shortcut's input, already pooled; either may be a band of rows of a larger map.
        ``overwrite_source`` (identity shortcut, contiguous ``source``) writes the result
        into ``source``'s memory. Returns (B, C_out, H, W), channels-first.
        """
        batch, _, height, width = h.shape
        if self.weight_shortcut is not None:
            flat = source.reshape(batch, source.shape[1], height * width)
            out = torch.matmul(self.weight_shortcut.to(h.dtype), flat)
        elif overwrite_source:
            out = source.view(batch, -1, height * width)
        else:  # one contiguous copy, also of a band of rows
            out = source.clone(memory_format=torch.contiguous_format)
            out = out.view(batch, -1, height * width)
        w3 = self.weight3.to(h.dtype).expand(batch, -1, -1)
        out.baddbmm_(w3, h.reshape(batch, h.shape[1], height * width))
        out.add_(self.bias.to(h.dtype)[:, None])
        return self.act(out.view(batch, -1, height, width))
