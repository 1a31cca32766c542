"""Source fidelity: the two-source mean squared error that the PSNR metric of fusion scores.

L_fid = (mean (F - IR)^2 + mean (F - VIS)^2) / 2. Its minimum is average fusion; weighted
against the intensity and gradient terms it keeps the fused image within a PSNR budget
while those pull it towards the stronger source.
"""

from __future__ import annotations

import torch

from tsjnet_ros.core.model.losses._checks import check_images


def fidelity_loss(fused: torch.Tensor, ir: torch.Tensor, visible: torch.Tensor) -> torch.Tensor:
    """Mean of the squared errors against each source; images (B, 1, H, W) in [0, 1]."""
    check_images(fused=fused, ir=ir, visible=visible)
    return 0.5 * (((fused - ir) ** 2).mean() + ((fused - visible) ** 2).mean())
