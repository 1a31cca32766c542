"""Inference-only replacements for convolutions that PyTorch runs slowly on CPU.

Each class takes a trained (norm-folded) conv and computes exactly the same function:

* :class:`PointwiseConv2d`: a 1x1 conv as one matrix product (PyTorch sends small-batch
  1x1 convs on one thread to a slow reference path), bias added in place;
* :class:`WinogradConv2d`: a 3x3 stride-1 conv through NNPACK's Winograd F(6x6, 3x3)
  kernel, about a third of the multiplications of a direct conv;
* :class:`RadixWinogradConvAct`: a grouped 3x3 conv + activation returning its groups as
  separate maps (ResNeSt's radix splits), so they are never concatenated;
* :class:`PatchTransposedConv2d`: a transposed conv whose kernel equals its stride (each
  input pixel paints its own output patch) as one matrix product + depth-to-space.

They are not trainable (weights are frozen copies); NNPACK paths fall back to
``F.conv2d`` where NNPACK does not apply.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from tsjnet_ros.core.model.blocks.space_depth import depth_to_space
from tsjnet_ros.core.model.memory_layout import is_channels_last


def nnpack_available() -> bool:
    """True when this PyTorch build can run NNPACK convolutions (initialises NNPACK)."""
    try:
        return bool(torch.backends.nnpack.is_available())
    except (AttributeError, RuntimeError):
        return False


@torch.compiler.disable
def _nnpack_conv(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, padding: list[int]) -> torch.Tensor:
    # Opaque to torch.compile (no tracing rule for this op): compiled graphs call it eagerly.
    return torch._nnpack_spatial_convolution(x, weight, bias, padding)


def _frozen(t: torch.Tensor | None) -> nn.Parameter | None:
    return None if t is None else nn.Parameter(t.detach().clone().contiguous(), requires_grad=False)


def is_pointwise_candidate(conv: nn.Module) -> bool:
    """1x1, stride 1, ungrouped, unpadded plain conv."""
    return (type(conv) is nn.Conv2d and conv.kernel_size == (1, 1) and conv.stride == (1, 1)
            and conv.groups == 1 and conv.padding == (0, 0) and conv.dilation == (1, 1))


def is_winograd_candidate(conv: nn.Module, min_channels: int) -> bool:
    """3x3, stride 1, dilation 1, zero padding 1, and at least ``min_channels`` in/out per group."""
    if type(conv) is not nn.Conv2d:
        return False
    per_group_in = conv.in_channels // conv.groups
    per_group_out = conv.out_channels // conv.groups
    return (
        conv.kernel_size == (3, 3) and conv.stride == (1, 1) and conv.dilation == (1, 1)
        and conv.padding == (1, 1) and conv.padding_mode == "zeros"
        and min(per_group_in, per_group_out) >= min_channels
    )


def is_patch_transposed_candidate(conv: nn.Module) -> bool:
    """Transposed conv with kernel == stride, no padding, no groups, no dilation."""
    return (type(conv) is nn.ConvTranspose2d and conv.kernel_size == conv.stride
            and conv.kernel_size[0] == conv.kernel_size[1] and conv.padding == (0, 0)
            and conv.output_padding == (0, 0) and conv.groups == 1 and conv.dilation == (1, 1))


class PointwiseConv2d(nn.Module):
    """A 1x1 conv as one matrix product, for either memory layout.

    Channels-last input: ``F.linear`` on the free (B, H, W, C) view, result channels-last.
    Channels-first input: a batched ``W @ x`` on the (B, C, H*W) view, bias added in place.
    """

    def __init__(self, conv: nn.Conv2d) -> None:
        super().__init__()
        if not is_pointwise_candidate(conv):
            raise ValueError(f"PointwiseConv2d needs a 1x1, stride 1, ungrouped, unpadded conv, got {conv}")
        self.weight = _frozen(conv.weight.flatten(1))
        self.bias = _frozen(conv.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight = self.weight.to(x.dtype)
        bias = None if self.bias is None else self.bias.to(x.dtype)
        if is_channels_last(x):
            return F.linear(x.permute(0, 2, 3, 1), weight, bias).permute(0, 3, 1, 2)
        batch, channels, height, width = x.shape
        out = torch.matmul(weight, x.reshape(batch, channels, height * width))
        if bias is not None:
            out.add_(bias[:, None])
        return out.view(batch, -1, height, width)

    def extra_repr(self) -> str:
        return f"{self.weight.shape[1]}, {self.weight.shape[0]}, bias={self.bias is not None}"


class WinogradConv2d(nn.Module):
    """A 3x3 stride-1 conv evaluated by NNPACK's Winograd kernel, group by group.

    Falls back to ``F.conv2d`` whenever NNPACK does not apply (autograd, non-float32,
    non-CPU tensors) or does not pay (maps under ``min_pixels``, where its thread pool
    and transforms cost more than they save). Inputs larger than ``stripe_bytes`` run in
    horizontal stripes (with a one-row halo) because NNPACK keeps a workspace as large as
    the transformed input for the rest of the process: striping caps it near
    ``stripe_bytes`` instead of ~1.4x the largest input seen.
    """

    def __init__(self, conv: nn.Conv2d, min_pixels: int = 64 * 64, stripe_bytes: int = 64 * 2**20) -> None:
        super().__init__()
        if not is_winograd_candidate(conv, min_channels=1):
            raise ValueError(f"WinogradConv2d needs a 3x3, stride 1, dilation 1, zero-padded conv, got {conv}")
        self.groups = conv.groups
        self.min_pixels = int(min_pixels)
        self.stripe_bytes = int(stripe_bytes)
        self.padding = [int(p) for p in conv.padding]
        self.weight = _frozen(conv.weight)
        self.bias = _frozen(conv.bias if conv.bias is not None else torch.zeros(conv.out_channels))

    def use_nnpack(self, x: torch.Tensor) -> bool:
        return (x.device.type == "cpu" and x.dtype == torch.float32 and self.weight.dtype == torch.float32
                and x.shape[-2] * x.shape[-1] >= self.min_pixels
                and not (torch.is_grad_enabled() and (x.requires_grad or self.weight.requires_grad)))

    def forward_groups(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The conv's output split into its groups, without concatenating them."""
        weights, biases = self.weight.chunk(self.groups), self.bias.chunk(self.groups)
        if not self.use_nnpack(x):
            out = F.conv2d(x, self.weight.to(x.dtype), self.bias.to(x.dtype), 1, self.padding, 1, self.groups)
            return list(out.chunk(self.groups, dim=1))
        inputs = x.chunk(self.groups, dim=1)
        # The weight may have been made channels-last by Module.to(); NNPACK wants it dense.
        return [self._striped(xi, w.contiguous(), b) for xi, w, b in zip(inputs, weights, biases)]

    def _striped(self, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        """NNPACK conv of (B, C, H, W) ``x``, in row stripes when it is large."""
        batch, channels, height, width = x.shape
        rows = max(8, self.stripe_bytes // max(1, 4 * batch * channels * width))
        if rows >= height:
            return _nnpack_conv(x.contiguous(), weight, bias, self.padding)
        out = x.new_empty(batch, weight.shape[0], height, width)
        for top in range(0, height, rows):
            bottom = min(height, top + rows)
            # One halo row each side; zero rows stand in for the padding at the image border.
            stripe = x[:, :, max(0, top - 1):min(height, bottom + 1)]
            stripe = F.pad(stripe, (0, 0, int(top == 0), int(bottom == height)))
            out[:, :, top:bottom] = _nnpack_conv(stripe.contiguous(), weight, bias, [0, self.padding[1]])
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.use_nnpack(x):
            return F.conv2d(x, self.weight.to(x.dtype), self.bias.to(x.dtype), 1, self.padding, 1, self.groups)
        if self.groups == 1:
            return self._striped(x, self.weight.contiguous(), self.bias)
        return torch.cat(self.forward_groups(x), dim=1)

    def extra_repr(self) -> str:
        out_chs, in_per_group = self.weight.shape[:2]
        return f"{in_per_group * self.groups}, {out_chs}, groups={self.groups}, padding={tuple(self.padding)}"


class RadixWinogradConvAct(nn.Module):
    """Grouped 3x3 conv + activation whose output is the list of its groups.

    Stands in for ResNeSt's ``radix_conv`` (conv, folded norm, act) when its groups are
    exactly the radix splits (cardinality 1), so SplitAttention2d gets the splits directly.
    """

    def __init__(self, conv: WinogradConv2d, act: nn.Module) -> None:
        super().__init__()
        self.conv = conv
        self.act = act

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        return [self.act(part) for part in self.conv.forward_groups(x)]


class PatchTransposedConv2d(nn.Module):
    """Transposed conv with kernel == stride as a matrix product + depth-to-space.

    Each input pixel writes an independent k x k output patch: (k*k*C_out) channels per
    pixel from one GEMM, then rearranged to space.
    """

    def __init__(self, conv: nn.ConvTranspose2d) -> None:
        super().__init__()
        if not is_patch_transposed_candidate(conv):
            raise ValueError(f"PatchTransposedConv2d needs kernel == stride and no padding/groups, got {conv}")
        k = conv.kernel_size[0]
        self.factor = k
        # ConvTranspose weight (C_in, C_out, k, k) -> rows ordered (dy, dx, c_out) for depth_to_space.
        self.weight = _frozen(conv.weight.permute(2, 3, 1, 0).reshape(k * k * conv.out_channels, conv.in_channels))
        bias = None if conv.bias is None else conv.bias.detach().repeat(k * k)
        self.bias = _frozen(bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight = self.weight.to(x.dtype)
        bias = None if self.bias is None else self.bias.to(x.dtype)
        if is_channels_last(x):
            patches = F.linear(x.permute(0, 2, 3, 1), weight, bias).permute(0, 3, 1, 2)
        else:
            batch, channels, height, width = x.shape
            patches = torch.matmul(weight, x.reshape(batch, channels, height * width))
            if bias is not None:
                patches.add_(bias[:, None])
            patches = patches.view(batch, -1, height, width)
        return depth_to_space(patches, self.factor)

    def extra_repr(self) -> str:
        return f"{self.weight.shape[1]}, {self.weight.shape[0] // self.factor**2}, factor={self.factor}"
