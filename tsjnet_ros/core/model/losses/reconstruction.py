"""Reconstruction loss: the encoder must keep enough of each source to rebuild it.

L_rec = w_vis * MSE(VIS, VIS_hat) + w_ir * MSE(IR, IR_hat); the reference weights are 6
and 1. A fusion network without reconstruction outputs contributes zero.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from tsjnet_ros.core.model.losses._checks import check_images


def reconstruction_loss(
    ir: torch.Tensor,
    visible: torch.Tensor,
    ir_reconstruction: torch.Tensor | None,
    visible_reconstruction: torch.Tensor | None,
    ir_weight: float = 1.0,
    visible_weight: float = 6.0,
) -> torch.Tensor:
    """Weighted MSE of each available reconstruction to its source."""
    check_images(ir=ir, visible=visible)
    total = ir.new_zeros(())
    if visible_reconstruction is not None:
        check_images(visible=visible, visible_reconstruction=visible_reconstruction)
        total = total + visible_weight * F.mse_loss(visible_reconstruction, visible)
    if ir_reconstruction is not None:
        check_images(ir=ir, ir_reconstruction=ir_reconstruction)
        total = total + ir_weight * F.mse_loss(ir_reconstruction, ir)
    return total
