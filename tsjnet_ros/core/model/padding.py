"""Pad images to the size a network needs and crop results back (no resizing).

Networks with strided stages need H and W divisible by their total stride; padding at
the bottom/right and cropping afterwards keeps every input pixel where it was, unlike a
fixed resize that would distort the aspect ratio and blur detail.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

PAD_MODES = ('reflect', 'replicate', 'constant')


def padded_size(height: int, width: int, multiple: int) -> tuple[int, int]:
    """Smallest (H', W') >= (height, width) divisible by ``multiple``."""
    if multiple < 1:
        raise ValueError(f'multiple must be >= 1, got {multiple}')
    return -(-height // multiple) * multiple, -(-width // multiple) * multiple


def pad_to_multiple(x: torch.Tensor, multiple: int, mode: str = 'reflect') -> torch.Tensor:
    """Pad (B, C, H, W) at the bottom/right so H and W divide by ``multiple``.

    ``reflect`` mirrors the image (no artificial edge at the border); where the padding
    is as large as the image itself reflection is undefined, and ``replicate`` is used.
    """
    if mode not in PAD_MODES:
        raise ValueError(f'pad mode must be one of {PAD_MODES}, got {mode!r}')
    if x.dim() != 4:
        raise ValueError(f'expected a (B, C, H, W) tensor, got shape {tuple(x.shape)}')
    height, width = x.shape[-2:]
    target_h, target_w = padded_size(height, width, multiple)
    pad_h, pad_w = target_h - height, target_w - width
    if pad_h == 0 and pad_w == 0:
        return x
    if mode == 'reflect' and (pad_h >= height or pad_w >= width):
        mode = 'replicate'
    return F.pad(x, (0, pad_w, 0, pad_h), mode=mode)


def crop_to(x: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Top-left ``height x width`` window of a (..., H, W) tensor."""
    if x.shape[-2] < height or x.shape[-1] < width:
        raise ValueError(f'cannot crop {tuple(x.shape[-2:])} to larger {(height, width)}')
    return x[..., :height, :width]
