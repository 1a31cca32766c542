"""A stride-1 k x k max-pool as a row max then a column max, for channels-first inference.

The maximum over a k x k window equals the maximum over k columns of the maxima over k
rows, so the pool costs 2(k - 1) elementwise ``torch.maximum`` passes instead of k^2
comparisons per output; the result is bit-identical. PyTorch's CPU ``max_pool2d`` on a
channels-first map also records argmax indices it then discards, which makes the
authors' 3x3 shortcut pool (``ResNeStBottleneck`` with ``shortcut_pool=True``) a few
percent of a ``tsjnet_official`` frame; this form is about 4x faster on such maps.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def is_separable_max_pool_candidate(pool: nn.Module) -> bool:
    """Tell whether ``pool`` is an ``nn.MaxPool2d`` with an odd square kernel, stride 1.

    It must also pad by half the kernel, use no dilation, no ceil mode and return no
    indices.
    """
    if type(pool) is not nn.MaxPool2d:
        return False
    kernel = nn.modules.utils._pair(pool.kernel_size)
    stride = nn.modules.utils._pair(pool.stride)
    padding = nn.modules.utils._pair(pool.padding)
    dilation = nn.modules.utils._pair(pool.dilation)
    return (
        kernel[0] == kernel[1]
        and kernel[0] % 2 == 1
        and stride == (1, 1)
        and padding == (kernel[0] // 2,) * 2
        and dilation == (1, 1)
        and not pool.ceil_mode
        and not pool.return_indices
    )


class SeparableMaxPool2d(nn.Module):
    """Same function as the given stride-1 ``nn.MaxPool2d`` (see the module docstring).

    Input (B, C, H, W) float, any memory layout; output the same shape. The borders are
    padded with -inf, as ``max_pool2d`` pads. Raises ValueError for any other pool.
    """

    def __init__(self, pool: nn.MaxPool2d) -> None:
        super().__init__()
        if not is_separable_max_pool_candidate(pool):
            raise ValueError(f'SeparableMaxPool2d needs a stride-1, half-padded pool, got {pool}')
        self.kernel_size = nn.modules.utils._pair(pool.kernel_size)[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k, half = self.kernel_size, self.kernel_size // 2
        if k == 1:
            return x.clone()
        height, width = x.shape[-2:]
        padded = F.pad(x, (half, half, half, half), value=float('-inf'))
        rows = torch.maximum(padded[..., 0:width], padded[..., 1 : width + 1])
        for shift in range(2, k):
            torch.maximum(rows, padded[..., shift : shift + width], out=rows)
        out = torch.maximum(rows[..., 0:height, :], rows[..., 1 : height + 1, :])
        for shift in range(2, k):
            torch.maximum(out, rows[..., shift : shift + height, :], out=out)
        return out

    def extra_repr(self) -> str:
        return f'kernel_size={self.kernel_size}'
