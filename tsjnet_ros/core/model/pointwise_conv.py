"""A 1x1 convolution as one matrix product, for channels-first inference on CPU.

On a channels-first map a 1x1 conv is ``W @ x`` on the (B, C, H*W) view. oneDNN runs it
as a convolution with layout reorders and a second output-sized buffer; one GEMM needs
neither, which matters for the wide full-resolution 1x1 convs of ``tsjnet`` and
``tsjnet_official`` (``bench/official_speed.py`` and ``bench/ab_speed.py`` print the
difference). Channels-last maps keep ``F.conv2d``, which is already a GEMM there.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def is_pointwise_candidate(conv: nn.Module) -> bool:
    """Tell whether ``conv`` is a plain 1x1, stride-1, ungrouped, unpadded conv."""
    return (
        type(conv) is nn.Conv2d
        and conv.kernel_size == (1, 1)
        and conv.stride == (1, 1)
        and conv.groups == 1
        and conv.padding == (0, 0)
        and conv.dilation == (1, 1)
    )


class PointwiseConv2d(nn.Module):
    """Same function as the given 1x1 ``nn.Conv2d``, as ``W @ x`` plus bias in place.

    Input (B, C_in, H, W) float; output (B, C_out, H, W), channels-first. Weights are
    frozen copies (inference only); autograd and channels-last inputs use ``F.conv2d``.
    """

    def __init__(self, conv: nn.Conv2d) -> None:
        super().__init__()
        if not is_pointwise_candidate(conv):
            raise ValueError(f'PointwiseConv2d needs a plain 1x1 conv, got {conv}')
        self.weight = nn.Parameter(conv.weight.detach().clone(), requires_grad=False)
        bias = None if conv.bias is None else conv.bias.detach().clone()
        self.bias = None if bias is None else nn.Parameter(bias, requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight = self.weight.to(x.dtype)
        bias = None if self.bias is None else self.bias.to(x.dtype)
        if not x.is_contiguous() or (torch.is_grad_enabled() and x.requires_grad):
            return F.conv2d(x, weight, bias)
        batch, channels, height, width = x.shape
        out = torch.matmul(weight.flatten(1), x.view(batch, channels, height * width))
        if bias is not None:
            out.add_(bias[:, None])
        return out.view(batch, -1, height, width)

    def extra_repr(self) -> str:
        return f'{self.weight.shape[1]}, {self.weight.shape[0]}, bias={self.bias is not None}'
