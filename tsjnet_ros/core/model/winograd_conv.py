"""A 3x3 convolution through NNPACK's Winograd kernel, for channels-first inference on CPU.

NNPACK's Winograd F(6x6, 3x3) transform needs about a third of the multiplications of a
direct 3x3 conv, and oneDNN (PyTorch's CPU conv) does not use it. It pays for the wide
full-resolution convs of ``tsjnet``/``tsjnet_official`` (``bench/official_speed.py``
prints the time). PyTorch reaches NNPACK only through a private op,
``torch._nnpack_spatial_convolution``; every case it does not cover falls back to
``F.conv2d``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

STRIPE_BYTES = 64 * 2**20  # default bound of one stripe's NNPACK workspace


def nnpack_available() -> bool:
    """Tell whether this PyTorch build can run NNPACK convolutions (initialises NNPACK)."""
    try:
        return bool(torch.backends.nnpack.is_available())
    except (AttributeError, RuntimeError):
        return False


@torch.compiler.disable
def _nnpack_conv(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, padding: list[int]
) -> torch.Tensor:
    # Opaque to torch.compile (no tracing rule for this op): compiled graphs call it eagerly.
    return torch._nnpack_spatial_convolution(x, weight, bias, padding)


def _channels_last(x: torch.Tensor) -> bool:
    """Tell whether ``x`` is channels-last and not also contiguous (as 1x1 maps are)."""
    return x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()


def is_winograd_candidate(conv: nn.Module, min_channels: int) -> bool:
    """Tell whether ``conv`` is a plain 3x3 stride-1 conv with zero padding 1.

    It also needs at least ``min_channels`` input and output channels per group.
    """
    if type(conv) is not nn.Conv2d:
        return False
    per_group_in = conv.in_channels // conv.groups
    per_group_out = conv.out_channels // conv.groups
    return (
        conv.kernel_size == (3, 3)
        and conv.stride == (1, 1)
        and conv.dilation == (1, 1)
        and conv.padding == (1, 1)
        and conv.padding_mode == 'zeros'
        and min(per_group_in, per_group_out) >= min_channels
    )


class WinogradConv2d(nn.Module):
    """A 3x3 stride-1 conv evaluated by NNPACK's Winograd kernel, group by group.

    Falls back to ``F.conv2d`` whenever NNPACK does not apply (autograd, non-float32,
    non-CPU or channels-last tensors) or does not pay (maps under ``min_pixels``, where its
    thread pool and transforms cost more than they save). Large maps run in horizontal
    stripes (with a one-row halo) because NNPACK keeps a workspace as large as the
    transformed input and output for the rest of the process: striping caps it near
    ``stripe_bytes`` instead of ~1.8x the largest input plus output seen. The weights are
    frozen copies of the given conv's.
    """

    def __init__(
        self, conv: nn.Conv2d, min_pixels: int = 64 * 64, stripe_bytes: int = STRIPE_BYTES
    ) -> None:
        super().__init__()
        if not is_winograd_candidate(conv, min_channels=1):
            raise ValueError(
                f'WinogradConv2d needs a 3x3, stride 1, dilation 1, zero-padded conv, got {conv}'
            )
        self.groups = conv.groups
        self.min_pixels = int(min_pixels)
        self.stripe_bytes = int(stripe_bytes)
        self.padding = [int(p) for p in conv.padding]
        bias = conv.bias if conv.bias is not None else torch.zeros(conv.out_channels)
        self.weight = nn.Parameter(conv.weight.detach().clone().contiguous(), requires_grad=False)
        self.bias = nn.Parameter(bias.detach().clone(), requires_grad=False)

    def use_nnpack(self, x: torch.Tensor) -> bool:
        return (
            x.device.type == 'cpu'
            and x.dtype == torch.float32
            and self.weight.dtype == torch.float32
            and not _channels_last(x)
            and x.shape[-2] * x.shape[-1] >= self.min_pixels
            and not (torch.is_grad_enabled() and (x.requires_grad or self.weight.requires_grad))
        )

    def _striped(
        self, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, out: torch.Tensor | None
    ) -> torch.Tensor:
        """NNPACK conv of (B, C, H, W) ``x``, in row stripes when it is large, into ``out``."""
        batch, channels, height, width = x.shape
        # Per output row NNPACK's F(6x6, 3x3) workspace holds the input and output rows
        # transformed to 8x8 tiles (64/36 of their size); stripes are whole tile rows.
        per_row = 4 * batch * (channels + weight.shape[0]) * width * 64 / 36
        rows = max(6, int(self.stripe_bytes / per_row) // 6 * 6)
        if rows >= height and out is None:
            return _nnpack_conv(x.contiguous(), weight, bias, self.padding)
        if out is None:
            out = x.new_empty(batch, weight.shape[0], height, width)
        for top in range(0, height, rows):
            bottom = min(height, top + rows)
            # One halo row each side; zero rows stand in for the padding at the image border.
            stripe = x[:, :, max(0, top - 1) : min(height, bottom + 1)]
            stripe = F.pad(stripe, (0, 0, int(top == 0), int(bottom == height)))
            out[:, :, top:bottom] = _nnpack_conv(
                stripe.contiguous(), weight, bias, [0, self.padding[1]]
            )
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.use_nnpack(x):
            return F.conv2d(
                x, self.weight.to(x.dtype), self.bias.to(x.dtype), 1, self.padding, 1, self.groups
            )
        # The weight may have been made channels-last by Module.to(); NNPACK wants it dense.
        weight = self.weight.contiguous()
        if self.groups == 1:
            return self._striped(x, weight, self.bias, None)
        # Each group's stripes go straight into its channels of one output (no concatenation).
        out = x.new_empty(x.shape[0], weight.shape[0], *x.shape[-2:])
        parts = zip(
            x.chunk(self.groups, dim=1),
            weight.chunk(self.groups),
            self.bias.chunk(self.groups),
            out.chunk(self.groups, dim=1),
        )
        for xi, w, b, oi in parts:
            self._striped(xi, w, b, oi)
        return out

    def extra_repr(self) -> str:
        out_chs, in_per_group = self.weight.shape[:2]
        in_chs = in_per_group * self.groups
        return f'{in_chs}, {out_chs}, groups={self.groups}, padding={tuple(self.padding)}'
