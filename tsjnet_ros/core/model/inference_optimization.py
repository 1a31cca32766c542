"""Inference-only rewrite of a fusion network: same outputs, less time and memory on CPU.

``optimize_for_inference`` returns an eval-mode copy in which

* every batch norm that follows a conv is folded into that conv's weights and bias;
* 1x1 convs and kernel==stride transposed convs become matrix products, and 3x3 stride-1
  convs with enough channels run as NNPACK Winograd convolutions (see
  :mod:`~tsjnet_ros.core.model.fast_convs`); on AVX2 CPUs without bf16 units the Winograd
  convs are the largest single gain for the full-resolution convs of ``tsjnet``;
* ResNeSt radix convs hand their groups over as separate maps (no concatenation), and
  bottlenecks accumulate their expanding 1x1 convs into one buffer
  (:mod:`~tsjnet_ros.core.model.fast_bottleneck`);
* the memory layout follows the network's ``prefers_channels_last`` flag: channels-last
  suits small-channel networks (fast pooling, depthwise convs, GEMMs on (B, H, W, C)
  views), channels-first suits NNPACK.

The original model is not modified. Numerical differences are at float32 rounding level
(Winograd transforms add a few ULPs), far inside bf16 tolerance.
"""

from __future__ import annotations

import copy
from typing import Callable

import torch
from torch import nn

from tsjnet_ros.core.model.blocks.resnest import SplitAttention2d
from tsjnet_ros.core.model.fast_bottleneck import FusedBottleneck, can_fuse_bottleneck
from tsjnet_ros.core.model.fast_convs import (
    PatchTransposedConv2d,
    PointwiseConv2d,
    RadixWinogradConvAct,
    WinogradConv2d,
    is_patch_transposed_candidate,
    is_pointwise_candidate,
    is_winograd_candidate,
    nnpack_available,
)

__all__ = ["fold_batch_norms", "fold_conv_batch_norm", "nnpack_available", "optimize_for_inference"]


def fold_conv_batch_norm(conv: nn.Conv2d, norm: nn.BatchNorm2d) -> nn.Conv2d:
    """A conv computing ``norm(conv(x))`` with the norm's running statistics."""
    inv_std = torch.rsqrt(norm.running_var + norm.eps)
    scale = norm.weight.detach() * inv_std if norm.affine else inv_std
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


def _replace(model: nn.Module, wanted: Callable[[nn.Module], bool], build: Callable[[nn.Module], nn.Module]) -> int:
    replaced = 0
    for module in list(model.modules()):
        for name, child in list(module._modules.items()):
            if child is not None and wanted(child):
                module._modules[name] = build(child)
                replaced += 1
    return replaced


def _split_radix_convs(model: nn.Module) -> int:
    """Radix convs (Winograd conv, folded norm, act) -> per-split outputs, when groups == radix."""
    replaced = 0
    for module in model.modules():
        if not isinstance(module, SplitAttention2d) or module.cardinality != 1:
            continue
        parts = list(module.radix_conv)
        if len(parts) == 3 and isinstance(parts[0], WinogradConv2d) and isinstance(parts[1], nn.Identity):
            module.radix_conv = RadixWinogradConvAct(parts[0], parts[2])
            replaced += 1
    return replaced


def _fuse_bottlenecks(model: nn.Module) -> int:
    """Swap folded bottlenecks for FusedBottleneck. A block may consume (overwrite) its
    input only when that input is the previous block's output in the same Sequential."""
    fused = 0
    for module in list(model.modules()):
        if not isinstance(module, nn.Sequential):
            continue
        names = list(module._modules)
        for i, name in enumerate(names):
            block = module._modules[name]
            if can_fuse_bottleneck(block):
                module._modules[name] = FusedBottleneck(block, consume_input=i > 0)
                fused += 1
    return fused


def optimize_for_inference(
    model: nn.Module, winograd: bool | str = "auto", min_winograd_channels: int = 32,
    channels_last: bool | str = "auto",
) -> nn.Module:
    """An eval-mode, gradient-free, faster copy of ``model`` (see the module docstring).

    ``channels_last``: ``"auto"`` follows ``model.prefers_channels_last`` (default False).
    ``winograd``: ``"auto"`` uses NNPACK when this build has it and the layout is
    channels-first, ``True`` requires it, ``False`` keeps all 3x3 convs on oneDNN.
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
    _replace(fast, is_pointwise_candidate, PointwiseConv2d)
    _replace(fast, is_patch_transposed_candidate, PatchTransposedConv2d)
    if winograd is True or (winograd == "auto" and not channels_last and nnpack_available()):
        _replace(fast, lambda m: is_winograd_candidate(m, min_winograd_channels), WinogradConv2d)
        _split_radix_convs(fast)
    _fuse_bottlenecks(fast)
    if channels_last:
        # Convs with channels-last weights return channels-last maps, so the layout
        # propagates from the first conv on; 1-channel inputs need no conversion.
        fast = fast.to(memory_format=torch.channels_last)
    return fast
