"""Decoder with data-agnostic grouped spatial attention on the fused base+detail features."""

from __future__ import annotations

import torch
from torch import nn

from tsjnet_ros.core.model.blocks.spatial_attention import GroupedSpatialAttention


class SpatialAttentionDecoder(nn.Module):
    """concat(base, detail) -> grouped spatial attention -> 1x1 reduce -> body -> image head.

    Returns ``(image (B, 1, H, W) in [0, 1], attention maps (B, G, h, w))``; the maps live
    at the resolution of the decoder's input features.
    """

    def __init__(
        self,
        attention: GroupedSpatialAttention,
        reduce: nn.Module,
        body: nn.Module,
        head: nn.Module,
    ) -> None:
        super().__init__()
        self.attention = attention
        self.reduce = reduce
        self.body = body
        self.head = head

    @property
    def full_size_head(self) -> bool:
        """True when the head blends full-size sources at any size.

        See ``FusionNet.work_scale``.
        """
        return bool(getattr(self.head, 'full_size_sources', False))

    def forward(
        self,
        base: torch.Tensor,
        detail: torch.Tensor,
        skip: torch.Tensor | None = None,
        sources: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Decode ``base`` and ``detail`` features to an image; return it with the attention maps.

        ``sources`` are the padded full-size inputs the features came from (IR, visible for
        the fused image; the same image twice for a reconstruction); only blending heads use
        them.
        """
        # The concatenation is a fresh tensor: without autograd it can be rescaled in place.
        x, maps = self.attention(
            torch.cat([base, detail], dim=1), inplace=not torch.is_grad_enabled()
        )
        x = self.reduce(x)  # rebinding frees the wide concatenation before the body runs
        return self.head(self.body(x), skip, sources), maps
