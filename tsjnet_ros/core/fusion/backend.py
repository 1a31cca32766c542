"""The interface every fusion method implements, classical or neural.

The ROS node, the evaluation tool and the bag tools only talk to this interface, so a
classical method and the TSJNet network are interchangeable behind one parameter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from tsjnet_ros.core.types.detection import Detection


@dataclass
class FusionResult:
    """What one fused IR/visible pair produces.

    ``fused`` is HxW uint8 luminance; ``fused_color`` HxWx3 uint8 RGB (visible chroma with
    the fused luminance); ``segmentation`` HxW uint8 class ids or None when the method has
    no segmentation head; ``detections`` empty when it has no detector.
    """

    fused: np.ndarray
    fused_color: np.ndarray
    detections: list[Detection] = field(default_factory=list)
    segmentation: np.ndarray | None = None
    timings: dict[str, float] = field(default_factory=dict)


@runtime_checkable
class FusionBackend(Protocol):
    """Fuses one registered IR/visible pair of equal size.

    ``ir`` is HxW uint8, uint16 or float32 (scaled by its value range); ``visible`` is HxW
    uint8 or HxWx3 uint8 RGB.
    """

    name: str
    detection_classes: list[str]
    segmentation_classes: list[str]

    def fuse(self, ir: np.ndarray, visible: np.ndarray) -> FusionResult: ...
