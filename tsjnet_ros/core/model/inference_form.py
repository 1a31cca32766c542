"""The inference form of a network for the CPU: the one place where speed-ups are applied.

:func:`inference_copy` returns an eval-mode, gradient-free copy in which

* every block with a ``fuse()`` method is replaced by what it returns (timm's
  ``reparameterize_model`` convention): ``ConvNormAct`` folds its batch norm into
  the conv (``torch.nn.utils.fusion``);
* 3x3 stride-1 convs with enough channels run through NNPACK's Winograd kernel
  (:class:`~tsjnet_ros.core.model.winograd_conv.WinogradConv2d`) and 1x1 convs as one
  matrix product (:class:`~tsjnet_ros.core.model.pointwise_conv.PointwiseConv2d`) and
  stride-1 max-pools as a row max then a column max
  (:class:`~tsjnet_ros.core.model.separable_max_pool.SeparableMaxPool2d`) when the copy
  runs channels-first;
* the memory layout follows the network's ``prefers_channels_last`` flag: channels-last
  suits narrow networks (fast pooling, depthwise and 1x1 convs), channels-first suits
  NNPACK and wide networks.

Training code never sees this form; the original model is not modified. Outputs differ
at float32 rounding level (the Winograd transforms add a few ULPs).
"""

from __future__ import annotations

import copy

import torch
from timm.utils.model import reparameterize_model
from torch import nn

from tsjnet_ros.core.model.pointwise_conv import PointwiseConv2d, is_pointwise_candidate
from tsjnet_ros.core.model.separable_max_pool import (
    SeparableMaxPool2d,
    is_separable_max_pool_candidate,
)
from tsjnet_ros.core.model.winograd_conv import (
    WinogradConv2d,
    is_winograd_candidate,
    nnpack_available,
)

__all__ = ['inference_copy']


def _replace_convs(model: nn.Module, winograd: bool, min_winograd_channels: int) -> int:
    """Swap convs and pools for their channels-first CPU forms; return how many were swapped.

    Eligible 3x3 convs become :class:`WinogradConv2d` (when ``winograd``), plain 1x1 convs
    :class:`PointwiseConv2d`, stride-1 max-pools :class:`SeparableMaxPool2d`.
    """
    replaced = 0
    for module in list(model.modules()):
        for name, child in list(module.named_children()):
            if winograd and is_winograd_candidate(child, min_winograd_channels):
                setattr(module, name, WinogradConv2d(child))
            elif is_pointwise_candidate(child):
                setattr(module, name, PointwiseConv2d(child))
            elif is_separable_max_pool_candidate(child):
                setattr(module, name, SeparableMaxPool2d(child))
            else:
                continue
            replaced += 1
    return replaced


def inference_copy(
    model: nn.Module,
    channels_last: bool | None = None,
    winograd: bool | None = None,
    min_winograd_channels: int = 32,
) -> nn.Module:
    """Return the CPU inference form of ``model`` (see the module docstring).

    ``channels_last``: None follows ``model.prefers_channels_last`` (default False).
    ``winograd``: None uses NNPACK when this build has it and the layout is channels-first;
    True requires it (RuntimeError without NNPACK); False keeps every 3x3 conv on oneDNN.
    """
    if channels_last is None:
        channels_last = bool(getattr(model, 'prefers_channels_last', False))
    if winograd and not nnpack_available():
        raise RuntimeError('winograd=True needs NNPACK, which this PyTorch build does not provide')
    if winograd is None:
        winograd = not channels_last and nnpack_available()
    fast = copy.deepcopy(model).eval()
    reparameterize_model(fast, inplace=True)
    if not channels_last:
        _replace_convs(fast, winograd, min_winograd_channels)
    for param in fast.parameters():
        param.requires_grad_(False)
    if channels_last:
        # Convs with channels-last weights return channels-last maps, so the layout
        # propagates from the first conv on; 1-channel inputs need no conversion.
        fast = fast.to(memory_format=torch.channels_last)
    return fast.eval()
