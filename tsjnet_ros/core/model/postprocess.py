"""Turn raw head outputs into detections and class maps in ORIGINAL camera pixels.

Detections: score = sqrt(sigmoid(class) * sigmoid(centerness)) (FCOS), threshold, top-k,
class-wise NMS (torchvision), then boxes scaled from the network frame to the camera frame
and clipped. Segmentation: logits upsampled to the camera size, argmax, uint8.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torchvision.ops import batched_nms

from tsjnet_ros.core.model.heads.detection import DetectionHeadOutput, distances_to_boxes
from tsjnet_ros.core.types.detection import Detection


@dataclass
class DecodedDetections:
    """Detections of one image: ``boxes`` (K, 4) x1y1x2y2, ``scores`` (K,), ``labels`` (K,)."""

    boxes: torch.Tensor
    scores: torch.Tensor
    labels: torch.Tensor


def decode_detections(
    prediction: DetectionHeadOutput,
    score_threshold: float = 0.3,
    nms_iou: float = 0.6,
    pre_nms_top_k: int = 1000,
    max_detections: int = 100,
    class_agnostic: bool = True,
) -> list[DecodedDetections]:
    """Per-image detections in fused-image pixels (clipped to ``prediction.image_size``).

    ``class_agnostic`` NMS keeps one box per object even when several classes fire on it
    (a car also scored as a person); off, NMS runs per class.
    """
    if not 0.0 <= score_threshold <= 1.0:
        raise ValueError(f'score_threshold must be in [0, 1], got {score_threshold}')
    if not 0.0 < nms_iou <= 1.0:
        raise ValueError(f'nms_iou must be in (0, 1], got {nms_iou}')
    if pre_nms_top_k < 1 or max_detections < 1:
        raise ValueError('pre_nms_top_k and max_detections must be >= 1')
    cls, dist, ctr, points, _ = prediction.flatten()
    num_classes = cls.shape[-1]
    scores = torch.sqrt(torch.sigmoid(cls.float()) * torch.sigmoid(ctr.float())[..., None])
    sx, sy = prediction.scale
    to_image = torch.tensor([sx, sy, sx, sy], device=cls.device, dtype=torch.float32)
    results = []
    for i in range(cls.shape[0]):
        flat = scores[i].reshape(-1)
        keep = torch.nonzero(flat > score_threshold).squeeze(1)
        if keep.numel() > pre_nms_top_k:
            keep = keep[flat[keep].topk(pre_nms_top_k).indices]
        cell = torch.div(keep, num_classes, rounding_mode='floor')
        label = keep % num_classes
        boxes = distances_to_boxes(points[cell], dist[i, cell].float()) * to_image
        if prediction.image_size is not None:
            h, w = prediction.image_size
            boxes[:, 0::2] = boxes[:, 0::2].clamp(0, w)
            boxes[:, 1::2] = boxes[:, 1::2].clamp(0, h)
        score = flat[keep]
        groups = torch.zeros_like(label) if class_agnostic else label
        kept = batched_nms(boxes, score, groups, nms_iou)[:max_detections]
        results.append(DecodedDetections(boxes[kept], score[kept], label[kept]))
    return results


def rescale_boxes(
    boxes: torch.Tensor, from_size: tuple[int, int], to_size: tuple[int, int]
) -> torch.Tensor:
    """Map x1y1x2y2 boxes from an image of (H, W) ``from_size`` to one of ``to_size``, clipped."""
    fh, fw = from_size
    th, tw = to_size
    if min(fh, fw, th, tw) <= 0:
        raise ValueError(f'image sizes must be positive, got {from_size} -> {to_size}')
    factor = boxes.new_tensor([tw / fw, th / fh, tw / fw, th / fh])
    out = boxes * factor
    out[:, 0::2] = out[:, 0::2].clamp(0, tw)
    out[:, 1::2] = out[:, 1::2].clamp(0, th)
    return out


def to_detection_list(
    decoded: DecodedDetections,
    class_names: Sequence[str],
    from_size: tuple[int, int],
    to_size: tuple[int, int],
) -> list[Detection]:
    """Return detections with class names and boxes in ``to_size`` (original camera) pixels."""
    boxes = rescale_boxes(decoded.boxes.float(), from_size, to_size).cpu().tolist()
    scores = decoded.scores.float().cpu().tolist()
    labels = decoded.labels.cpu().tolist()
    if labels and max(labels) >= len(class_names):
        raise ValueError(f'class id {max(labels)} has no name in a table of {len(class_names)}')
    return [
        Detection(
            class_id=int(c),
            class_name=class_names[c],
            score=float(s),
            box_xyxy=tuple(float(v) for v in b),
        )
        for b, s, c in zip(boxes, scores, labels)
    ]


def segmentation_class_map(logits: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(B, C, h, w) logits -> (B, H, W) uint8 class ids at ``size`` (bilinear logits, argmax).

    On CPU the same bilinear resize runs through OpenCV and the argmax as a running
    maximum over channels: identical result, several times faster than torch on CPU.
    """
    if logits.ndim != 4:
        raise ValueError(f'segmentation logits must be (B, C, h, w), got {tuple(logits.shape)}')
    if logits.shape[1] > 256:
        raise ValueError(f'{logits.shape[1]} classes do not fit a uint8 class map')
    size = (int(size[0]), int(size[1]))
    if logits.device.type == 'cpu' and logits.shape[1] <= 512:  # OpenCV's channel limit
        maps = [
            _class_map_cpu(x.float().permute(1, 2, 0).contiguous().numpy(), size) for x in logits
        ]
        return torch.from_numpy(np.stack(maps))
    if tuple(logits.shape[-2:]) != size:
        logits = F.interpolate(logits.float(), size=size, mode='bilinear', align_corners=False)
    return logits.argmax(dim=1).to(torch.uint8)


def _class_map_cpu(logits_hwc: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bilinear resize (half-pixel centres, like ``align_corners=False``) then first-max argmax."""
    h, w = size
    if logits_hwc.shape[:2] != (h, w):
        logits_hwc = cv2.resize(logits_hwc, (w, h), interpolation=cv2.INTER_LINEAR)
    if logits_hwc.ndim == 2:  # OpenCV drops a single channel axis
        logits_hwc = logits_hwc[..., None]
    best = logits_hwc[..., 0].copy()
    label = np.zeros((h, w), np.uint8)
    for c in range(1, logits_hwc.shape[2]):
        channel = logits_hwc[..., c]
        better = channel > best
        np.copyto(label, np.uint8(c), where=better)
        np.maximum(best, channel, out=best)
    return label
