"""The neural (TSJNet) fusion backend: :class:`FusionPipeline` behind the FusionBackend API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from tsjnet_ros.core.runtime.pipeline import FusionPipeline
from tsjnet_ros.core.types.fusion_result import FusionResult


class NeuralFusionBackend:
    """Fuses with a trained checkpoint and also reports detections and segmentation.

    ``device`` is ``"auto"``, ``"cpu"`` or ``"cuda:N"``; ``precision`` ``"fp32"``,
    ``"bf16"`` or ``"fp16"``; further keyword arguments go to
    :meth:`FusionPipeline.from_checkpoint` (thresholds, warm-up size, ...).
    """

    def __init__(
        self,
        checkpoint: str | Path,
        device: str = 'auto',
        precision: str = 'fp32',
        compile: bool = False,
        **pipeline_kwargs: Any,
    ) -> None:
        self.pipeline = FusionPipeline.from_checkpoint(
            checkpoint, device=device, precision=precision, compile=compile, **pipeline_kwargs
        )
        self.name = self.pipeline.variant
        self.detection_classes = self.pipeline.class_names
        self.segmentation_classes = self.pipeline.segmentation_classes

    def fuse(self, ir: np.ndarray, visible: np.ndarray) -> FusionResult:
        return self.pipeline.process(ir, visible)
