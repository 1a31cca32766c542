"""The joint TSJNet system: a fusion network plus task heads judging its fused image.

This is what training optimises (fusion loss + detection + segmentation losses, the
paper's L_all) and what a checkpoint stores.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from tsjnet_ros.core.model.heads.config import HeadsConfig
from tsjnet_ros.core.model.heads.detection import DetectionHeadOutput
from tsjnet_ros.core.model.heads.task_heads import TaskHeads


@dataclass
class SystemOutput:
    """System output: the fusion network's output and the task heads' outputs.

    ``fusion`` is the fusion network's own output (``fused``, ``attention_maps``,
    ``ir_reconstruction``, ``visible_reconstruction``); the task outputs are None when the
    heads were skipped.
    """

    fusion: Any
    segmentation_logits: torch.Tensor | None
    detection: DetectionHeadOutput | None

    @property
    def fused(self) -> torch.Tensor:
        return self.fusion.fused


class TSJNetSystem(nn.Module):
    """Fusion network ``fusion`` followed by :class:`TaskHeads` on the fused image.

    ``fusion`` is built from registry variant ``variant`` with ``fusion_config``.

    ``heads_config=None`` builds a fusion-only system (``heads`` is None, empty class
    tables), e.g. from the authors' checkpoint, which has no task-head weights.
    """

    def __init__(
        self,
        fusion: nn.Module,
        heads_config: HeadsConfig | None,
        variant: str,
        fusion_config: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(fusion, nn.Module):
            raise TypeError(f'fusion must be an nn.Module, got {type(fusion).__name__}')
        self.fusion = fusion
        self.heads = TaskHeads(heads_config) if heads_config is not None else None
        self.variant = str(variant)
        self.fusion_config = dict(fusion_config or {})

    @property
    def heads_config(self) -> HeadsConfig | None:
        return self.heads.config if self.heads is not None else None

    @property
    def detection_classes(self) -> tuple[str, ...]:
        return self.heads.config.detection_classes if self.heads is not None else ()

    @property
    def segmentation_classes(self) -> tuple[str, ...]:
        return self.heads.config.segmentation_classes if self.heads is not None else ()

    def forward(
        self,
        ir: torch.Tensor,
        visible: torch.Tensor,
        run_heads: bool = True,
        reconstruct: bool = False,
    ) -> SystemOutput:
        """Fuse ``ir`` and ``visible`` and run the task heads on the fused image.

        ``ir``, ``visible``: (B, 1, H, W) in [0, 1]. ``run_heads=False`` (or no heads) fuses
        only; ``reconstruct=True`` also asks the fusion net for both reconstructions (training).
        """
        fusion_out = (
            self.fusion(ir, visible, reconstruct=True) if reconstruct else self.fusion(ir, visible)
        )
        if not run_heads or self.heads is None:
            return SystemOutput(fusion_out, None, None)
        heads_out = self.heads(fusion_out.fused)
        return SystemOutput(fusion_out, heads_out.segmentation_logits, heads_out.detection)


# Alias: the same joint module under its generic name.
JointModel = TSJNetSystem
