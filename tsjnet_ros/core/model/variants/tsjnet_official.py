"""``tsjnet_official``: the function the authors' released TSJNet code computes.

Same topology and sizes as ``tsjnet``, with the seven options where the released code
(XylonXu01/TSJNet, ``net.py``) departs from the paper set to the released behaviour (the
list is in :mod:`tsjnet_ros.core.model.variants.tsjnet`). The authors' checkpoint, converted by
:mod:`tsjnet_ros.core.model.official_checkpoint`, loads into this variant and gives their
outputs (tested against a recording of their code to 1e-5 in fp32).

The released NA layers carry a relative-position bias when trained with natten < 0.20
(``nat_rel_pos_bias=True``, the default here) and none with natten >= 0.20. natten
0.21 has no bias, so with it this variant runs our neighbourhood attention on CUDA too.
Training differences (Dropout2d(0.1) in the DSM, the losses) do not affect inference.
"""

from __future__ import annotations

from dataclasses import dataclass

from tsjnet_ros.core.model.blocks.layer_choice import LayerSpec
from tsjnet_ros.core.model.fusion_net import FusionNet
from tsjnet_ros.core.model.registry import register_model
from tsjnet_ros.core.model.variants.tsjnet import TsjnetConfig, build_tsjnet


@dataclass(frozen=True)
class TsjnetOfficialConfig(TsjnetConfig):
    """:class:`TsjnetConfig` with the released code's behaviour as defaults."""

    dsm_saliency: str = 'none'
    resnest_shortcut_pool: bool = True
    attn_act_last: bool = True
    nat_norm_eps: float = 1e-5
    nat_act_layer: LayerSpec | None = 'relu6'
    nat_head_norm_proj: bool = False
    nat_out_act_layer: LayerSpec | None = 'relu6'
    dsm_conv_before_pool: bool = True
    dsm_pool_act_layer: LayerSpec | None = 'leaky_relu_0.2'
    dsm_spatial_attention: bool = False


@register_model('tsjnet_official')
def tsjnet_official(config: TsjnetOfficialConfig) -> FusionNet:
    """TSJNet as released by its authors (load their weights with ``tsjnet-convert``)."""
    return build_tsjnet(config)
