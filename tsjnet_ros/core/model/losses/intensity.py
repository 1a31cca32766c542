"""Intensity loss: the fused image should keep the brighter of the two sources per pixel.

L_int = mean |F - max(IR, VIS)|, which keeps warm IR targets and bright visible regions.
"""

from __future__ import annotations

import torch

from tsjnet_ros.core.model.losses._checks import check_images


def intensity_loss(fused: torch.Tensor, ir: torch.Tensor, visible: torch.Tensor) -> torch.Tensor:
    """Mean L1 distance between ``fused`` and the per-pixel max of ``ir`` and ``visible``."""
    check_images(fused=fused, ir=ir, visible=visible)
    return (fused - torch.maximum(ir, visible)).abs().mean()
