"""Detail Saliency Module (DSM): TSJNet's detail-feature branch and detail fusion layer.

Three paths are summed:

* a local conv path (conv-norm-act, residual 1x1 "COA" refinement, conv-norm-act,
  dropout, 1x1) as in the authors' code;
* a pooled path: max+average pooling to half size, a 3x3 conv, squeeze-excitation channel
  attention and a transposed conv back to full size (wider context for small targets);
* a saliency-weighted path (the paper's intent, off in the authors' code): the input
  features scaled by a parameter-free corner/edge saliency map, so salient local detail
  passes straight through.

The conv + pooled sum is recalibrated by grouped spatial attention before the saliency
path is added.

The authors' released code differs in two places, each an option here: its pooled path
convolves first (3x3 conv, LeakyReLU 0.2, then max+average pooling: ``conv_before_pool``
with ``pool_act_layer="leaky_relu_0.2"``), and its output is the plain local + pooled sum
(it builds the spatial attention and has a Harris map, but calls neither:
``spatial_attention=False``, ``saliency="none"``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from tsjnet_ros.core.model.blocks.conv_norm_act import ConvNormAct
from tsjnet_ros.core.model.blocks.layer_choice import LayerSpec, act_factory
from tsjnet_ros.core.model.blocks.saliency import FeatureSaliency
from tsjnet_ros.core.model.blocks.spatial_attention import GroupedSpatialAttention


def _conv3x3(channels: int, separable: bool, bias: bool, norm_layer, act_layer) -> nn.Module:
    """Dense 3x3 conv-norm-act, or depthwise 3x3 + pointwise 1x1 when ``separable``."""
    if not separable:
        return ConvNormAct(
            channels, channels, 3, bias=bias, norm_layer=norm_layer, act_layer=act_layer
        )
    return nn.Sequential(
        nn.Conv2d(channels, channels, 3, 1, 1, groups=channels, bias=False),
        ConvNormAct(channels, channels, 1, bias=bias, norm_layer=norm_layer, act_layer=act_layer),
    )


class SqueezeExcitation(nn.Module):
    """Channel attention: global average -> bottleneck MLP (no biases) -> sigmoid gate."""

    def __init__(self, channels: int, reduction: int = 2, act_layer: LayerSpec = 'relu') -> None:
        super().__init__()
        hidden = max(channels // reduction, 1)
        self.fc1 = nn.Linear(channels, hidden, bias=False)
        self.act = act_factory(act_layer)()
        self.fc2 = nn.Linear(hidden, channels, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate = torch.sigmoid(self.fc2(self.act(self.fc1(x.mean(dim=(2, 3))))))
        return x * gate[:, :, None, None]


class DetailSaliencyModule(nn.Module):
    """(B, C, H, W) -> (B, C, H, W) detail features; H and W must be even.

    ``conv_before_pool``: the pooled path runs conv -> ``pool_act_layer`` -> pooling
    instead of pooling -> conv (-> ``pool_act_layer``). ``spatial_attention=False`` adds the
    two paths without the grouped spatial attention (and builds none).
    """

    def __init__(
        self,
        channels: int,
        attention_groups: int = 8,
        se_reduction: int = 2,
        dropout: float = 0.0,
        saliency: str = 'harris',
        separable: bool = False,
        norm_layer: LayerSpec = 'batchnorm2d',
        act_layer: LayerSpec = 'relu',
        *,
        conv_before_pool: bool = False,
        pool_act_layer: LayerSpec | None = None,
        spatial_attention: bool = True,
    ) -> None:
        super().__init__()
        self.conv_in = _conv3x3(channels, separable, False, norm_layer, act_layer)
        self.coa = ConvNormAct(
            channels, channels, 1, bias=True, norm_layer=None, act_layer=act_layer
        )
        self.conv_mid = _conv3x3(channels, separable, False, norm_layer, act_layer)
        self.dropout = nn.Dropout(dropout)
        self.conv_out = nn.Conv2d(channels, channels, 1)
        self.pool_conv = _conv3x3(channels, separable, True, None, pool_act_layer)
        self.conv_before_pool = bool(conv_before_pool)
        self.channel_attention = SqueezeExcitation(channels, se_reduction, act_layer)
        self.pool_up = nn.ConvTranspose2d(channels, channels, 2, 2)
        self.spatial_attention = (
            GroupedSpatialAttention(channels, attention_groups) if spatial_attention else None
        )
        self.saliency = FeatureSaliency(saliency)

    def local_path(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv_in(x)
        y = y + self.coa(y)
        return self.conv_out(self.dropout(self.conv_mid(y)))

    def pooled_path(self, x: torch.Tensor) -> torch.Tensor:
        if self.conv_before_pool:
            y = self.pool_conv(x)
            pooled = F.max_pool2d(y, 2) + F.avg_pool2d(y, 2)
        else:
            pooled = self.pool_conv(F.max_pool2d(x, 2) + F.avg_pool2d(x, 2))
        return self.pool_up(self.channel_attention(pooled))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[-2] % 2 or x.shape[-1] % 2:
            raise ValueError(f'DSM needs (B, C, H, W) with even H and W, got {tuple(x.shape)}')
        out = self.local_path(x).add_(self.pooled_path(x))
        if self.spatial_attention is not None:
            out, _ = self.spatial_attention(out, inplace=not torch.is_grad_enabled())
        if self.saliency.kind != 'none':
            out = out + self.saliency(x) * x
        return out
