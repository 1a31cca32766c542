"""Backend detections (:class:`~tsjnet_ros.core.types.detection.Detection`) as metric input.

Two ways to give detections dataset class indices: by the detector's own class id (the
model and the ground truth share one class table, as in a bag made by this package) or
by class name (a dataset that labels a subset of the detector's classes).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tsjnet_ros.core.metrics.detection import ImageDetections
from tsjnet_ros.core.types.detection import Detection


def _as_image_detections(
    detections: Sequence[Detection], class_ids: Sequence[int]
) -> ImageDetections:
    return ImageDetections(
        np.array([d.box_xyxy for d in detections], dtype=np.float64).reshape(-1, 4),
        np.array([d.score for d in detections], dtype=np.float64),
        np.array(class_ids, dtype=np.int64),
    )


def predictions_by_id(detections: Sequence[Detection]) -> ImageDetections:
    """Keep every detection with its own class id."""
    return _as_image_detections(detections, [d.class_id for d in detections])


def predictions_by_class_name(
    detections: Sequence[Detection], class_names: Sequence[str]
) -> ImageDetections:
    """Look up class ids by name in ``class_names`` (case-insensitive).

    Detections of classes the dataset does not annotate are dropped, as when a detector trained
    on more classes is scored on a dataset labelling a subset.
    """
    lookup = {n.lower(): i for i, n in enumerate(class_names)}
    kept = [d for d in detections if d.class_name.lower() in lookup]
    return _as_image_detections(kept, [lookup[d.class_name.lower()] for d in kept])
