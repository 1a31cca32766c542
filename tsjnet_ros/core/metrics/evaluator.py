"""Scoring one method over many pairs: fusion metrics per pair, detection mAP, segmentation mIoU.

``tsjnet-eval`` (folders of pairs), ``tsjnet-bag evaluate`` (a bag's synchronised pairs) and
training validation all feed their pairs to a :class:`PairEvaluator`, so the three report
figures computed the same way: the fusion metrics of :func:`evaluate_fusion` per pair (means
skip NaN, :func:`mean_skipping_nan`), COCO-style mAP (:func:`evaluate_detections`) over all
pairs with boxes, and mIoU from one confusion matrix over all pairs with class maps.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np

from tsjnet_ros.core.metrics.detection import (
    DetectionReport,
    ImageAnnotations,
    ImageDetections,
    evaluate_detections,
)
from tsjnet_ros.core.metrics.fusion_suite import evaluate_fusion
from tsjnet_ros.core.metrics.image_input import ir_to_uint8
from tsjnet_ros.core.metrics.segmentation import SegmentationScore


def mean_skipping_nan(values: Sequence[float | None]) -> float:
    """Return the mean of ``values`` without None and NaN (inf is kept: PSNR of a perfect copy).

    NaN when nothing is left.
    """
    data = np.array([v for v in values if v is not None], float)
    data = data[~np.isnan(data)]
    return float(np.mean(data)) if data.size else float('nan')


def luminance_inputs(ir: np.ndarray, visible: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the fusion metrics' inputs (ir, visible) from camera images.

    IR as the backends read it in 8 bit (:func:`ir_to_uint8`), visible as BT.601 luma
    (HxWx3 RGB) or as it is (HxW).
    """
    luma = cv2.cvtColor(visible, cv2.COLOR_RGB2GRAY) if visible.ndim == 3 else visible
    return ir_to_uint8(ir), luma


class PairEvaluator:
    """Accumulates one method's scores pair by pair, then reports.

    ``metric_names``: fusion metrics per pair (empty: none) under ``convention``;
    ``segmentation_classes`` and ``ignore_index``: the ground truth's class table for mIoU.
    """

    def __init__(
        self,
        metric_names: Sequence[str] = (),
        convention: str = 'default',
        segmentation_classes: Sequence[str] = (),
        ignore_index: int | None = 255,
    ) -> None:
        self.metric_names = list(metric_names)
        self.convention = convention
        self.fusion_scores: list[dict[str, float]] = []
        self.predictions: list[ImageDetections] = []
        self.truths: list[ImageAnnotations] = []
        self.segmentation = SegmentationScore(
            len(segmentation_classes), list(segmentation_classes), ignore_index
        )
        self.segmentation_pairs = 0

    def add_fusion(
        self, ir: np.ndarray, visible: np.ndarray, fused: np.ndarray
    ) -> dict[str, float]:
        """Score one pair with the fusion metrics, keep the scores and return them.

        Inputs are 8-bit or 0..255 luminance arrays (see :func:`luminance_inputs`); the kept
        scores feed :meth:`fusion_means`.
        """
        scores = (
            evaluate_fusion(ir, visible, fused, self.metric_names, self.convention)
            if self.metric_names
            else {}
        )
        self.fusion_scores.append(scores)
        return scores

    def add_detections(self, predictions: ImageDetections, truth: ImageAnnotations) -> None:
        """One pair's detections and ground-truth boxes, class ids in one table."""
        self.predictions.append(predictions)
        self.truths.append(truth)

    def add_segmentation(self, prediction: np.ndarray, target: np.ndarray) -> None:
        """One pair's predicted and ground-truth class maps (HxW ids in the ground truth's table).

        Raises ValueError/TypeError (from :func:`confusion_matrix`) for ids outside the table.
        """
        self.segmentation.update(prediction, target)
        self.segmentation_pairs += 1

    def fusion_means(self) -> dict[str, float]:
        """Mean of each fusion metric over the pairs added."""
        names = dict.fromkeys(k for scores in self.fusion_scores for k in scores)
        return {k: mean_skipping_nan([s.get(k) for s in self.fusion_scores]) for k in names}

    def detection_report(
        self, class_names: Sequence[str], **options: Any
    ) -> DetectionReport | None:
        """Return :func:`evaluate_detections` over every pair with boxes; None without any.

        ``options`` are passed on.
        """
        if not self.truths:
            return None
        return evaluate_detections(self.predictions, self.truths, list(class_names), **options)

    def highest_class_id(self) -> int:
        """Return the largest class id among predictions and ground truth (-1 without any)."""
        ids = [int(a.labels.max()) for a in [*self.truths, *self.predictions] if a.labels.size]
        return max(ids, default=-1)

    def segmentation_report(self) -> dict | None:
        """mIoU, pixel accuracy and per-class IoU; None when no class map was added."""
        return self.segmentation.as_dict() if self.segmentation_pairs else None
