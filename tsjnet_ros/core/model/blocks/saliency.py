"""Parameter-free detail saliency maps of a feature tensor (corners or edges).

The TSJNet paper motivates its Detail Saliency Module with salient local detail (edges,
small warm targets); the authors' code carries a Harris corner map but leaves it off.
These maps restore that intent: a per-pixel weight in [0, 1] that is high where the
features have strong local structure.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

SALIENCY_KINDS = ('harris', 'gradient', 'none')


def _gaussian_kernel(size: int, sigma: float) -> torch.Tensor:
    coords = torch.arange(size, dtype=torch.float32) - (size - 1) / 2
    g = torch.exp(-(coords**2) / (2 * sigma**2))
    g = g / g.sum()
    return torch.outer(g, g)


class FeatureSaliency(nn.Module):
    """Saliency of the channel mean of ``x``: (B, C, H, W) -> (B, 1, H, W) in [0, 1].

    ``"harris"``: positive Harris response ``det(M) - k tr(M)^2`` of the Gaussian-smoothed
    structure tensor M of Sobel gradients (corners, blobs). ``"gradient"``: Sobel gradient
    magnitude (edges). Each map is divided by its per-image maximum (a flat map stays 0).
    """

    def __init__(
        self, kind: str = 'harris', harris_k: float = 0.04, window: int = 5, sigma: float = 1.0
    ) -> None:
        super().__init__()
        if kind not in SALIENCY_KINDS:
            raise ValueError(f'saliency kind must be one of {SALIENCY_KINDS}, got {kind!r}')
        if window < 1 or window % 2 == 0:
            raise ValueError(f'window must be a positive odd int, got {window}')
        self.kind = kind
        self.harris_k = float(harris_k)
        sobel_x = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]) / 8.0
        # Fixed filters, not weights: kept out of the state dict.
        self.register_buffer(
            'sobel', torch.stack([sobel_x, sobel_x.t()]).unsqueeze(1), persistent=False
        )
        self.register_buffer(
            'window',
            _gaussian_kernel(window, sigma)[None, None].repeat(3, 1, 1, 1),
            persistent=False,
        )

    def gradients(self, x: torch.Tensor) -> torch.Tensor:
        """Sobel (d/dx, d/dy) of the channel mean, replicate-padded: (B, 2, H, W)."""
        mean = x.mean(dim=1, keepdim=True)
        return F.conv2d(F.pad(mean, (1, 1, 1, 1), mode='replicate'), self.sobel.to(mean.dtype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4:
            raise ValueError(f'expected (B, C, H, W) features, got shape {tuple(x.shape)}')
        if self.kind == 'none':
            return x.new_zeros(x.shape[0], 1, *x.shape[-2:])
        grad = self.gradients(x)
        if self.kind == 'gradient':
            # The small offset keeps the backward pass finite where the gradient is zero.
            response = (grad.square().sum(dim=1, keepdim=True) + 1e-12).sqrt()
        else:
            gx, gy = grad[:, :1], grad[:, 1:]
            products = torch.cat([gx * gx, gy * gy, gx * gy], dim=1)
            half = self.window.shape[-1] // 2
            tensor = F.conv2d(
                F.pad(products, (half,) * 4, mode='replicate'), self.window.to(x.dtype), groups=3
            )
            ixx, iyy, ixy = tensor[:, :1], tensor[:, 1:2], tensor[:, 2:]
            response = (ixx * iyy - ixy * ixy - self.harris_k * (ixx + iyy).square()).clamp_min(0)
        peak = response.amax(dim=(2, 3), keepdim=True)
        return response / peak.clamp_min(torch.finfo(response.dtype).tiny)

    def extra_repr(self) -> str:
        return f'kind={self.kind!r}'
