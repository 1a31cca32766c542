"""Semantic-segmentation metrics from a confusion matrix: per-class IoU, mIoU, pixel accuracy.

The confusion matrix has ground-truth classes as rows and predicted classes as columns.
Pixels whose ground truth equals ``ignore_index`` are skipped. IoU_c = TP / (TP + FP + FN);
a class that appears neither in the ground truth nor in the predictions has IoU NaN and is
left out of mIoU (the mean over the classes that occur).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def confusion_matrix(
    prediction: np.ndarray, target: np.ndarray, num_classes: int, ignore_index: int | None = 255
) -> np.ndarray:
    """(num_classes, num_classes) int64 counts; rows ground truth, columns prediction."""
    if num_classes < 1:
        raise ValueError(f'num_classes must be >= 1, got {num_classes}')
    prediction = np.asarray(prediction)
    target = np.asarray(target)
    if prediction.shape != target.shape:
        raise ValueError(
            f'prediction {prediction.shape} and target {target.shape} differ in shape'
        )
    for what, arr in (('prediction', prediction), ('target', target)):
        if not np.issubdtype(arr.dtype, np.integer):
            raise TypeError(f'{what} must hold integer class ids, got {arr.dtype}')
    target = target.ravel().astype(np.int64)
    prediction = prediction.ravel().astype(np.int64)
    if ignore_index is not None:
        keep = target != ignore_index
        target, prediction = target[keep], prediction[keep]
    if target.size and (target.min() < 0 or target.max() >= num_classes):
        raise ValueError(
            f'target class ids must be in [0, {num_classes}) or the ignore index {ignore_index}'
        )
    if prediction.size and (prediction.min() < 0 or prediction.max() >= num_classes):
        raise ValueError(f'predicted class ids must be in [0, {num_classes})')
    counts = np.bincount(target * num_classes + prediction, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes)


def iou_per_class(confusion: np.ndarray) -> np.ndarray:
    """IoU for each class; NaN for classes absent from both ground truth and prediction."""
    confusion = np.asarray(confusion, dtype=np.float64)
    if confusion.ndim != 2 or confusion.shape[0] != confusion.shape[1]:
        raise ValueError(f'confusion matrix must be square, got shape {confusion.shape}')
    tp = np.diag(confusion)
    union = confusion.sum(axis=0) + confusion.sum(axis=1) - tp
    return np.divide(tp, union, out=np.full_like(tp, np.nan), where=union > 0)


def mean_iou(confusion: np.ndarray) -> float:
    """MIoU over the classes that occur (NaN if the matrix is empty)."""
    iou = iou_per_class(confusion)
    return float(np.nanmean(iou)) if np.any(~np.isnan(iou)) else float('nan')


def pixel_accuracy(confusion: np.ndarray) -> float:
    """Fraction of counted pixels labelled correctly (NaN if none were counted)."""
    confusion = np.asarray(confusion, dtype=np.float64)
    total = confusion.sum()
    return float(np.trace(confusion) / total) if total > 0 else float('nan')


class SegmentationScore:
    """Accumulates a confusion matrix over many images, then reports IoU figures."""

    def __init__(
        self,
        num_classes: int,
        class_names: Sequence[str] | None = None,
        ignore_index: int | None = 255,
    ) -> None:
        if class_names is not None and len(class_names) != num_classes:
            raise ValueError(f'got {len(class_names)} class names for {num_classes} classes')
        self.num_classes = num_classes
        self.class_names = (
            list(class_names) if class_names else [str(i) for i in range(num_classes)]
        )
        self.ignore_index = ignore_index
        self.confusion = np.zeros((num_classes, num_classes), dtype=np.int64)

    def update(self, prediction: np.ndarray, target: np.ndarray) -> None:
        self.confusion += confusion_matrix(prediction, target, self.num_classes, self.ignore_index)

    def as_dict(self) -> dict:
        iou = iou_per_class(self.confusion)
        return {
            'mIoU': mean_iou(self.confusion),
            'pixel_accuracy': pixel_accuracy(self.confusion),
            'per_class_IoU': {n: float(v) for n, v in zip(self.class_names, iou)},
        }
