"""Gradient (texture) loss: fused edges should be as strong as the stronger source's.

L_grad = mean | |Sobel F| - max(|Sobel IR|, |Sobel VIS|) |, with |Sobel x| = |G_x| + |G_y|
(unnormalised 3x3 Sobel kernels, replicate padding so image borders add no false edges).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from tsjnet_ros.core.model.losses._checks import check_images

_SOBEL_X = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])


def sobel_magnitude(image: torch.Tensor) -> torch.Tensor:
    """|G_x| + |G_y| of a (B, 1, H, W) image, same size as the input."""
    check_images(image=image)
    kernels = torch.stack([_SOBEL_X, _SOBEL_X.t()]).unsqueeze(1).to(image)
    grads = F.conv2d(F.pad(image, (1, 1, 1, 1), mode='replicate'), kernels)
    return grads.abs().sum(dim=1, keepdim=True)


def gradient_loss(fused: torch.Tensor, ir: torch.Tensor, visible: torch.Tensor) -> torch.Tensor:
    """Mean L1 between the fused gradient magnitude and the stronger source gradient."""
    check_images(fused=fused, ir=ir, visible=visible)
    target = torch.maximum(sobel_magnitude(ir), sobel_magnitude(visible))
    return (sobel_magnitude(fused) - target).abs().mean()
