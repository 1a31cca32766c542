"""One registered IR/visible pair with whatever annotations its dataset provides."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class Sample:
    """An IR/visible pair as numpy arrays.

    ``ir``: HxW uint8 (or uint16 for 16-bit cameras). ``visible``: HxWx3 uint8 RGB.
    ``boxes``: (N, 4) float32 x1, y1, x2, y2 in pixels and ``labels``: (N,) int64 indices
    into ``class_names``; both None when the dataset has no box annotations, empty when it
    has them but this image shows no object. ``difficult``: (N,) bool VOC "difficult" flags
    (all False for YOLO labels). ``segmentation``: HxW uint8 class map or None.
    """

    name: str
    ir: np.ndarray
    visible: np.ndarray
    boxes: np.ndarray | None = None
    labels: np.ndarray | None = None
    class_names: list[str] = field(default_factory=list)
    segmentation: np.ndarray | None = None
    difficult: np.ndarray | None = None
    ir_path: Path | None = None
    visible_path: Path | None = None

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        return self.ir.shape[1], self.ir.shape[0]
