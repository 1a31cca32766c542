"""Neighborhood attention layer (qkv projection, 2-D NA, output projection) as in NAT."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from tsjnet_ros.core.model.layers.neighborhood_attention import (
    BACKENDS,
    neighborhood_attention_2d,
)


class NeighborhoodAttention2d(nn.Module):
    """Multi-head 2-D neighborhood attention on channels-last ``(B, H, W, C)`` maps.

    Parameter names (``qkv``, ``rpb``, ``proj``) match NAT/natten<0.20 checkpoints, so
    state dicts of the original TSJNet NAT blocks load directly. Maps smaller than
    ``kernel_size * dilation`` are zero-padded at the bottom/right before the qkv
    projection and cropped afterwards, as NAT did, so tiny inputs still work.
    """

    def __init__(
        self,
        dim: int,
        num_heads: int,
        kernel_size: int = 7,
        dilation: int = 1,
        qkv_bias: bool = True,
        rel_pos_bias: bool = False,
        attn_drop: float = 0.0,
        proj_drop: float = 0.0,
        backend: str = 'auto',
    ) -> None:
        super().__init__()
        if dim <= 0 or num_heads <= 0 or dim % num_heads != 0:
            raise ValueError(f'dim ({dim}) must be a positive multiple of num_heads ({num_heads})')
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f'kernel_size must be a positive odd int, got {kernel_size}')
        if dilation < 1:
            raise ValueError(f'dilation must be >= 1, got {dilation}')
        if backend not in BACKENDS:
            raise ValueError(f'backend must be one of {BACKENDS}, got {backend!r}')
        self.dim = dim
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.kernel_size = kernel_size
        self.dilation = dilation
        self.backend = backend
        self.scale = self.head_dim**-0.5
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        if rel_pos_bias:
            table = 2 * kernel_size - 1
            self.rpb = nn.Parameter(torch.zeros(num_heads, table, table))
            nn.init.trunc_normal_(self.rpb, std=0.02, a=-2.0, b=2.0)
        else:
            self.register_parameter('rpb', None)
        self.attn_drop = float(attn_drop)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[-1] != self.dim:
            raise ValueError(f'expected input shaped (B, H, W, {self.dim}), got {tuple(x.shape)}')
        batch, height, width, _ = x.shape
        window = self.kernel_size * self.dilation
        pad_bottom = max(0, window - height)
        pad_right = max(0, window - width)
        if pad_bottom or pad_right:
            x = F.pad(x, (0, 0, 0, pad_right, 0, pad_bottom))
        padded_h, padded_w = x.shape[1], x.shape[2]
        qkv = self.qkv(x).reshape(batch, padded_h, padded_w, 3, self.num_heads, self.head_dim)
        query, key, value = qkv.unbind(dim=3)
        out = neighborhood_attention_2d(
            query,
            key,
            value,
            self.kernel_size,
            self.dilation,
            rpb=self.rpb,
            scale=self.scale,
            backend=self.backend,
            dropout_p=self.attn_drop if self.training else 0.0,
        )
        out = out.reshape(batch, padded_h, padded_w, self.dim)
        if pad_bottom or pad_right:
            out = out[:, :height, :width, :]
        return self.proj_drop(self.proj(out))

    def extra_repr(self) -> str:
        return (
            f'dim={self.dim}, num_heads={self.num_heads}, kernel_size={self.kernel_size}, '
            f'dilation={self.dilation}, rel_pos_bias={self.rpb is not None}, '
            f'backend={self.backend!r}'
        )
