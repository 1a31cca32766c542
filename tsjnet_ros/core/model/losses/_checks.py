"""Shape checks shared by the image losses, so misuse fails with a readable message."""

from __future__ import annotations

import torch


def check_images(**images: torch.Tensor) -> None:
    """All arguments must be (B, 1, H, W) float tensors of one shape."""
    shape = None
    for name, img in images.items():
        if not isinstance(img, torch.Tensor):
            raise TypeError(f'{name} must be a torch.Tensor, got {type(img).__name__}')
        if img.ndim != 4 or img.shape[1] != 1:
            raise ValueError(f'{name} must have shape (B, 1, H, W), got {tuple(img.shape)}')
        if not img.is_floating_point():
            raise TypeError(f'{name} must be a float tensor, got {img.dtype}')
        if shape is None:
            shape = img.shape
        elif img.shape != shape:
            raise ValueError(f'{name} has shape {tuple(img.shape)}, expected {tuple(shape)}')
