"""``tsjnet_rt``: TSJNet's four-part topology sized for robots without a big GPU.

Same parts as ``tsjnet`` (shared ResNeSt encoder with NAT + DSM branches, NAT base
fusion, DSM detail fusion, spatial-attention decoder), but no convolution runs at full
resolution: the image is space-to-depth'ed to 1/2 size (lossless), again to 1/4 where
narrow ResNeSt blocks and the DSM work, neighborhood attention runs at 1/16, and a light
decoder returns to full size with two pixel-shuffle steps and a 1/2-size encoder skip;
its default head blends the full-size sources per pixel instead of drawing the image.
Budget: fusion well under 3 GMAC per 480x640 pair.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from torch import nn

from tsjnet_ros.core.model.blocks.conv_norm_act import ConvNormAct
from tsjnet_ros.core.model.blocks.detail_saliency import DetailSaliencyModule
from tsjnet_ros.core.model.blocks.image_heads import PixelShuffleImageHead, SourceBlendImageHead
from tsjnet_ros.core.model.blocks.layer_choice import LayerSpec
from tsjnet_ros.core.model.blocks.nat import NATBranch
from tsjnet_ros.core.model.blocks.pyramid_blend import PyramidBlendImageHead
from tsjnet_ros.core.model.blocks.resnest import resnest_stage
from tsjnet_ros.core.model.blocks.space_depth import SpaceToDepth
from tsjnet_ros.core.model.blocks.spatial_attention import GroupedSpatialAttention
from tsjnet_ros.core.model.decoder import SpatialAttentionDecoder
from tsjnet_ros.core.model.encoder import SharedEncoder
from tsjnet_ros.core.model.fusion_net import FusionNet
from tsjnet_ros.core.model.registry import register_model
from tsjnet_ros.core.model.variants.config_checks import (
    check_common,
    check_positive_ints,
    normalise_sequences,
)

IMAGE_HEADS = ('pixel_shuffle', 'source_blend', 'pyramid_blend')
ENCODER_STRIDE = 4  # two 2x2 space-to-depth steps (1/2 stem, then 1/4 body)


@dataclass(frozen=True)
class TsjnetRtConfig:
    """Sizes of the real-time network; widths are per 1/2- and 1/4-size feature map."""

    skip_chs: int = 16  # 1/2 size stem, also the decoder skip
    encoder_chs: int = 32  # 1/4 size
    resnest_planes: int = 16
    resnest_expansion: int = 2
    resnest_blocks: int = 1
    radix: int = 2
    cardinality: int = 1
    attn_reduction: int = 4
    feature_chs: int = 32
    nat_tokenizer_strides: tuple[int, ...] = (2, 2)  # NA on 1/16-size tokens
    nat_embed_dim: int = 48
    nat_depths: tuple[int, ...] = (2,)
    nat_heads: tuple[int, ...] = (2,)
    nat_kernel_size: int = 7
    nat_mlp_ratio: float = 2.0
    nat_head_chs: tuple[int, ...] = (32,)
    nat_rel_pos_bias: bool = False
    drop_path_rate: float = 0.1
    dsm_attention_groups: int = 4
    dsm_se_reduction: int = 2
    dsm_dropout: float = 0.0
    dsm_saliency: str = 'gradient'
    dsm_separable: bool = True
    decoder_attention_groups: int = 8
    decoder_chs: int = 32
    decoder_planes: int = 16
    decoder_blocks: int = 1
    decoder_refine: bool = False  # extra 3x3 conv at 1/2 size in the image head
    # "pixel_shuffle" draws the image; "source_blend" blends the full-size sources per pixel
    # (weight map + bounded correction), so full-size texture survives the 1/4-size body.
    image_head: str = 'source_blend'
    blend_max_correction: float = 0.5
    # "pyramid_blend" blends the sources' Laplacian pyramids under the network's weight maps
    # (no texture drawn, so the network may run on a downscaled pair: ``work_scale`` < 1).
    pyramid_levels: int = 4
    work_scale: float = 1.0
    norm_layer: LayerSpec = 'batchnorm2d'
    act_layer: LayerSpec = 'relu'
    attn_norm_layer: LayerSpec = 'identity'  # trains with batch 1 too
    na_backend: str = 'auto'
    joint_encoding: bool = True
    pad_mode: str = 'reflect'

    def __post_init__(self) -> None:
        normalise_sequences(self)
        if any(s not in (1, 2) for s in self.nat_tokenizer_strides):
            raise ValueError(
                f'nat_tokenizer_strides must be 1 or 2 each, got {self.nat_tokenizer_strides}'
            )
        check_positive_ints(
            self,
            'skip_chs',
            'encoder_chs',
            'resnest_planes',
            'resnest_expansion',
            'resnest_blocks',
            'radix',
            'cardinality',
            'attn_reduction',
            'feature_chs',
            'nat_tokenizer_strides',
            'nat_embed_dim',
            'nat_depths',
            'nat_heads',
            'nat_kernel_size',
            'nat_head_chs',
            'dsm_attention_groups',
            'dsm_se_reduction',
            'decoder_attention_groups',
            'decoder_chs',
            'decoder_planes',
            'decoder_blocks',
        )
        if self.image_head not in IMAGE_HEADS:
            raise ValueError(
                f'image_head must be one of {sorted(IMAGE_HEADS)}, got {self.image_head!r}'
            )
        if not 0.0 < self.work_scale <= 1.0:
            raise ValueError(f'work_scale must be in (0, 1], got {self.work_scale}')
        if self.work_scale != 1.0 and self.image_head != 'pyramid_blend':
            raise ValueError(
                "work_scale < 1 needs image_head 'pyramid_blend' "
                '(the other heads draw at network size)'
            )
        if self.pyramid_levels < 1:
            raise ValueError(f'pyramid_levels must be >= 1, got {self.pyramid_levels}')
        check_common(self)

    @property
    def nat_stride(self) -> int:
        """Downsampling inside NAT-mini relative to the 1/4-size features."""
        return math.prod(self.nat_tokenizer_strides) * 2 ** (len(self.nat_depths) - 1)

    @property
    def pad_multiple(self) -> int:
        return ENCODER_STRIDE * self.nat_stride


def _upsample_strides(total: int) -> tuple[int, ...]:
    """Factor ``total`` (a power of two) into x2 transposed-conv steps."""
    return (2,) * round(math.log2(total))


def _nat_branch(cfg: TsjnetRtConfig) -> NATBranch:
    return NATBranch(
        cfg.feature_chs,
        embed_dim=cfg.nat_embed_dim,
        depths=cfg.nat_depths,
        num_heads=cfg.nat_heads,
        kernel_size=cfg.nat_kernel_size,
        mlp_ratio=cfg.nat_mlp_ratio,
        drop_path_rate=cfg.drop_path_rate,
        tokenizer_strides=cfg.nat_tokenizer_strides,
        head_chs=cfg.nat_head_chs,
        upsample_strides=_upsample_strides(cfg.nat_stride),
        rel_pos_bias=cfg.nat_rel_pos_bias,
        act_layer=cfg.act_layer,
        na_backend=cfg.na_backend,
    )


def _dsm(cfg: TsjnetRtConfig) -> DetailSaliencyModule:
    return DetailSaliencyModule(
        cfg.feature_chs,
        cfg.dsm_attention_groups,
        cfg.dsm_se_reduction,
        cfg.dsm_dropout,
        cfg.dsm_saliency,
        separable=cfg.dsm_separable,
        norm_layer=cfg.norm_layer,
        act_layer=cfg.act_layer,
    )


def _image_head(cfg: TsjnetRtConfig) -> nn.Module:
    in_chs = cfg.decoder_planes * cfg.resnest_expansion
    if cfg.image_head == 'pyramid_blend':
        return PyramidBlendImageHead(in_chs, cfg.pyramid_levels)
    if cfg.image_head == 'source_blend':
        return SourceBlendImageHead(
            in_chs,
            cfg.skip_chs,
            cfg.act_layer,
            cfg.norm_layer,
            refine=cfg.decoder_refine,
            max_correction=cfg.blend_max_correction,
        )
    return PixelShuffleImageHead(
        in_chs, cfg.skip_chs, cfg.act_layer, cfg.norm_layer, refine=cfg.decoder_refine
    )


@register_model('tsjnet_rt')
def tsjnet_rt(config: TsjnetRtConfig) -> FusionNet:
    """Build the real-time TSJNet fusion network."""
    cfg = config
    norm, act = cfg.norm_layer, cfg.act_layer
    stem = nn.Sequential(
        SpaceToDepth(2), ConvNormAct(4, cfg.skip_chs, 3, norm_layer=norm, act_layer=act)
    )
    body = nn.Sequential(
        SpaceToDepth(2),  # 2x2 space-to-depth + 1x1 conv = a 2x2 stride-2 conv (4 taps, not 9)
        ConvNormAct(4 * cfg.skip_chs, cfg.encoder_chs, 1, norm_layer=norm, act_layer=act),
        resnest_stage(
            cfg.encoder_chs,
            cfg.resnest_planes,
            cfg.resnest_blocks,
            cfg.resnest_expansion,
            cfg.radix,
            cfg.cardinality,
            cfg.attn_reduction,
            norm,
            act,
            cfg.attn_norm_layer,
        ),
    )
    neck = ConvNormAct(
        cfg.resnest_planes * cfg.resnest_expansion,
        cfg.feature_chs,
        1,
        norm_layer=norm,
        act_layer=act,
    )
    encoder = SharedEncoder(stem, body, neck, _nat_branch(cfg), _dsm(cfg), keep_skip=True)
    decoder = SpatialAttentionDecoder(
        GroupedSpatialAttention(2 * cfg.feature_chs, cfg.decoder_attention_groups),
        ConvNormAct(2 * cfg.feature_chs, cfg.decoder_chs, 1, norm_layer=norm, act_layer=act),
        resnest_stage(
            cfg.decoder_chs,
            cfg.decoder_planes,
            cfg.decoder_blocks,
            cfg.resnest_expansion,
            cfg.radix,
            cfg.cardinality,
            cfg.attn_reduction,
            norm,
            act,
            cfg.attn_norm_layer,
        ),
        _image_head(cfg),
    )
    return FusionNet(
        encoder,
        _nat_branch(cfg),
        _dsm(cfg),
        decoder,
        pad_multiple=cfg.pad_multiple,
        joint_encoding=cfg.joint_encoding,
        pad_mode=cfg.pad_mode,
        prefers_channels_last=True,
        work_scale=cfg.work_scale,
    )
