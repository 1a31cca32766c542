"""Object-detection metrics: per-class average precision, mAP@0.5 and mAP@0.5:0.95.

Protocol
--------
* Detections of one class are ranked by descending score over the whole dataset (stable
  order for ties) and matched greedily, image by image, to ground-truth boxes of that class.
* ``matching="coco"`` (default): a detection takes the unmatched ground-truth box with the
  highest IoU >= threshold, preferring boxes that are not ignored; in crowded scenes a
  detection therefore falls back to a neighbouring, still free object.
  ``matching="voc"``: a detection takes the ground-truth box with the highest IoU overall;
  if that box is already taken the detection is a false positive (PASCAL VOC devkit).
* A detection matched to an ignored ("difficult") box counts neither as TP nor FP; ignored
  boxes do not count towards the number of positives. Duplicates are false positives.
* ``interpolation``: ``"coco101"`` (default) averages the interpolated precision at the 101
  recall points 0, 0.01, ..., 1; ``"voc"`` is the area under the interpolated
  precision/recall curve (VOC 2010+ "all points"); ``"voc11"`` averages the interpolated
  precision at recall 0, 0.1, ..., 1 (VOC 2007).
* A class without ground truth has AP NaN and is left out of the mean; if no class has
  ground truth, mAP is NaN.
* IoU uses continuous coordinates: area = (x2 - x1) * (y2 - y1), no "+1".
* Precision and recall per class are reported at IoU 0.5 for the detections scoring at
  least ``score_threshold``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

INTERPOLATIONS = ('coco101', 'voc', 'voc11')
MATCHINGS = ('coco', 'voc')
COCO_IOU_THRESHOLDS = tuple(np.round(np.linspace(0.5, 0.95, 10), 2).tolist())


@dataclass
class ImageDetections:
    """Predicted boxes of one image: (N, 4) xyxy pixels, (N,) scores, (N,) class ids."""

    boxes: np.ndarray
    scores: np.ndarray
    labels: np.ndarray

    def __post_init__(self) -> None:
        self.boxes = _as_boxes(self.boxes, 'detection boxes')
        self.scores = np.asarray(self.scores, dtype=np.float64).reshape(-1)
        self.labels = _as_labels(self.labels, 'detection labels')
        if not len(self.boxes) == len(self.scores) == len(self.labels):
            raise ValueError(
                f'detections need equally many boxes ({len(self.boxes)}), scores '
                f'({len(self.scores)}) and labels ({len(self.labels)})'
            )
        if not np.all(np.isfinite(self.scores)):
            raise ValueError('detection scores must be finite')


@dataclass
class ImageAnnotations:
    """Ground truth of one image: (M, 4) xyxy pixels, (M,) class ids, optional (M,) ignore."""

    boxes: np.ndarray
    labels: np.ndarray
    ignore: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.boxes = _as_boxes(self.boxes, 'ground-truth boxes')
        self.labels = _as_labels(self.labels, 'ground-truth labels')
        if len(self.boxes) != len(self.labels):
            raise ValueError(
                f'ground truth needs equally many boxes ({len(self.boxes)}) and labels '
                f'({len(self.labels)})'
            )
        if self.ignore is None:
            self.ignore = np.zeros(len(self.boxes), dtype=bool)
        else:
            self.ignore = np.asarray(self.ignore, dtype=bool).reshape(-1)
            if len(self.ignore) != len(self.boxes):
                raise ValueError('ignore flags must have one entry per ground-truth box')


@dataclass
class ClassResult:
    """Per-class figures: AP per IoU threshold, and precision/recall at IoU 0.5."""

    name: str
    num_ground_truth: int
    num_detections: int
    ap: dict[float, float]
    precision: float
    recall: float
    recall_curve: np.ndarray = field(repr=False)
    precision_curve: np.ndarray = field(repr=False)

    @property
    def ap50(self) -> float:
        return self.ap.get(0.5, float('nan'))

    @property
    def ap50_95(self) -> float:
        values = [v for t, v in self.ap.items() if t in COCO_IOU_THRESHOLDS]
        return float(np.mean(values)) if len(values) == len(COCO_IOU_THRESHOLDS) else float('nan')


@dataclass
class DetectionReport:
    """Dataset-level detection figures."""

    per_class: list[ClassResult]
    iou_thresholds: tuple[float, ...]
    interpolation: str
    matching: str

    def map_at(self, threshold: float) -> float:
        """Mean AP over classes with ground truth at one IoU threshold (NaN if none)."""
        values = [c.ap[threshold] for c in self.per_class if c.num_ground_truth > 0]
        return float(np.mean(values)) if values else float('nan')

    @property
    def map50(self) -> float:
        return self.map_at(0.5) if 0.5 in self.iou_thresholds else float('nan')

    @property
    def map50_95(self) -> float:
        """Mean over the 10 COCO thresholds 0.5:0.05:0.95 (NaN unless all were evaluated)."""
        if not all(t in self.iou_thresholds for t in COCO_IOU_THRESHOLDS):
            return float('nan')
        return float(np.mean([self.map_at(t) for t in COCO_IOU_THRESHOLDS]))

    def as_dict(self) -> dict:
        return {
            'mAP50': self.map50,
            'mAP50_95': self.map50_95,
            'interpolation': self.interpolation,
            'matching': self.matching,
            'per_class': {
                c.name: {
                    'AP50': c.ap50,
                    'AP50_95': c.ap50_95,
                    'precision': c.precision,
                    'recall': c.recall,
                    'ground_truth': c.num_ground_truth,
                    'detections': c.num_detections,
                }
                for c in self.per_class
            },
        }


def _as_boxes(boxes: np.ndarray, what: str) -> np.ndarray:
    arr = np.asarray(boxes, dtype=np.float64)
    if arr.size == 0:
        return np.zeros((0, 4))
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise ValueError(f'{what} must have shape (N, 4) as x1, y1, x2, y2; got {arr.shape}')
    if not np.all(np.isfinite(arr)):
        raise ValueError(f'{what} must be finite')
    if np.any(arr[:, 2] < arr[:, 0]) or np.any(arr[:, 3] < arr[:, 1]):
        raise ValueError(f'{what} must be x1, y1, x2, y2 with x2 >= x1 and y2 >= y1')
    return arr


def _as_labels(labels: np.ndarray, what: str) -> np.ndarray:
    arr = np.asarray(labels).reshape(-1)
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        if not np.all(arr == np.round(arr)):
            raise ValueError(f'{what} must be integer class ids')
    arr = arr.astype(np.int64)
    if np.any(arr < 0):
        raise ValueError(f'{what} must be non-negative class ids')
    return arr


def box_iou(boxes_a: np.ndarray, boxes_b: np.ndarray) -> np.ndarray:
    """Pairwise IoU matrix (len(a), len(b)) of xyxy boxes; 0 where the union is empty."""
    a = _as_boxes(boxes_a, 'boxes_a')
    b = _as_boxes(boxes_b, 'boxes_b')
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def match_image(
    iou: np.ndarray, gt_ignore: np.ndarray, threshold: float, matching: str = 'coco'
) -> np.ndarray:
    """Match detections (rows of ``iou``, already in descending score order) to ground truth.

    Returns one status per detection: 1 true positive, 0 false positive, -1 ignored.
    """
    num_det, num_gt = iou.shape
    status = np.zeros(num_det, dtype=np.int8)
    if num_gt == 0:
        return status
    taken = np.zeros(num_gt, dtype=bool)
    for d in range(num_det):  # greedy matching is sequential by definition (one per detection)
        row = iou[d]
        if matching == 'voc':
            g = int(np.argmax(row))
            if row[g] < threshold:
                continue
            if gt_ignore[g]:
                status[d] = -1
            elif not taken[g]:
                taken[g] = True
                status[d] = 1
            continue
        free = (~taken) & (row >= threshold)
        for prefer_ignored in (False, True):
            candidates = free & (gt_ignore == prefer_ignored)
            if candidates.any():
                g = int(np.argmax(np.where(candidates, row, -1.0)))
                if prefer_ignored:
                    status[d] = -1  # an ignored box may absorb several detections
                else:
                    taken[g] = True
                    status[d] = 1
                break
    return status


def average_precision(
    recall: np.ndarray, precision: np.ndarray, interpolation: str = 'coco101'
) -> float:
    """AP from a precision/recall curve ordered by descending score."""
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f'interpolation must be one of {INTERPOLATIONS}, got {interpolation!r}')
    recall = np.asarray(recall, dtype=np.float64)
    precision = np.asarray(precision, dtype=np.float64)
    if recall.size == 0:
        return 0.0
    # Interpolated precision: the best precision at this or any higher recall.
    envelope = np.maximum.accumulate(precision[::-1])[::-1]
    if interpolation == 'voc':
        r = np.concatenate([[0.0], recall])
        return float(np.sum((r[1:] - r[:-1]) * envelope))
    points = np.linspace(0.0, 1.0, 101 if interpolation == 'coco101' else 11)
    index = np.searchsorted(recall, points, side='left')
    sampled = np.where(index < recall.size, envelope[np.minimum(index, recall.size - 1)], 0.0)
    return float(np.mean(sampled))


def evaluate_detections(
    predictions: Sequence[ImageDetections],
    ground_truth: Sequence[ImageAnnotations],
    class_names: Sequence[str],
    iou_thresholds: Iterable[float] = COCO_IOU_THRESHOLDS,
    interpolation: str = 'coco101',
    matching: str = 'coco',
    score_threshold: float = 0.0,
    max_detections_per_image: int | None = None,
) -> DetectionReport:
    """Per-class AP at each IoU threshold plus precision/recall, over a set of images."""
    if len(predictions) != len(ground_truth):
        raise ValueError(
            f'need one prediction entry per image: {len(predictions)} predictions vs '
            f'{len(ground_truth)} ground-truth entries'
        )
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f'interpolation must be one of {INTERPOLATIONS}, got {interpolation!r}')
    if matching not in MATCHINGS:
        raise ValueError(f'matching must be one of {MATCHINGS}, got {matching!r}')
    thresholds = tuple(round(float(t), 4) for t in iou_thresholds)
    if not thresholds or any(not 0.0 < t <= 1.0 for t in thresholds):
        raise ValueError(f'IoU thresholds must lie in (0, 1], got {thresholds}')
    if 0.5 not in thresholds:
        thresholds = (0.5,) + thresholds
    num_classes = len(class_names)
    for kind, items in (('prediction', predictions), ('ground-truth', ground_truth)):
        for item in items:
            if item.labels.size and item.labels.max() >= num_classes:
                raise ValueError(
                    f'{kind} class id {int(item.labels.max())} is outside the '
                    f'{num_classes} class names'
                )

    per_class = []
    for cls, name in enumerate(class_names):
        scores_all, status_all = [], {t: [] for t in thresholds}
        num_gt = 0
        for pred, gt in zip(predictions, ground_truth):
            det_mask = pred.labels == cls
            det_boxes, det_scores = pred.boxes[det_mask], pred.scores[det_mask]
            order = np.argsort(-det_scores, kind='stable')
            if max_detections_per_image is not None:
                order = order[:max_detections_per_image]
            det_boxes, det_scores = det_boxes[order], det_scores[order]
            gt_mask = gt.labels == cls
            gt_boxes, gt_ignore = gt.boxes[gt_mask], gt.ignore[gt_mask]
            num_gt += int(np.sum(~gt_ignore))
            iou = box_iou(det_boxes, gt_boxes)
            scores_all.append(det_scores)
            for t in thresholds:
                status_all[t].append(match_image(iou, gt_ignore, t, matching))
        scores = np.concatenate(scores_all) if scores_all else np.zeros(0)
        order = np.argsort(-scores, kind='stable')
        ap: dict[float, float] = {}
        curves = {}
        for t in thresholds:
            status = np.concatenate(status_all[t])[order] if scores.size else np.zeros(0, np.int8)
            kept = status >= 0
            tp = np.cumsum(status[kept] == 1)
            fp = np.cumsum(status[kept] == 0)
            if num_gt == 0:
                ap[t] = float('nan')
                curves[t] = (np.zeros(0), np.zeros(0))
                continue
            recall = tp / num_gt
            precision = tp / np.maximum(tp + fp, 1)
            ap[t] = average_precision(recall, precision, interpolation)
            curves[t] = (recall, precision)
        status50 = np.concatenate(status_all[0.5])[order] if scores.size else np.zeros(0, np.int8)
        selected = (scores[order] >= score_threshold) & (status50 >= 0)
        tp50 = int(np.sum(status50[selected] == 1))
        fp50 = int(np.sum(status50[selected] == 0))
        per_class.append(
            ClassResult(
                name=str(name),
                num_ground_truth=num_gt,
                num_detections=int(scores.size),
                ap=ap,
                precision=tp50 / (tp50 + fp50) if tp50 + fp50 else float('nan'),
                recall=tp50 / num_gt if num_gt else float('nan'),
                recall_curve=curves[0.5][0],
                precision_curve=curves[0.5][1],
            )
        )
    return DetectionReport(per_class, thresholds, interpolation, matching)
