"""``tsjnet``: the paper's network at the authors' sizes (about 45.1 M parameters).

Layer sizes follow the authors' published checkpoint layout: a 1->3 conv, ResNeSt deep
stem (64, 64, 128) and two split-attention bottlenecks (512 channels) at full resolution,
three 3x3 convs 512->256->128->64 (ReLU6); a NAT-mini base branch (embed 64, depths
3/4/6/5, heads 2/4/8/16, kernel 7, MLP ratio 3, drop-path 0.2) and a DSM detail branch;
the same NAT-mini and DSM as fusion layers; and a decoder with 8-group spatial attention,
1x1 128->32, deep stem, two bottlenecks and a 512->256->1 conv head. Everything runs at
full resolution except inside NAT-mini, so inputs are padded to a multiple of 32.

``tsjnet`` follows the paper's design; the authors' released code computes a different
function in seven places, each a config option here (``tsjnet_official`` turns all seven
to the released behaviour, so the authors' weights compute the authors' function):

1. ResNeSt projection shortcut: released code max-pools (3x3, stride 1) before the 1x1
   conv (``resnest_shortcut_pool``); ResNeSt and the paper project directly.
2. Split-attention MLP: released code has a ReLU after the second norm, before the radix
   softmax (``attn_act_last``), which makes every logit >= 0; ResNeSt has none.
3. NAT branch outer LayerNorm eps: 1e-5 released, timm's 1e-6 here (``nat_norm_eps``).
4. NAT-mini head activations: ReLU6 released, ReLU here (``nat_act_layer``).
5. NAT-mini tail: released code builds a LayerNorm and two 1x1 convs but never calls
   them and ends in a ReLU6 after the transposed convs (``nat_head_norm_proj``,
   ``nat_out_act_layer``); here the norm and projections run, so the branch can return
   signed features to its residual sum.
6. DSM pooled path: released code convolves with LeakyReLU(0.2) before max+avg pooling
   (``dsm_conv_before_pool``, ``dsm_pool_act_layer``); here pooling comes first, so the
   conv runs at a quarter of the pixels.
7. DSM output: released code returns local + pooled and never calls its spatial
   attention or Harris map (``dsm_spatial_attention``, ``dsm_saliency``); here both run,
   as the paper describes the DSM.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from tsjnet_ros.core.model.blocks.conv_norm_act import ConvNormAct
from tsjnet_ros.core.model.blocks.detail_saliency import DetailSaliencyModule
from tsjnet_ros.core.model.blocks.image_heads import ConvImageHead
from tsjnet_ros.core.model.blocks.layer_choice import LayerSpec, activation_names
from tsjnet_ros.core.model.blocks.nat import NATBranch
from tsjnet_ros.core.model.blocks.resnest import ResNeStDeepStem, resnest_stage
from tsjnet_ros.core.model.blocks.spatial_attention import GroupedSpatialAttention
from tsjnet_ros.core.model.decoder import SpatialAttentionDecoder
from tsjnet_ros.core.model.encoder import SharedEncoder
from tsjnet_ros.core.model.fusion_net import FusionNet
from tsjnet_ros.core.model.registry import register_model
from tsjnet_ros.core.model.variants.config_checks import (
    check_common,
    check_layer,
    check_positive_ints,
    normalise_sequences,
)


@dataclass(frozen=True)
class TsjnetConfig:
    """Sizes of the faithful network; the defaults are the authors'."""

    patch_chs: int = 3
    stem_chs: tuple[int, ...] = (64, 64, 128)
    resnest_planes: int = 128
    resnest_blocks: int = 2
    resnest_expansion: int = 4
    radix: int = 2
    cardinality: int = 1
    attn_reduction: int = 4
    neck_chs: tuple[int, ...] = (256, 128, 64)  # last entry = width of base/detail features
    nat_embed_dim: int = 64
    nat_depths: tuple[int, ...] = (3, 4, 6, 5)
    nat_heads: tuple[int, ...] = (2, 4, 8, 16)
    nat_kernel_size: int = 7
    nat_mlp_ratio: float = 3.0
    nat_head_chs: tuple[int, ...] = (128, 64)
    nat_upsample_strides: tuple[int, ...] = (4, 4, 2)
    nat_rel_pos_bias: bool = True  # the published checkpoint was trained with NAT's rpb
    drop_path_rate: float = 0.2
    dsm_attention_groups: int = 8
    dsm_se_reduction: int = 2
    dsm_dropout: float = 0.0
    dsm_saliency: str = 'harris'
    decoder_attention_groups: int = 8
    decoder_reduce_chs: int = 32
    decoder_stem_chs: tuple[int, ...] = (64, 64, 128)
    decoder_planes: int = 128
    decoder_blocks: int = 2
    decoder_head_chs: int = 256
    norm_layer: LayerSpec = 'batchnorm2d'
    act_layer: LayerSpec = 'relu'
    attn_norm_layer: LayerSpec = 'batchnorm2d'  # authors'; training needs batch >= 2
    neck_act_layer: LayerSpec = 'relu6'
    head_act_layer: LayerSpec = 'leaky_relu'
    na_backend: str = 'auto'
    joint_encoding: bool = False  # one modality at a time: half the full-res peak memory
    pad_mode: str = 'reflect'
    # Where the authors' released code differs (see the module docstring); defaults: paper.
    resnest_shortcut_pool: bool = False
    attn_act_last: bool = False
    nat_norm_eps: float = 1e-6
    nat_act_layer: LayerSpec | None = None  # NAT-mini head convs; None = act_layer
    nat_head_norm_proj: bool = True
    nat_out_act_layer: LayerSpec | None = None
    dsm_conv_before_pool: bool = False
    dsm_pool_act_layer: LayerSpec | None = None
    dsm_spatial_attention: bool = True

    def __post_init__(self) -> None:
        normalise_sequences(self)
        check_positive_ints(
            self,
            'patch_chs',
            'stem_chs',
            'resnest_planes',
            'resnest_blocks',
            'resnest_expansion',
            'radix',
            'cardinality',
            'attn_reduction',
            'neck_chs',
            'nat_embed_dim',
            'nat_depths',
            'nat_heads',
            'nat_kernel_size',
            'nat_head_chs',
            'nat_upsample_strides',
            'dsm_attention_groups',
            'dsm_se_reduction',
            'decoder_attention_groups',
            'decoder_reduce_chs',
            'decoder_stem_chs',
            'decoder_planes',
            'decoder_blocks',
            'decoder_head_chs',
        )
        check_common(self)
        for name in ('nat_act_layer', 'nat_out_act_layer', 'dsm_pool_act_layer'):
            if getattr(self, name) is not None:
                check_layer(name, getattr(self, name), activation_names())
        if not float(self.nat_norm_eps) > 0.0:
            raise ValueError(f'nat_norm_eps must be > 0, got {self.nat_norm_eps}')

    @property
    def feature_chs(self) -> int:
        return self.neck_chs[-1]

    @property
    def nat_stride(self) -> int:
        return 4 * 2 ** (len(self.nat_depths) - 1)


def _nat_branch(cfg: TsjnetConfig) -> NATBranch:
    return NATBranch(
        cfg.feature_chs,
        norm_eps=cfg.nat_norm_eps,
        embed_dim=cfg.nat_embed_dim,
        depths=cfg.nat_depths,
        num_heads=cfg.nat_heads,
        kernel_size=cfg.nat_kernel_size,
        mlp_ratio=cfg.nat_mlp_ratio,
        drop_path_rate=cfg.drop_path_rate,
        tokenizer_strides=(2, 2),
        head_chs=cfg.nat_head_chs,
        upsample_strides=cfg.nat_upsample_strides,
        rel_pos_bias=cfg.nat_rel_pos_bias,
        act_layer=cfg.act_layer if cfg.nat_act_layer is None else cfg.nat_act_layer,
        na_backend=cfg.na_backend,
        head_norm_proj=cfg.nat_head_norm_proj,
        out_act_layer=cfg.nat_out_act_layer,
    )


def _dsm(cfg: TsjnetConfig) -> DetailSaliencyModule:
    return DetailSaliencyModule(
        cfg.feature_chs,
        cfg.dsm_attention_groups,
        cfg.dsm_se_reduction,
        cfg.dsm_dropout,
        cfg.dsm_saliency,
        separable=False,
        norm_layer=cfg.norm_layer,
        act_layer=cfg.act_layer,
        conv_before_pool=cfg.dsm_conv_before_pool,
        pool_act_layer=cfg.dsm_pool_act_layer,
        spatial_attention=cfg.dsm_spatial_attention,
    )


def _resnest_stage(cfg: TsjnetConfig, in_chs: int, planes: int, blocks: int) -> nn.Sequential:
    return resnest_stage(
        in_chs,
        planes,
        blocks,
        cfg.resnest_expansion,
        cfg.radix,
        cfg.cardinality,
        cfg.attn_reduction,
        cfg.norm_layer,
        cfg.act_layer,
        cfg.attn_norm_layer,
        shortcut_pool=cfg.resnest_shortcut_pool,
        attn_act_last=cfg.attn_act_last,
    )


def _neck(in_chs: int, widths: tuple[int, ...], act_layer: LayerSpec) -> nn.Sequential:
    layers = []
    for width in widths:
        layers.append(ConvNormAct(in_chs, width, 3, norm_layer=None, act_layer=act_layer))
        in_chs = width
    return nn.Sequential(*layers)


@register_model('tsjnet')
def tsjnet(config: TsjnetConfig) -> FusionNet:
    """Build the TSJNet fusion network as the paper describes it, at the authors' sizes."""
    return build_tsjnet(config)


def build_tsjnet(config: TsjnetConfig) -> FusionNet:
    """Build the TSJNet topology from any :class:`TsjnetConfig` (shared by ``tsjnet_official``)."""
    cfg = config
    norm, act = cfg.norm_layer, cfg.act_layer
    stem = nn.Sequential(
        nn.Conv2d(1, cfg.patch_chs, 3, 1, 1, bias=False),
        ResNeStDeepStem(cfg.patch_chs, cfg.stem_chs, 1, norm, act),
    )
    body = _resnest_stage(cfg, cfg.stem_chs[-1], cfg.resnest_planes, cfg.resnest_blocks)
    neck = _neck(cfg.resnest_planes * cfg.resnest_expansion, cfg.neck_chs, cfg.neck_act_layer)
    encoder = SharedEncoder(stem, body, neck, _nat_branch(cfg), _dsm(cfg))
    feature_chs = cfg.feature_chs
    decoder_stem = ResNeStDeepStem(cfg.decoder_reduce_chs, cfg.decoder_stem_chs, 1, norm, act)
    decoder = SpatialAttentionDecoder(
        GroupedSpatialAttention(2 * feature_chs, cfg.decoder_attention_groups),
        nn.Conv2d(2 * feature_chs, cfg.decoder_reduce_chs, 1, bias=False),
        nn.Sequential(
            decoder_stem,
            _resnest_stage(cfg, decoder_stem.out_chs, cfg.decoder_planes, cfg.decoder_blocks),
        ),
        ConvImageHead(
            cfg.decoder_planes * cfg.resnest_expansion, cfg.decoder_head_chs, cfg.head_act_layer
        ),
    )
    return FusionNet(
        encoder,
        _nat_branch(cfg),
        _dsm(cfg),
        decoder,
        pad_multiple=cfg.nat_stride,
        joint_encoding=cfg.joint_encoding,
        pad_mode=cfg.pad_mode,
    )
