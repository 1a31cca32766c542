"""What one fused IR/visible pair produces, for every backend (classical or TSJNet)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tsjnet_ros.core.types.detection import Detection


@dataclass
class FusionResult:
    """Everything at the input camera resolution.

    ``fused`` HxW uint8 luminance; ``fused_color`` HxWx3 uint8 RGB (visible chroma under the
    fused luminance; grey for a mono visible camera); ``detections`` in camera pixels, empty
    without a detector; ``segmentation`` HxW uint8 class ids or None without a segmentation
    head; ``timings`` in milliseconds (for a batch: the batch's times, with ``batch_size``).
    """

    fused: np.ndarray
    fused_color: np.ndarray
    detections: list[Detection] = field(default_factory=list)
    segmentation: np.ndarray | None = None
    timings: dict[str, float] = field(default_factory=dict)
