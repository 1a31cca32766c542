"""The joint objective L_all = L_MFF + L_Det + L_Seg applied to a :class:`SystemOutput`.

L_MFF = intensity + gradient + SSIM + diversity + reconstruction. Terms whose inputs are
missing (no attention maps, no reconstructions, no labels in this batch) are skipped, and
a zero weight skips a term without computing it.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from tsjnet_ros.core.model.heads.system import SystemOutput
from tsjnet_ros.core.model.losses.detection import detection_loss
from tsjnet_ros.core.model.losses.diversity import diversity_loss
from tsjnet_ros.core.model.losses.fidelity import fidelity_loss
from tsjnet_ros.core.model.losses.gradient import gradient_loss
from tsjnet_ros.core.model.losses.intensity import intensity_loss
from tsjnet_ros.core.model.losses.reconstruction import reconstruction_loss
from tsjnet_ros.core.model.losses.segmentation import IGNORE_INDEX, segmentation_loss
from tsjnet_ros.core.model.losses.ssim import ssim_loss
from tsjnet_ros.core.model.losses.weights import LossWeights


class JointLoss(nn.Module):
    """Weighted sum of all terms; returns a dict of weighted terms plus ``total``."""

    def __init__(
        self,
        weights: LossWeights | None = None,
        scale_ranges: tuple[float, ...] = (64.0, 128.0),
        center_radius: float = 1.5,
        ignore_index: int = IGNORE_INDEX,
    ) -> None:
        super().__init__()
        self.weights = weights or LossWeights()
        self.scale_ranges = tuple(scale_ranges)
        self.center_radius = center_radius
        self.ignore_index = ignore_index

    def forward(
        self,
        output: SystemOutput,
        ir: torch.Tensor,
        visible: torch.Tensor,
        segmentation_labels: torch.Tensor | None = None,
        detection_targets: Sequence[dict[str, torch.Tensor]] | None = None,
    ) -> dict[str, torch.Tensor]:
        w = self.weights
        fusion = output.fusion
        fused = fusion.fused.float()
        ir = ir.float()
        visible = visible.float()
        terms: dict[str, torch.Tensor] = {}
        if w.intensity:
            terms['intensity'] = w.intensity * intensity_loss(fused, ir, visible)
        if w.gradient:
            terms['gradient'] = w.gradient * gradient_loss(fused, ir, visible)
        if w.ssim:
            terms['ssim'] = w.ssim * ssim_loss(fused, ir, visible)
        if w.fidelity:
            terms['fidelity'] = w.fidelity * fidelity_loss(fused, ir, visible)
        attention = getattr(fusion, 'attention_maps', None)
        if w.diversity and attention is not None:
            terms['diversity'] = w.diversity * diversity_loss(attention.float())
        ir_hat = getattr(fusion, 'ir_reconstruction', None)
        vis_hat = getattr(fusion, 'visible_reconstruction', None)
        if (w.reconstruction_ir or w.reconstruction_visible) and (
            ir_hat is not None or vis_hat is not None
        ):
            terms['reconstruction'] = reconstruction_loss(
                ir,
                visible,
                None if ir_hat is None else ir_hat.float(),
                None if vis_hat is None else vis_hat.float(),
                ir_weight=w.reconstruction_ir,
                visible_weight=w.reconstruction_visible,
            )
        if w.segmentation and segmentation_labels is not None:
            if output.segmentation_logits is None:
                raise ValueError('segmentation labels given but the system ran without its heads')
            terms['segmentation'] = w.segmentation * segmentation_loss(
                output.segmentation_logits, segmentation_labels, self.ignore_index
            )
        if w.detection and detection_targets is not None:
            if output.detection is None:
                raise ValueError('detection targets given but the system ran without its heads')
            det = detection_loss(
                output.detection, detection_targets, self.scale_ranges, self.center_radius
            )
            terms['detection'] = w.detection * det['total']
        if not terms:
            raise ValueError('every loss term is disabled or lacks its inputs')
        terms['total'] = torch.stack(list(terms.values())).sum()
        return terms
