"""Image head that fuses the full-size sources in a Laplacian pyramid under learnt weight maps.

A network that works at 1/8 of the camera size cannot redraw full-size texture, and a head
that adds a correction drawn from coarse features prints that coarseness into the image
(a regular grid of the upsampling steps). This head draws nothing: it decomposes both
sources into Laplacian pyramids (Burt and Adelson, 1983), blends every level with a weight
map and reconstructs. The weights of a detail level are

    w_l = sigmoid(s_l * (ln E_a - ln E_b) + m_l),

with E the local energy (3x3 mean of the squared coefficient) of each source, ``s_l`` a
learnt selectivity and ``m_l`` the network's map; the base level uses ``sigmoid(m_base)``.
With the maps at zero this is the classical energy-selection pyramid fusion (the stronger
local detail wins, softly; the base is the average); the network learns where to deviate.
Every map is smooth (bilinear from the network's resolution), so no grid can appear.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

_ENERGY_EPS = 1e-8

# The 5-tap binomial kernel (1, 4, 6, 4, 1) / 16 of the Burt-Adelson pyramid (the taps of
# cv2.pyrDown / cv2.pyrUp), as one 5x5 kernel: a single-channel strided (transposed) conv is
# several times faster on CPU than the same filter as separable shifted sums.
_TAPS = (1.0, 4.0, 6.0, 4.0, 1.0)


def _kernel(x: torch.Tensor, gain: float) -> torch.Tensor:
    k = x.new_tensor(_TAPS) / 16.0
    return (k[:, None] * k[None, :] * gain).view(1, 1, 5, 5)


def _down(x: torch.Tensor) -> torch.Tensor:
    """Burt-Adelson reduce of (B, C, H, W): blur, keep every second row and column (ceil)."""
    b, c, h, w = x.shape
    flat = F.pad(x.reshape(b * c, 1, h, w), (2, 2, 2, 2), mode='reflect')
    out = F.conv2d(flat, _kernel(x, 1.0), stride=2)
    return out.reshape(b, c, *out.shape[-2:])


def _expand_kernel(x: torch.Tensor) -> torch.Tensor:
    """Return the expand filter in polyphase form: (4, 1, 3, 3) kernels.

    One kernel each for the output pixels (even, even), (even, odd), (odd, even), (odd, odd)
    of each input pixel; 1-D even taps (1, 6, 1) / 8 and odd taps (0, 4, 4) / 8 (the binomial
    kernel with gain 2).
    """
    even = x.new_tensor([1.0, 6.0, 1.0]) / 8.0
    odd = x.new_tensor([0.0, 4.0, 4.0]) / 8.0
    return torch.stack([torch.outer(r, c) for r in (even, odd) for c in (even, odd)]).unsqueeze(1)


def _up(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Burt-Adelson expand of (B, C, h, w) to ``size`` (at most (2h, 2w)).

    Zero insertion and the binomial blur with gain 4, borders replicated. Computed as four
    3x3 phase filters on the coarse image and a pixel shuffle (a strided transposed conv is
    slow on CPU).
    """
    b, c, h, w = x.shape
    flat = F.pad(x.reshape(b * c, 1, h, w), (1, 1, 1, 1), mode='replicate')
    out = F.pixel_shuffle(F.conv2d(flat, _expand_kernel(x)), 2)
    return out[..., : size[0], : size[1]].reshape(b, c, size[0], size[1])


def _resize_map(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    return F.interpolate(x, size=size, mode='bilinear', align_corners=False)


def laplacian_pyramid(image: torch.Tensor, levels: int) -> list[torch.Tensor]:
    """``levels`` detail bands (finest first) and the low-pass base of (B, C, H, W) ``image``.

    Any image of at least 5 px a side works; odd sizes round up when halving.
    Reconstruction with :func:`collapse_pyramid` is exact (same upsampling both ways).
    """
    bands = []
    current = image
    for _ in range(levels):
        if min(current.shape[-2:]) < 5:
            break
        coarse = _down(current)
        bands.append(current - _up(coarse, tuple(current.shape[-2:])))
        current = coarse
    bands.append(current)
    return bands


def collapse_pyramid(bands: list[torch.Tensor]) -> torch.Tensor:
    """Inverse of :func:`laplacian_pyramid`."""
    image = bands[-1]
    for detail in reversed(bands[:-1]):
        image = _up(image, tuple(detail.shape[-2:])) + detail
    return image


def local_energy(band: torch.Tensor) -> torch.Tensor:
    """Mean of the squared coefficient over a 3x3 window (reflected borders) of (B, C, H, W).

    A single-channel 3x3 conv: on CPU several times faster than ``avg_pool2d`` at camera size.
    """
    b, c, h, w = band.shape
    squared = F.pad((band * band).reshape(b * c, 1, h, w), (1, 1, 1, 1), mode='reflect')
    box = band.new_full((1, 1, 3, 3), 1.0 / 9.0)
    return F.conv2d(squared, box).reshape(b, c, h, w)


class PyramidBlendImageHead(nn.Module):
    """Features (B, in_chs, h, w) + full-size sources (a, b) -> fused (B, 1, H, W) in [0, 1].

    ``levels`` detail bands plus a base; ``selectivity`` is the initial ``s_l`` (2: a source's
    detail weight is E_a^2 / (E_a^2 + E_b^2)). The 1x1 conv producing the maps starts at
    zero, so an untrained head is the classical rule. ``skip`` is accepted and unused.
    """

    full_size_sources = True  # works whatever the feature resolution (see FusionNet.work_scale)

    def __init__(self, in_chs: int, levels: int = 4, selectivity: float = 2.0) -> None:
        super().__init__()
        if levels < 1:
            raise ValueError(f'levels must be >= 1, got {levels}')
        self.levels = int(levels)
        self.to_maps = nn.Conv2d(in_chs, levels + 1, 1)
        nn.init.zeros_(self.to_maps.weight)
        nn.init.zeros_(self.to_maps.bias)
        self.selectivity = nn.Parameter(torch.full((levels,), float(selectivity)))

    def forward(
        self,
        x: torch.Tensor,
        skip: torch.Tensor | None = None,
        sources: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        if sources is None:
            raise ValueError('PyramidBlendImageHead needs the full-size source images to blend')
        first, second = sources
        if first.shape != second.shape:
            raise ValueError(
                f'sources differ in shape: {tuple(first.shape)} vs {tuple(second.shape)}'
            )
        maps = self.to_maps(x).float()
        # Both sources in one pyramid pass: (B, 2, H, W).
        bands = laplacian_pyramid(torch.cat([first, second], dim=1).float(), self.levels)
        fused = []
        for level, band in enumerate(bands):
            a, b = band[:, :1], band[:, 1:]
            m = _resize_map(
                maps[:, level : level + 1] if level < len(bands) - 1 else maps[:, -1:],
                tuple(band.shape[-2:]),
            )
            if level < len(bands) - 1:
                energy = torch.log(local_energy(band) + _ENERGY_EPS)
                m = m + self.selectivity[level] * (energy[:, :1] - energy[:, 1:])
            weight = torch.sigmoid(m)
            fused.append(b + weight * (a - b))
        return collapse_pyramid(fused).clamp(0.0, 1.0).to(first.dtype)
