"""NAT-mini: a small Neighborhood Attention Transformer that returns a full-size map.

Layout of TSJNet's base branch: strided conv tokenizer, levels of NA transformer layers
with strided-conv downsamplers between them, then a conv head, LayerNorm and two 1x1
projections on the coarsest map, and transposed convs that bring it back to the input
size (the norm and projections run before upsampling, where they cost 1/stride^2).
Tokens are channels-last ``(B, H, W, C)`` inside the levels; the module's input and
output are channels-first ``(B, C, H, W)``.

The authors' released code builds that norm and the projections but never calls them:
its head convs go straight to the transposed convs, followed by a ReLU6.
``head_norm_proj=False`` with ``out_act_layer="relu6"`` reproduces that tail.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from timm.layers import DropPath, LayerNorm2d, Mlp
from torch import nn

from tsjnet_ros.core.model.blocks.layer_choice import LayerSpec, act_factory
from tsjnet_ros.core.model.layers import NeighborhoodAttention2d


class ConvTokenizer(nn.Module):
    """Strided 3x3 convs (no activation, as NAT) then LayerNorm over channels."""

    def __init__(self, in_chs: int, embed_dim: int, strides: Sequence[int] = (2, 2)) -> None:
        super().__init__()
        if len(strides) == 0 or any(s < 1 for s in strides):
            raise ValueError(
                f'tokenizer strides must be a non-empty list of ints >= 1, got {strides}'
            )
        widths = [embed_dim // 2] * (len(strides) - 1) + [embed_dim]
        convs = []
        prev = in_chs
        for stride, width in zip(strides, widths):
            convs.append(nn.Conv2d(prev, width, 3, stride, 1))
            prev = width
        self.proj = nn.Sequential(*convs)
        self.norm = nn.LayerNorm(embed_dim)
        self.stride = math.prod(strides)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.proj(x).permute(0, 2, 3, 1))


class ConvDownsampler(nn.Module):
    """Halves the token grid and changes width with a 3x3 stride-2 conv + LayerNorm."""

    def __init__(self, dim: int, out_dim: int) -> None:
        super().__init__()
        self.reduction = nn.Conv2d(dim, out_dim, 3, 2, 1, bias=False)
        self.norm = nn.LayerNorm(out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.reduction(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
        return self.norm(x)


class NATLayer(nn.Module):
    """Pre-norm transformer layer: x + NA(LN(x)), then x + MLP(LN(x)), with drop-path."""

    def __init__(
        self,
        dim: int,
        num_heads: int,
        kernel_size: int = 7,
        dilation: int = 1,
        mlp_ratio: float = 3.0,
        drop_path: float = 0.0,
        rel_pos_bias: bool = False,
        na_backend: str = 'auto',
    ) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = NeighborhoodAttention2d(
            dim, num_heads, kernel_size, dilation, rel_pos_bias=rel_pos_bias, backend=na_backend
        )
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), act_layer=nn.GELU)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.drop_path(self.attn(self.norm1(x)))
        return x + self.drop_path(self.mlp(self.norm2(x)))


class NATLevel(nn.Module):
    """``depth`` NAT layers at one resolution, optionally followed by a downsampler."""

    def __init__(
        self,
        dim: int,
        depth: int,
        num_heads: int,
        kernel_size: int,
        dilation: int,
        mlp_ratio: float,
        drop_paths: Sequence[float],
        downsample_to: int | None,
        rel_pos_bias: bool,
        na_backend: str,
    ) -> None:
        super().__init__()
        self.blocks = nn.Sequential(
            *[
                NATLayer(
                    dim,
                    num_heads,
                    kernel_size,
                    dilation,
                    mlp_ratio,
                    drop_paths[i],
                    rel_pos_bias,
                    na_backend,
                )
                for i in range(depth)
            ]
        )
        self.downsample = ConvDownsampler(dim, downsample_to) if downsample_to else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.blocks(x)
        return self.downsample(x) if self.downsample is not None else x


class NATMini(nn.Module):
    """Tokenizer -> NA levels -> conv head -> norm -> 1x1 projections -> transposed-conv upsampler.

    Level ``i`` has width ``embed_dim * 2**i``; the total stride is the tokenizer stride
    times ``2**(levels-1)`` and ``upsample_strides`` must multiply to the same value, so
    the output has the input's size. Inputs must be divisible by that stride.
    ``act_layer`` follows each head conv. ``head_norm_proj=False`` drops the norm and the
    projections (the last head conv must then produce ``out_chs``); ``out_act_layer``
    (default none) follows the upsampler.
    """

    def __init__(
        self,
        in_chs: int,
        out_chs: int,
        embed_dim: int = 64,
        depths: Sequence[int] = (3, 4, 6, 5),
        num_heads: Sequence[int] = (2, 4, 8, 16),
        kernel_size: int = 7,
        dilation: int = 1,
        mlp_ratio: float = 3.0,
        drop_path_rate: float = 0.2,
        tokenizer_strides: Sequence[int] = (2, 2),
        head_chs: Sequence[int] = (128, 64),
        upsample_strides: Sequence[int] = (4, 4, 2),
        rel_pos_bias: bool = False,
        act_layer: LayerSpec = 'relu',
        na_backend: str = 'auto',
        *,
        head_norm_proj: bool = True,
        out_act_layer: LayerSpec | None = None,
    ) -> None:
        super().__init__()
        if len(depths) == 0 or len(depths) != len(num_heads):
            raise ValueError(
                f'depths {tuple(depths)} and num_heads {tuple(num_heads)} '
                'must be equally long, non-empty'
            )
        if len(head_chs) == 0:
            raise ValueError('head_chs must name at least one conv width')
        self.tokenizer = ConvTokenizer(in_chs, embed_dim, tokenizer_strides)
        self.stride = self.tokenizer.stride * 2 ** (len(depths) - 1)
        if math.prod(upsample_strides) != self.stride:
            raise ValueError(
                f'upsample_strides {tuple(upsample_strides)} '
                f'multiply to {math.prod(upsample_strides)}, '
                f'but the tokenizer and levels downsample by {self.stride}'
            )
        rates = torch.linspace(0, drop_path_rate, sum(depths), device='cpu').tolist()
        levels = []
        for i, (depth, heads) in enumerate(zip(depths, num_heads)):
            dim = embed_dim * 2**i
            last = i == len(depths) - 1
            levels.append(
                NATLevel(
                    dim,
                    depth,
                    heads,
                    kernel_size,
                    dilation,
                    mlp_ratio,
                    rates[sum(depths[:i]) : sum(depths[: i + 1])],
                    None if last else dim * 2,
                    rel_pos_bias,
                    na_backend,
                )
            )
        self.levels = nn.Sequential(*levels)
        head = []
        prev = embed_dim * 2 ** (len(depths) - 1)
        for chs in head_chs:
            head += [nn.Conv2d(prev, chs, 3, 1, 1), act_factory(act_layer)()]
            prev = chs
        self.head = nn.Sequential(*head)
        if head_norm_proj:
            self.norm = LayerNorm2d(prev)
            self.proj = nn.Sequential(nn.Conv2d(prev, prev, 1), nn.Conv2d(prev, out_chs, 1))
        elif prev != out_chs:
            raise ValueError(
                f'without head_norm_proj the last head conv ({prev}) '
                f'must produce out_chs ({out_chs})'
            )
        else:
            self.norm = self.proj = None
        self.upsample = nn.Sequential(
            *[nn.ConvTranspose2d(out_chs, out_chs, s, s, bias=False) for s in upsample_strides]
        )
        self.out_act = act_factory(out_act_layer)() if out_act_layer is not None else None
        self.apply(_init_linear)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2:]
        if height % self.stride or width % self.stride:
            raise ValueError(
                f'NAT-mini input {height}x{width} must be divisible by its stride {self.stride}'
            )
        tokens = self.levels(self.tokenizer(x))
        y = self.head(tokens.permute(0, 3, 1, 2))
        if self.proj is not None:
            y = self.proj(self.norm(y))
        y = self.upsample(y)
        return y if self.out_act is None else self.out_act(y)


class NATBranch(nn.Module):
    """Residual base-feature branch of TSJNet: ``x + NATMini(LayerNorm(x))``.

    ``norm_eps`` is the outer LayerNorm's epsilon (timm's 1e-6; the authors' code 1e-5).
    """

    def __init__(self, channels: int, norm_eps: float = 1e-6, **nat_kwargs) -> None:
        super().__init__()
        self.norm = LayerNorm2d(channels, eps=norm_eps)
        self.nat = NATMini(channels, channels, **nat_kwargs)

    @property
    def stride(self) -> int:
        return self.nat.stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.nat(self.norm(x))


def _init_linear(module: nn.Module) -> None:
    if isinstance(module, nn.Linear):
        nn.init.trunc_normal_(module.weight, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
