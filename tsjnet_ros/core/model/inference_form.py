"""The inference form of a network for the CPU: the one place where speed-ups are applied.

:func:`inference_copy` returns an eval-mode, gradient-free copy in which

* every block with a ``fuse()`` method is replaced by what it returns (timm's
  ``reparameterize_model`` convention): ``ConvNormAct`` folds its batch norm into
  the conv (``torch.nn.utils.fusion``);
* 3x3 stride-1 convs with enough channels run through NNPACK's Winograd kernel
  (:class:`~tsjnet_ros.core.model.winograd_conv.WinogradConv2d`) and 1x1 convs as one
  matrix product (:class:`~tsjnet_ros.core.model.pointwise_conv.PointwiseConv2d`) and
  stride-1 max-pools as a row max then a column max
  (:class:`~tsjnet_ros.core.model.separable_max_pool.SeparableMaxPool2d`) and kernel ==
  stride transposed convs as a 1x1 conv and a pixel shuffle
  (:class:`~tsjnet_ros.core.model.subpixel_conv.SubPixelConvTranspose2d`) when the copy
  runs channels-first;
* on channels-first copies, identity-shortcut ResNeSt bottlenecks right after another
  bottleneck write their output into their input's memory (the previous block's output,
  which a forward hook must not keep); with ``band_bytes``, a
  full-resolution ResNeSt stage and the 3x3 convs after it (the encoder's neck, the conv
  image head) run in row bands
  (:class:`~tsjnet_ros.core.model.blocks.resnest_banded.BandedResNeStStage`), so no
  512-channel map is ever held whole;
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

from tsjnet_ros.core.model.blocks.image_heads import ConvImageHead
from tsjnet_ros.core.model.blocks.resnest_banded import BandedResNeStStage, can_band
from tsjnet_ros.core.model.blocks.resnest_fused import FusedResNeStBottleneck
from tsjnet_ros.core.model.decoder import SpatialAttentionDecoder
from tsjnet_ros.core.model.encoder import SharedEncoder
from tsjnet_ros.core.model.pointwise_conv import PointwiseConv2d, is_pointwise_candidate
from tsjnet_ros.core.model.separable_max_pool import (
    SeparableMaxPool2d,
    is_separable_max_pool_candidate,
)
from tsjnet_ros.core.model.subpixel_conv import SubPixelConvTranspose2d, is_subpixel_candidate
from tsjnet_ros.core.model.winograd_conv import (
    STRIPE_BYTES,
    WinogradConv2d,
    is_winograd_candidate,
    nnpack_available,
)

__all__ = ['inference_copy']


def _replace_convs(
    model: nn.Module, winograd: bool, min_winograd_channels: int, stripe_bytes: int
) -> int:
    """Swap convs and pools for their channels-first CPU forms; return how many were swapped.

    Eligible 3x3 convs become :class:`WinogradConv2d` (when ``winograd``), plain 1x1 convs
    :class:`PointwiseConv2d`, stride-1 max-pools :class:`SeparableMaxPool2d`, kernel ==
    stride transposed convs :class:`SubPixelConvTranspose2d`.
    """
    replaced = 0
    for module in list(model.modules()):
        for name, child in list(module.named_children()):
            if winograd and is_winograd_candidate(child, min_winograd_channels):
                setattr(module, name, WinogradConv2d(child, stripe_bytes=stripe_bytes))
            elif is_pointwise_candidate(child):
                setattr(module, name, PointwiseConv2d(child))
            elif is_separable_max_pool_candidate(child):
                setattr(module, name, SeparableMaxPool2d(child))
            elif is_subpixel_candidate(child):
                setattr(module, name, SubPixelConvTranspose2d(child))
            else:
                continue
            replaced += 1
    return replaced


def _chain_in_place(model: nn.Module) -> int:
    """Let identity-shortcut bottlenecks right after another bottleneck overwrite their input.

    Inside an ``nn.Sequential`` such a block's input is the previous bottleneck's fresh
    output, which nothing else reads (unless a forward hook keeps it). Returns how many
    blocks were set.
    """
    chained = 0
    for module in model.modules():
        if isinstance(module, nn.Sequential):
            children = list(module)
            for previous, block in zip(children, children[1:]):
                if (
                    type(previous) is FusedResNeStBottleneck
                    and type(block) is FusedResNeStBottleneck
                    and block.weight_shortcut is None
                ):
                    block.overwrite_input = True
                    chained += 1
    return chained


def _band_stages(model: nn.Module, band_bytes: int) -> int:
    """Run ResNeSt stages and the row-local layers after them in row bands; return how many.

    Two places qualify: an encoder's body and neck, and a decoder body's last stage with a
    conv image head's body.
    """
    banded = 0
    for module in list(model.modules()):
        if isinstance(module, SharedEncoder) and isinstance(module.body, nn.Sequential):
            if can_band(list(module.body), module.neck):
                module.body = BandedResNeStStage(list(module.body), module.neck, band_bytes)
                module.neck = nn.Identity()
                banded += 1
        elif (
            isinstance(module, SpatialAttentionDecoder)
            and isinstance(module.head, ConvImageHead)
            and isinstance(module.body, nn.Sequential)
            and len(module.body) > 0
            and isinstance(module.body[-1], nn.Sequential)
            and can_band(list(module.body[-1]), module.head.body)
        ):
            module.body[-1] = BandedResNeStStage(
                list(module.body[-1]), module.head.body, band_bytes
            )
            module.head.body = nn.Identity()
            banded += 1
    return banded


def band_bytes_from_mb(band_mb: int) -> int | None:
    """Convert the node's ``cpu_band_mb`` (MiB; 0 = whole maps) to ``band_bytes`` or None."""
    return band_mb * 2**20 if band_mb else None


def inference_copy(
    model: nn.Module,
    channels_last: bool | None = None,
    winograd: bool | None = None,
    min_winograd_channels: int = 32,
    band_bytes: int | None = None,
) -> nn.Module:
    """Return the CPU inference form of ``model`` (see the module docstring).

    ``channels_last``: None follows ``model.prefers_channels_last`` (default False).
    ``winograd``: None uses NNPACK when this build has it and the layout is channels-first;
    True requires it (RuntimeError without NNPACK); False keeps every 3x3 conv on oneDNN.
    ``band_bytes`` (bytes): size of one band of a banded stage's widest map, without its
    halo rows; it also caps NNPACK's stripes. None runs stages whole. Channels-last copies
    ignore it.
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
        # banded copies bound NNPACK's stripes (and so its kept workspace) by the band size
        stripe_bytes = STRIPE_BYTES if band_bytes is None else min(STRIPE_BYTES, band_bytes)
        _replace_convs(fast, winograd, min_winograd_channels, stripe_bytes)
        _chain_in_place(fast)
        if band_bytes is not None:
            _band_stages(fast, band_bytes)
    for param in fast.parameters():
        param.requires_grad_(False)
    if channels_last:
        # Convs with channels-last weights return channels-last maps, so the layout
        # propagates from the first conv on; 1-channel inputs need no conversion.
        fast = fast.to(memory_format=torch.channels_last)
    return fast.eval()
