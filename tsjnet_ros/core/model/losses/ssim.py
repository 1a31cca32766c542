"""Structural similarity loss against both sources, weighted by their texture.

SSIM uses an 11x11 Gaussian window (sigma 1.5), data range 1, C1 = 0.01^2, C2 = 0.03^2 and
'valid' filtering (no padding), as in Wang et al. 2004. The two-source loss is
1 - (w_IR * SSIM(IR, F) + w_VIS * SSIM(VIS, F)) with w = each source's share of the mean
Sobel gradient magnitude, so the more textured source dominates the structure term.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from tsjnet_ros.core.model.losses._checks import check_images
from tsjnet_ros.core.model.losses.gradient import sobel_magnitude

WINDOW_SIZE = 11
WINDOW_SIGMA = 1.5
_C1 = 0.01**2
_C2 = 0.03**2


def gaussian_window(size: int = WINDOW_SIZE, sigma: float = WINDOW_SIGMA) -> torch.Tensor:
    """Normalised (1, 1, size, size) Gaussian kernel."""
    coords = torch.arange(size, dtype=torch.float32) - (size - 1) / 2.0
    g = torch.exp(-(coords**2) / (2.0 * sigma**2))
    g = g / g.sum()
    return (g[:, None] * g[None, :])[None, None]


def ssim(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Mean SSIM of each image pair, shape (B,); images (B, 1, H, W) in [0, 1]."""
    check_images(a=a, b=b)
    if min(a.shape[-2:]) < WINDOW_SIZE:
        raise ValueError(
            f'SSIM needs images of at least {WINDOW_SIZE}x{WINDOW_SIZE}, got {tuple(a.shape[-2:])}'
        )
    a = a.float()
    b = b.float()
    w = gaussian_window().to(a.device)
    mu_a = F.conv2d(a, w)
    mu_b = F.conv2d(b, w)
    var_a = F.conv2d(a * a, w) - mu_a**2
    var_b = F.conv2d(b * b, w) - mu_b**2
    cov = F.conv2d(a * b, w) - mu_a * mu_b
    num = (2 * mu_a * mu_b + _C1) * (2 * cov + _C2)
    den = (mu_a**2 + mu_b**2 + _C1) * (var_a + var_b + _C2)
    return (num / den).flatten(1).mean(dim=1)


def texture_weights(
    ir: torch.Tensor, visible: torch.Tensor, eps: float = 1e-4
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-image (B,) weights from mean Sobel magnitudes; they sum to 1 (0.5/0.5 if both flat)."""
    g_ir = sobel_magnitude(ir.float()).flatten(1).mean(dim=1)
    g_vis = sobel_magnitude(visible.float()).flatten(1).mean(dim=1)
    total = g_ir + g_vis + 2 * eps
    return (g_ir + eps) / total, (g_vis + eps) / total


def ssim_loss(fused: torch.Tensor, ir: torch.Tensor, visible: torch.Tensor) -> torch.Tensor:
    """1 - texture-weighted SSIM of the fused image to both sources, averaged over the batch."""
    check_images(fused=fused, ir=ir, visible=visible)
    w_ir, w_vis = texture_weights(ir.detach(), visible.detach())
    score = w_ir * ssim(ir, fused) + w_vis * ssim(visible, fused)
    return (1.0 - score).mean()
