"""Raw detector outputs (one image) -> boxes, scores and labels in network-input pixels.

YOLOv5 ``[N, 5 + C]``: score = objectness x best class score; YOLOv8/11 ``[4 + C, N]``:
score = best class score (both as in the Ultralytics post-processing, one label per
candidate). Then boxes that are empty, inverted or not finite are dropped, the score threshold
applied, the ``pre_nms_top_k`` best kept, class-wise NMS
(torchvision ``batched_nms``) and the ``max_detections`` best. NMS-ed outputs are only
thresholded and cut to ``max_detections`` (their NMS ran inside the model).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torchvision.ops import batched_nms, box_convert

from tsjnet_ros.core.model.postprocess import DecodedDetections
from tsjnet_ros.core.perception.detection_layouts import DetectionLayout

PRE_NMS_TOP_K = 1000


def _select(
    boxes: torch.Tensor,
    scores: torch.Tensor,
    labels: torch.Tensor,
    score_threshold: float,
    nms_iou: float | None,
    max_detections: int,
    pre_nms_top_k: int = PRE_NMS_TOP_K,
) -> DecodedDetections:
    valid = (
        torch.isfinite(boxes).all(dim=1)
        & (boxes[:, 2] > boxes[:, 0])
        & (boxes[:, 3] > boxes[:, 1])
    )
    keep = torch.nonzero((scores > score_threshold) & valid).squeeze(1)
    if keep.numel() > pre_nms_top_k:
        keep = keep[scores[keep].topk(pre_nms_top_k).indices]
    boxes, scores, labels = boxes[keep], scores[keep], labels[keep]
    if nms_iou is not None:
        order = batched_nms(boxes, scores, labels, nms_iou)
    else:
        order = torch.argsort(scores, descending=True, stable=True)
    order = order[:max_detections]
    return DecodedDetections(boxes[order], scores[order], labels[order])


def _as_rows(prediction: np.ndarray, layout: str) -> torch.Tensor:
    """(N, attributes) float32 rows of a YOLO prediction with or without its batch axis."""
    array = np.asarray(prediction)
    if array.ndim == 3:
        if array.shape[0] != 1:
            raise ValueError(
                f'expected a batch of one image, got output shape {list(array.shape)}'
            )
        array = array[0]
    if array.ndim != 2:
        raise ValueError(
            f'{layout} output must be 2-D after the batch axis, '
            f'got shape {list(np.shape(prediction))}'
        )
    rows = array if layout == 'yolov5' else array.T
    return torch.from_numpy(np.ascontiguousarray(rows, dtype=np.float32))


def decode_yolo(
    prediction: np.ndarray,
    layout: str,
    score_threshold: float,
    nms_iou: float,
    max_detections: int,
) -> DecodedDetections:
    """``layout`` ``yolov5`` ([1, N, 5+C]) or ``yolov8`` ([1, 4+C, N]); boxes x1y1x2y2."""
    rows = _as_rows(prediction, layout)
    if layout == 'yolov5':
        class_scores = rows[:, 5:] * rows[:, 4:5]
    elif layout == 'yolov8':
        class_scores = rows[:, 4:]
    else:
        raise ValueError(f'not a YOLO layout: {layout!r}')
    if class_scores.shape[1] == 0:
        raise ValueError(
            f'{layout} output has no class columns (shape {list(np.shape(prediction))})'
        )
    scores, labels = class_scores.max(dim=1)
    boxes = box_convert(rows[:, :4], 'cxcywh', 'xyxy')
    return _select(boxes, scores, labels, score_threshold, nms_iou, max_detections)


def decode_nms(
    boxes: np.ndarray,
    scores: np.ndarray,
    labels: np.ndarray,
    score_threshold: float,
    max_detections: int,
    count: np.ndarray | None = None,
) -> DecodedDetections:
    """Decode the outputs of a detector with NMS built in.

    Already suppressed ``boxes`` ([1,] K, 4) x1y1x2y2, ``scores`` / ``labels`` ([1,] K);
    ``count`` (num_dets) keeps the first ``count`` rows of padded outputs.
    """
    b = torch.from_numpy(np.asarray(boxes, np.float32).reshape(-1, 4))
    s = torch.from_numpy(np.asarray(scores, np.float32).reshape(-1))
    labels = np.asarray(labels).reshape(-1)
    if len(b) != len(s) or len(s) != len(labels):
        raise ValueError(
            f'NMS outputs disagree: {len(b)} boxes, {len(s)} scores, {len(labels)} labels'
        )
    if count is not None:
        n = int(np.asarray(count).reshape(-1)[0])
        b, s, labels = b[:n], s[:n], labels[:n]
    label_ids = torch.from_numpy(
        np.rint(labels).astype(np.int64) if labels.dtype.kind == 'f' else labels.astype(np.int64)
    )
    return _select(b, s, label_ids, score_threshold, None, max_detections)


def decode_outputs(
    outputs: Sequence[np.ndarray],
    layout: DetectionLayout,
    score_threshold: float,
    nms_iou: float,
    max_detections: int,
) -> DecodedDetections:
    """Decode one forward pass's ``outputs`` according to ``layout``."""
    if not 0.0 <= score_threshold <= 1.0:
        raise ValueError(f'score_threshold must be in [0, 1], got {score_threshold}')
    if not 0.0 < nms_iou <= 1.0:
        raise ValueError(f'nms_iou must be in (0, 1], got {nms_iou}')
    if max_detections < 1:
        raise ValueError(f'max_detections must be >= 1, got {max_detections}')
    if layout.name == 'nms':
        o = layout.outputs
        count = outputs[o['count']] if 'count' in o else None
        return decode_nms(
            outputs[o['boxes']],
            outputs[o['scores']],
            outputs[o['labels']],
            score_threshold,
            max_detections,
            count,
        )
    return decode_yolo(
        outputs[layout.outputs['prediction']],
        layout.name,
        score_threshold,
        nms_iou,
        max_detections,
    )
