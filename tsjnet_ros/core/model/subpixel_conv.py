"""A k x k, stride-k transposed conv as a 1x1 matrix product and a pixel shuffle.

With kernel equal to stride and no padding the output tiles do not overlap: each input
pixel alone gives its k x k output block, so the transposed conv is a 1x1 conv to
``k^2 C_out`` channels whose groups pixel_shuffle places in the blocks (the sub-pixel
convolution of Shi et al., CVPR 2016). On CPU this avoids oneDNN's deconvolution, which
on a full-resolution map (DSM's ``pool_up`` in ``tsjnet``) allocates a scratch buffer
several times the output; the result equals the transposed conv up to float rounding.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def is_subpixel_candidate(conv: nn.Module) -> bool:
    """Tell whether ``conv`` is an ungrouped ``nn.ConvTranspose2d`` with kernel == stride.

    The kernel must also be square, with no padding, output padding or dilation.
    """
    return (
        type(conv) is nn.ConvTranspose2d
        and conv.kernel_size[0] == conv.kernel_size[1]
        and conv.stride == conv.kernel_size
        and conv.padding == (0, 0)
        and conv.output_padding == (0, 0)
        and conv.dilation == (1, 1)
        and conv.groups == 1
    )


class SubPixelConvTranspose2d(nn.Module):
    """Same function as the given kernel == stride ``nn.ConvTranspose2d``, for inference.

    Input (B, C_in, H, W) float; output (B, C_out, kH, kW). The weights are frozen copies.
    Raises ValueError for any other transposed conv.
    """

    def __init__(self, conv: nn.ConvTranspose2d) -> None:
        super().__init__()
        if not is_subpixel_candidate(conv):
            raise ValueError(f'SubPixelConvTranspose2d needs kernel == stride, got {conv}')
        self.scale = conv.kernel_size[0]
        # (C_in, C_out, k, k) -> rows ordered (C_out, ky, kx), as pixel_shuffle reads them
        weight = conv.weight.detach().permute(1, 2, 3, 0).reshape(-1, conv.in_channels)
        self.weight = nn.Parameter(weight.clone(), requires_grad=False)
        bias = None
        if conv.bias is not None:
            bias = conv.bias.detach().repeat_interleave(self.scale * self.scale).clone()
        self.bias = None if bias is None else nn.Parameter(bias, requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight = self.weight.to(x.dtype)
        bias = None if self.bias is None else self.bias.to(x.dtype)
        y = F.conv2d(x, weight[:, :, None, None], bias)
        return F.pixel_shuffle(y, self.scale)

    def extra_repr(self) -> str:
        out_chs = self.weight.shape[0] // (self.scale * self.scale)
        return f'{self.weight.shape[1]}, {out_chs}, scale={self.scale}'
