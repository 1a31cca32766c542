"""Inference-only rewrite of a fusion network: same outputs, less time and memory on CPU.

``optimize_for_inference`` returns an eval-mode copy in which

* every batch norm that follows a conv is folded into that conv's weights and bias;
* dense or grouped 3x3 stride-1 convs with enough channels run as Winograd convolutions
  through NNPACK (F(6x6, 3x3): about a third of the multiplications of a direct conv; on
  AVX2 CPUs without bf16 units this is the largest single gain for the full-resolution
  convs of ``tsjnet``); other convs keep oneDNN;
* 1x1 convs become one matrix product each (PyTorch otherwise sends small-batch 1x1
  convs on one thread to its slow reference path);
* the memory layout follows the network's ``prefers_channels_last`` flag: channels-last
  suits small-channel networks (fast pooling, depthwise convs, GEMMs on (B, H, W, C)
  views), channels-first suits NNPACK.

The original model is not modified. Numerical differences are at float32 rounding level
(Winograd transforms add a few ULPs), far inside bf16 tolerance.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn


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


class PointwiseConv2d(nn.Module):
    """A 1x1, stride-1, ungrouped conv as one matrix product, for either memory layout.

    Channels-last input: ``F.linear`` on the free (B, H, W, C) view, result channels-last.
    Channels-first input: a batched ``W @ x`` on the (B, C, H*W) view.
    """

    def __init__(self, conv: nn.Conv2d) -> None:
        super().__init__()
        if not is_pointwise_candidate(conv):
            raise ValueError(f"PointwiseConv2d needs a 1x1, stride 1, ungrouped, unpadded conv, got {conv}")
        self.weight = nn.Parameter(conv.weight.detach().flatten(1).clone(), requires_grad=False)
        self.bias = None if conv.bias is None else nn.Parameter(conv.bias.detach().clone(), requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight = self.weight.to(x.dtype)
        bias = None if self.bias is None else self.bias.to(x.dtype)
        if x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous():
            return F.linear(x.permute(0, 2, 3, 1), weight, bias).permute(0, 3, 1, 2)
        batch, channels, height, width = x.shape
        out = torch.matmul(weight, x.reshape(batch, channels, height * width))
        if bias is not None:
            out = out + bias[:, None]
        return out.view(batch, -1, height, width)

    def extra_repr(self) -> str:
        return f"{self.weight.shape[1]}, {self.weight.shape[0]}, bias={self.bias is not None}"


def is_pointwise_candidate(conv: nn.Module) -> bool:
    return (type(conv) is nn.Conv2d and conv.kernel_size == (1, 1) and conv.stride == (1, 1)
            and conv.groups == 1 and conv.padding == (0, 0) and conv.dilation == (1, 1))


class WinogradConv2d(nn.Module):
    """A 3x3 stride-1 conv evaluated by NNPACK's Winograd kernel, group by group.

    Falls back to ``F.conv2d`` whenever NNPACK does not apply (autograd, non-float32,
    non-CPU tensors) or does not pay (maps under ``min_pixels``, where its thread pool
    and transforms cost more than they save), so the module is always correct.
    """

    def __init__(self, conv: nn.Conv2d, min_pixels: int = 64 * 64) -> None:
        super().__init__()
        if not is_winograd_candidate(conv, min_channels=1):
            raise ValueError(f"WinogradConv2d needs a 3x3, stride 1, dilation 1, zero-padded conv, got {conv}")
        self.groups = conv.groups
        self.min_pixels = int(min_pixels)
        self.padding = [int(p) for p in conv.padding]
        weight = conv.weight.detach()
        bias = conv.bias.detach() if conv.bias is not None else torch.zeros(conv.out_channels, dtype=weight.dtype)
        self.weight = nn.Parameter(weight.contiguous(), requires_grad=False)
        self.bias = nn.Parameter(bias.contiguous(), requires_grad=False)

    def _use_nnpack(self, x: torch.Tensor) -> bool:
        return (x.device.type == "cpu" and x.dtype == torch.float32 and self.weight.dtype == torch.float32
                and x.shape[-2] * x.shape[-1] >= self.min_pixels
                and not (torch.is_grad_enabled() and (x.requires_grad or self.weight.requires_grad)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self._use_nnpack(x):
            return F.conv2d(x, self.weight.to(x.dtype), self.bias.to(x.dtype), 1, self.padding, 1, self.groups)
        x = x.contiguous()
        weight = self.weight.contiguous()  # no-op unless the model was made channels-last
        if self.groups == 1:
            return _nnpack_conv(x, weight, self.bias, self.padding)
        parts = zip(x.chunk(self.groups, dim=1), weight.chunk(self.groups, dim=0), self.bias.chunk(self.groups))
        return torch.cat([_nnpack_conv(xi.contiguous(), w, b, self.padding) for xi, w, b in parts], dim=1)

    def extra_repr(self) -> str:
        out_chs, in_per_group = self.weight.shape[:2]
        return f"{in_per_group * self.groups}, {out_chs}, groups={self.groups}, padding={tuple(self.padding)}"


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


def fold_conv_batch_norm(conv: nn.Conv2d, norm: nn.BatchNorm2d) -> nn.Conv2d:
    """A conv computing ``norm(conv(x))`` with the norm's running statistics."""
    scale = norm.weight.detach() / torch.sqrt(norm.running_var + norm.eps) if norm.affine else \
        1.0 / torch.sqrt(norm.running_var + norm.eps)
    shift = norm.bias.detach() if norm.affine else torch.zeros_like(scale)
    fused = copy.deepcopy(conv)
    fused.weight = nn.Parameter(conv.weight.detach() * scale.view(-1, 1, 1, 1), requires_grad=False)
    bias = conv.bias.detach() if conv.bias is not None else torch.zeros_like(norm.running_mean)
    fused.bias = nn.Parameter((bias - norm.running_mean) * scale + shift, requires_grad=False)
    return fused


def fold_batch_norms(model: nn.Module) -> int:
    """Fold every BatchNorm2d that directly follows a Conv2d in a Sequential; returns the count."""
    folded = 0
    for module in model.modules():
        if not isinstance(module, nn.Sequential):
            continue
        names = list(module._modules)
        for first, second in zip(names, names[1:]):
            conv, norm = module._modules[first], module._modules[second]
            if type(conv) is nn.Conv2d and isinstance(norm, nn.BatchNorm2d) and norm.track_running_stats:
                module._modules[first] = fold_conv_batch_norm(conv, norm)
                module._modules[second] = nn.Identity()
                folded += 1
    return folded


def use_winograd_convs(model: nn.Module, min_channels: int = 32) -> int:
    """Replace qualifying convs by :class:`WinogradConv2d` in place; returns the count."""
    replaced = 0
    for module in model.modules():
        for name, child in list(module._modules.items()):
            if child is not None and is_winograd_candidate(child, min_channels):
                module._modules[name] = WinogradConv2d(child)
                replaced += 1
    return replaced


def use_pointwise_matmuls(model: nn.Module) -> int:
    """Replace 1x1 convs by :class:`PointwiseConv2d` in place; returns the count."""
    replaced = 0
    for module in model.modules():
        for name, child in list(module._modules.items()):
            if child is not None and is_pointwise_candidate(child):
                module._modules[name] = PointwiseConv2d(child)
                replaced += 1
    return replaced


def optimize_for_inference(
    model: nn.Module, winograd: bool | str = "auto", min_winograd_channels: int = 32,
    channels_last: bool | str = "auto",
) -> nn.Module:
    """An eval-mode, gradient-free, faster copy of ``model`` (see the module docstring).

    ``channels_last``: ``"auto"`` follows ``model.prefers_channels_last`` (default False).
    ``winograd``: ``"auto"`` uses NNPACK when this build has it and the layout is
    channels-first, ``True`` requires it, ``False`` keeps all convs on oneDNN.
    """
    if winograd not in ("auto", True, False):
        raise ValueError(f"winograd must be 'auto', True or False, got {winograd!r}")
    if channels_last not in ("auto", True, False):
        raise ValueError(f"channels_last must be 'auto', True or False, got {channels_last!r}")
    if winograd is True and not nnpack_available():
        raise RuntimeError("winograd=True needs NNPACK, which this PyTorch build does not provide")
    if channels_last == "auto":
        channels_last = bool(getattr(model, "prefers_channels_last", False))
    fast = copy.deepcopy(model).eval()
    for param in fast.parameters():
        param.requires_grad_(False)
    fold_batch_norms(fast)
    use_pointwise_matmuls(fast)
    if winograd is True or (winograd == "auto" and not channels_last and nnpack_available()):
        use_winograd_convs(fast, min_winograd_channels)
    if channels_last:
        # Convs with channels-last weights return channels-last maps, so the layout
        # propagates from the first conv on; 1-channel inputs need no conversion.
        fast = fast.to(memory_format=torch.channels_last)
    return fast
