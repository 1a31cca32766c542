"""The interface every fusion method implements, classical or neural.

The ROS node, the evaluation tool and the bag tools only talk to this interface, so a
classical method and the TSJNet network are interchangeable behind one parameter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    from tsjnet_ros.core.types.fusion_result import FusionResult


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
