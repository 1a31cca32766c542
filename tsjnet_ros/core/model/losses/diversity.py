"""Diversity loss on the decoder's spatial attention maps.

L_div = mean(1 - max_g A_g) + mean(A): at every pixel at least one of the G attention groups
should fire strongly (first term) while the groups overall stay sparse (second term), so
different groups specialise on different regions instead of all saying the same thing.
"""

from __future__ import annotations

import torch


def diversity_loss(attention_maps: torch.Tensor) -> torch.Tensor:
    """``attention_maps``: (B, G, h, w) sigmoid maps in [0, 1]."""
    if not isinstance(attention_maps, torch.Tensor):
        raise TypeError(
            f'attention_maps must be a torch.Tensor, got {type(attention_maps).__name__}'
        )
    if attention_maps.ndim != 4:
        raise ValueError(
            f'attention_maps must have shape (B, G, h, w), got {tuple(attention_maps.shape)}'
        )
    peak = attention_maps.max(dim=1).values
    return (1.0 - peak).mean() + attention_maps.mean()
