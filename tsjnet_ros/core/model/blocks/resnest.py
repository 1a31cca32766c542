"""ResNeSt split-attention bottleneck and deep stem (Zhang et al., 2020), stride 1.

Written here rather than taken from timm because TSJNet's blocks differ from timm's
``ResNestBottleneck``: every conv carries a bias and is followed by a norm, the attention
MLP has a norm after both of its 1x1 convs, and the shortcut is a 1x1 conv + norm.
Sizes follow the authors' checkpoint (radix 2, cardinality 1, reduction 4, expansion 4,
attention width at least 32). Two options reproduce the authors' released code where it
departs from ResNeSt: ``attn_act_last`` (an activation after the attention MLP's second
norm, before the radix softmax) and ``shortcut_pool`` (a 3x3 stride-1 max-pool before the
projection shortcut).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from tsjnet_ros.core.model.blocks.conv_norm_act import ConvNormAct
from tsjnet_ros.core.model.blocks.layer_choice import LayerSpec, act_factory


class SplitAttention2d(nn.Module):
    """Radix-split 3x3 conv whose ``radix`` branches are mixed by channel attention.

    A grouped conv produces ``radix`` feature maps; their sum is pooled globally, passed
    through a two-layer MLP and a softmax across the radix, and the maps are blended
    with these per-channel weights. ``attn_norm_layer`` (default: ``norm_layer``) is the
    norm inside that MLP; it sees one value per channel and image, so a batch norm there
    needs training batches of at least 2 (the authors train with 2), while
    ``"identity"`` (no norm, biased convs) or ``"groupnorm"`` also train with batch 1.
    ``attn_act_last`` puts ``act_layer`` after the MLP's second norm too (the authors'
    released code does; ResNeSt does not): the softmax then only sees logits >= 0.
    """

    def __init__(
        self,
        channels: int,
        radix: int = 2,
        cardinality: int = 1,
        reduction: int = 4,
        min_attn_chs: int = 32,
        norm_layer: LayerSpec = 'batchnorm2d',
        act_layer: LayerSpec = 'relu',
        attn_norm_layer: LayerSpec | None = None,
        attn_act_last: bool = False,
    ) -> None:
        super().__init__()
        if radix < 1 or cardinality < 1:
            raise ValueError(f'radix and cardinality must be >= 1, got {radix}, {cardinality}')
        if channels % cardinality:
            raise ValueError(
                f'channels ({channels}) must be divisible by cardinality ({cardinality})'
            )
        self.radix = radix
        self.cardinality = cardinality
        attn_chs = max(channels * radix // reduction, min_attn_chs)
        self.radix_conv = ConvNormAct(
            channels,
            channels * radix,
            3,
            groups=radix * cardinality,
            bias=True,
            norm_layer=norm_layer,
            act_layer=act_layer,
        )
        attn_norm = norm_layer if attn_norm_layer is None else attn_norm_layer
        # Without a norm the MLP needs its own biases (the norm's shift otherwise plays that role).
        bias = isinstance(attn_norm, str) and attn_norm.lower() == 'identity'
        self.fc1 = ConvNormAct(
            channels,
            attn_chs,
            1,
            groups=cardinality,
            bias=bias,
            norm_layer=attn_norm,
            act_layer=act_layer,
        )
        self.fc2 = ConvNormAct(
            attn_chs,
            channels * radix,
            1,
            groups=cardinality,
            bias=bias,
            norm_layer=attn_norm,
            act_layer=act_layer if attn_act_last else None,
        )

    def radix_weights(self, pooled: torch.Tensor) -> torch.Tensor:
        """(B, C, 1, 1) pooled sum -> (B, radix, C, 1, 1) weights summing to 1 over radix."""
        batch = pooled.shape[0]
        logits = self.fc2(self.fc1(pooled))
        if self.radix == 1:
            return torch.sigmoid(logits).view(batch, 1, -1, 1, 1)
        # fc2 is grouped by cardinality: channel order is (cardinality, radix, width).
        logits = logits.view(batch, self.cardinality, self.radix, -1).transpose(1, 2)
        return torch.softmax(logits, dim=1).reshape(batch, self.radix, -1, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        splits = self.radix_conv(x).chunk(self.radix, dim=1)
        pooled = splits[0].mean(dim=(2, 3), keepdim=True)
        for split in splits[1:]:
            pooled = pooled + split.mean(dim=(2, 3), keepdim=True)
        weights = self.radix_weights(pooled)
        # In place on the fresh product (autograd keeps its inputs, not it): one full-size
        # temporary less per radix split.
        out = splits[0] * weights[:, 0]
        for r in range(1, self.radix):
            out.addcmul_(splits[r], weights[:, r])
        return out


class ResNeStBottleneck(nn.Module):
    """1x1 reduce -> split-attention 3x3 -> 1x1 expand, plus a (projected) shortcut.

    ``shortcut_pool`` runs a 3x3 stride-1 max-pool before the projection (the authors'
    released code; it has no weights, so the state dict is the same either way).
    ``attn_act_last``: see :class:`SplitAttention2d`.
    """

    def __init__(
        self,
        in_chs: int,
        planes: int,
        expansion: int = 4,
        radix: int = 2,
        cardinality: int = 1,
        reduction: int = 4,
        norm_layer: LayerSpec = 'batchnorm2d',
        act_layer: LayerSpec = 'relu',
        attn_norm_layer: LayerSpec | None = None,
        *,
        shortcut_pool: bool = False,
        attn_act_last: bool = False,
    ) -> None:
        super().__init__()
        out_chs = planes * expansion
        self.out_chs = out_chs
        self.conv1 = ConvNormAct(
            in_chs, planes, 1, bias=True, norm_layer=norm_layer, act_layer=act_layer
        )
        self.conv2 = SplitAttention2d(
            planes,
            radix,
            cardinality,
            reduction,
            norm_layer=norm_layer,
            act_layer=act_layer,
            attn_norm_layer=attn_norm_layer,
            attn_act_last=attn_act_last,
        )
        self.conv3 = ConvNormAct(
            planes, out_chs, 1, bias=True, norm_layer=norm_layer, act_layer=None
        )
        if in_chs != out_chs:
            self.shortcut = ConvNormAct(
                in_chs, out_chs, 1, bias=False, norm_layer=norm_layer, act_layer=None
            )
        else:
            self.shortcut = nn.Identity()
        # Applied to the projection's input only (an identity shortcut is never pooled).
        self.shortcut_pool = nn.MaxPool2d(3, 1, 1) if shortcut_pool and in_chs != out_chs else None
        self.act = act_factory(act_layer)()

    def fuse(self) -> nn.Module:
        """Return the inference form (eval mode): norms folded, the two 1x1 convs accumulated.

        See :mod:`tsjnet_ros.core.model.blocks.resnest_fused`; falls back to the block with
        its parts fused when a norm cannot be folded away.
        """
        from timm.utils.model import reparameterize_model

        from tsjnet_ros.core.model.blocks.resnest_fused import FusedResNeStBottleneck

        block = reparameterize_model(self, inplace=False).eval()
        conv3 = block.conv3[0] if len(block.conv3) == 1 else None
        identity = isinstance(block.shortcut, nn.Identity)
        shortcut = None if identity else block.shortcut
        if shortcut is not None:
            shortcut = shortcut[0] if len(shortcut) == 1 else None
        if conv3 is None or (not identity and shortcut is None):
            return block
        return FusedResNeStBottleneck(
            block.conv1, block.conv2, conv3, shortcut, block.shortcut_pool, block.act
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv3(self.conv2(self.conv1(x)))
        # In place: conv/norm outputs are not saved for backward, and this avoids one more
        # full-size (often 512-channel) temporary.
        return self.act(
            out.add_(self.shortcut(x if self.shortcut_pool is None else self.shortcut_pool(x)))
        )


class ResNeStDeepStem(nn.Sequential):
    """Three 3x3 conv-norm-act layers (ResNeSt's 'deep stem'), optionally strided first."""

    def __init__(
        self,
        in_chs: int,
        channels: Sequence[int] = (64, 64, 128),
        stride: int = 1,
        norm_layer: LayerSpec = 'batchnorm2d',
        act_layer: LayerSpec = 'relu',
    ) -> None:
        if len(channels) == 0:
            raise ValueError('a deep stem needs at least one conv')
        layers = []
        prev = in_chs
        for i, chs in enumerate(channels):
            layers.append(
                ConvNormAct(
                    prev,
                    chs,
                    3,
                    stride if i == 0 else 1,
                    norm_layer=norm_layer,
                    act_layer=act_layer,
                )
            )
            prev = chs
        super().__init__(*layers)
        self.out_chs = prev


def resnest_stage(
    in_chs: int,
    planes: int,
    num_blocks: int,
    expansion: int = 4,
    radix: int = 2,
    cardinality: int = 1,
    reduction: int = 4,
    norm_layer: LayerSpec = 'batchnorm2d',
    act_layer: LayerSpec = 'relu',
    attn_norm_layer: LayerSpec | None = None,
    *,
    shortcut_pool: bool = False,
    attn_act_last: bool = False,
) -> nn.Sequential:
    """Build a stage of ``num_blocks`` bottlenecks.

    The first one projects ``in_chs`` to ``planes*expansion`` (``shortcut_pool``,
    ``attn_act_last``: see :class:`ResNeStBottleneck`).
    """
    if num_blocks < 1:
        raise ValueError(f'a ResNeSt stage needs at least one block, got {num_blocks}')
    blocks = []
    prev = in_chs
    for _ in range(num_blocks):
        block = ResNeStBottleneck(
            prev,
            planes,
            expansion,
            radix,
            cardinality,
            reduction,
            norm_layer,
            act_layer,
            attn_norm_layer,
            shortcut_pool=shortcut_pool,
            attn_act_last=attn_act_last,
        )
        blocks.append(block)
        prev = block.out_chs
    return nn.Sequential(*blocks)


__all__ = ['ResNeStBottleneck', 'ResNeStDeepStem', 'SplitAttention2d', 'resnest_stage']
