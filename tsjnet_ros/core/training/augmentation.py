"""Pair-consistent augmentation of registered IR/visible training pairs.

Registration must survive augmentation, so the random scale, crop and flip are drawn once
and applied identically to IR, visible, boxes and the segmentation mask. Photometric jitter
(gamma, contrast, brightness, noise) is drawn per modality: the two cameras differ in
exposure, and the fusion must not rely on them sharing one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tsjnet_ros.core.image.resize import resize_image
from tsjnet_ros.core.training.config import AugmentationConfig

IGNORE_LABEL = 255


@dataclass
class AugmentedPair:
    """A crop ready for collation.

    ``ir``/``visible`` HxW float32 in [0, 1], ``boxes`` (N, 4) float32 x1y1x2y2 in crop pixels,
    ``labels`` (N,) int64, ``mask`` HxW uint8 or None.
    """

    ir: np.ndarray
    visible: np.ndarray
    boxes: np.ndarray | None
    labels: np.ndarray | None
    mask: np.ndarray | None


def _pad_to(image: np.ndarray, size: tuple[int, int], value: float) -> np.ndarray:
    pad_h = max(0, size[0] - image.shape[0])
    pad_w = max(0, size[1] - image.shape[1])
    if pad_h == 0 and pad_w == 0:
        return image
    return np.pad(image, ((0, pad_h), (0, pad_w)), mode='constant', constant_values=value)


def jitter_photometric(
    image: np.ndarray, rng: np.random.Generator, config: AugmentationConfig
) -> np.ndarray:
    """Random gamma, contrast, brightness and Gaussian noise on one [0, 1] image."""
    out = np.clip(image, 0.0, 1.0)
    if config.gamma:
        out = out ** np.exp(rng.uniform(-config.gamma, config.gamma))
    if config.contrast:
        mean = float(out.mean())
        out = (out - mean) * rng.uniform(1.0 - config.contrast, 1.0 + config.contrast) + mean
    if config.brightness:
        out = out + rng.uniform(-config.brightness, config.brightness)
    if config.noise_std:
        out = out + rng.normal(0.0, rng.uniform(0.0, config.noise_std), size=out.shape)
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def crop_boxes(
    boxes: np.ndarray,
    labels: np.ndarray,
    window: tuple[float, float, float, float],
    min_visibility: float,
    min_size: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Shift boxes into the crop ``window`` (x0, y0, x1, y1) and clip them.

    Boxes keeping less than ``min_visibility`` of their area or narrower/shorter than
    ``min_size`` are dropped.
    """
    x0, y0, x1, y1 = window
    if boxes.size == 0:
        return boxes.reshape(0, 4).astype(np.float32), labels.reshape(0).astype(np.int64)
    clipped = boxes.copy()
    clipped[:, 0::2] = np.clip(clipped[:, 0::2], x0, x1)
    clipped[:, 1::2] = np.clip(clipped[:, 1::2], y0, y1)
    area = np.maximum(boxes[:, 2] - boxes[:, 0], 0) * np.maximum(boxes[:, 3] - boxes[:, 1], 0)
    w = clipped[:, 2] - clipped[:, 0]
    h = clipped[:, 3] - clipped[:, 1]
    visible = np.where(area > 0, w * h / np.maximum(area, 1e-9), 0.0)
    keep = (visible >= min_visibility) & (w >= min_size) & (h >= min_size)
    shifted = clipped[keep] - np.array([x0, y0, x0, y0], dtype=np.float32)
    return shifted.astype(np.float32), labels[keep].astype(np.int64)


class PairAugmentation:
    """Random scale, crop and flip shared by the pair, then per-modality photometric jitter.

    The crop is ``crop_size`` (H, W), the flip horizontal. ``train=False`` gives a
    deterministic centre crop at scale 1 without jitter.
    """

    def __init__(
        self, config: AugmentationConfig, crop_size: tuple[int, int], train: bool = True
    ) -> None:
        if len(crop_size) != 2 or min(crop_size) < 1:
            raise ValueError(f'crop_size must be (H, W) with positive sides, got {crop_size}')
        self.config = config
        self.crop_size = (int(crop_size[0]), int(crop_size[1]))
        self.train = bool(train)

    def __call__(
        self,
        rng: np.random.Generator,
        ir: np.ndarray,
        visible: np.ndarray,
        boxes: np.ndarray | None = None,
        labels: np.ndarray | None = None,
        mask: np.ndarray | None = None,
    ) -> AugmentedPair:
        if ir.shape != visible.shape or ir.ndim != 2:
            raise ValueError(
                f'ir {ir.shape} and visible {visible.shape} must be equal-size HxW arrays'
            )
        if mask is not None and mask.shape != ir.shape:
            raise ValueError(f'mask {mask.shape} must match the image size {ir.shape}')
        if (boxes is None) != (labels is None):
            raise ValueError('boxes and labels must both be given or both be None')
        cfg = self.config
        ch, cw = self.crop_size
        scale = float(rng.uniform(*cfg.scale)) if self.train else 1.0
        h, w = ir.shape
        size = (max(1, round(h * scale)), max(1, round(w * scale)))
        sy, sx = size[0] / h, size[1] / w
        ir = _pad_to(resize_image(ir, size), self.crop_size, 0.0)
        visible = _pad_to(resize_image(visible, size), self.crop_size, 0.0)
        if mask is not None:
            mask = _pad_to(resize_image(mask, size, 'nearest'), self.crop_size, IGNORE_LABEL)
        H, W = ir.shape
        if self.train:
            y0 = int(rng.integers(0, H - ch + 1))
            x0 = int(rng.integers(0, W - cw + 1))
        else:
            y0, x0 = (H - ch) // 2, (W - cw) // 2
        ir = ir[y0 : y0 + ch, x0 : x0 + cw]
        visible = visible[y0 : y0 + ch, x0 : x0 + cw]
        if mask is not None:
            mask = mask[y0 : y0 + ch, x0 : x0 + cw]
        if boxes is not None:
            scaled = boxes.astype(np.float32) * np.array([sx, sy, sx, sy], dtype=np.float32)
            boxes, labels = crop_boxes(
                scaled,
                labels,
                (x0, y0, x0 + cw, y0 + ch),
                cfg.min_box_visibility,
                cfg.min_box_size,
            )
        if self.train and rng.random() < cfg.hflip:
            ir, visible = ir[:, ::-1], visible[:, ::-1]
            if mask is not None:
                mask = mask[:, ::-1]
            if boxes is not None and len(boxes):
                boxes = np.stack(
                    [cw - boxes[:, 2], boxes[:, 1], cw - boxes[:, 0], boxes[:, 3]], axis=1
                )
        if self.train:
            ir = jitter_photometric(ir, rng, cfg)
            visible = jitter_photometric(visible, rng, cfg)
        return AugmentedPair(
            np.ascontiguousarray(ir, dtype=np.float32),
            np.ascontiguousarray(visible, dtype=np.float32),
            None if boxes is None else np.ascontiguousarray(boxes, dtype=np.float32),
            None if labels is None else np.ascontiguousarray(labels, dtype=np.int64),
            None if mask is None else np.ascontiguousarray(mask, dtype=np.uint8),
        )
