"""A fusion backend whose detections and segmentation come from models run on its fused image.

Wraps any :class:`~tsjnet_ros.core.fusion.backend.FusionBackend` (TSJNet, classical, or
a single camera): the wrapped backend fuses, then the detector and/or the segmenter
replace its own detections and class map. With a single-camera backend the same models
score IR-only or visible-only input, the comparison the TSJNet paper makes.
"""

from __future__ import annotations

import time
from typing import Any, Protocol

import numpy as np

from tsjnet_ros.core.fusion.backend import FusionBackend
from tsjnet_ros.core.types.detection import Detection
from tsjnet_ros.core.types.fusion_result import FusionResult


class ImageDetector(Protocol):
    name: str
    class_names: list[str]

    def detect(self, image: np.ndarray) -> list[Detection]: ...


class ImageSegmenter(Protocol):
    name: str
    class_names: list[str]

    def segment(self, image: np.ndarray) -> np.ndarray: ...


class FusedImageModels:
    """``fusion`` followed by ``detector`` and/or ``segmenter`` on its fused colour image.

    Implements the FusionBackend interface; ``timings`` gain ``detector_ms`` and
    ``segmenter_ms``. ``pipeline`` is the wrapped backend's (TSJNet thresholds stay live).
    """

    def __init__(
        self,
        fusion: FusionBackend,
        detector: ImageDetector | None = None,
        segmenter: ImageSegmenter | None = None,
    ) -> None:
        self.fusion = fusion
        self.detector = detector
        self.segmenter = segmenter
        parts = [fusion.name] + [m.name for m in (detector, segmenter) if m is not None]
        self.name = '+'.join(parts)
        self.detection_classes = list(
            detector.class_names if detector else fusion.detection_classes
        )
        self.segmentation_classes = list(
            segmenter.class_names if segmenter else fusion.segmentation_classes
        )
        self.pipeline: Any = getattr(fusion, 'pipeline', None)

    def fuse(self, ir: np.ndarray, visible: np.ndarray) -> FusionResult:
        result = self.fusion.fuse(ir, visible)
        timings = dict(result.timings)
        if self.detector is not None:
            start = time.perf_counter()
            result.detections = self.detector.detect(result.fused_color)
            timings['detector_ms'] = (time.perf_counter() - start) * 1000.0
        if self.segmenter is not None:
            start = time.perf_counter()
            result.segmentation = self.segmenter.segment(result.fused_color)
            timings['segmenter_ms'] = (time.perf_counter() - start) * 1000.0
        result.timings = timings
        return result
