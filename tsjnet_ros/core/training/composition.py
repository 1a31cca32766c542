"""Augmentations that compose several training pairs into one crop, for small detection sets.

- Mosaic (Bochkovskiy et al., YOLOv4, 2020): four crops of half the size tiled 2x2, so one
  crop carries four scenes' objects and backgrounds at their natural scale.
- Copy-paste (Ghiasi et al., CVPR 2021, "simple copy-paste"): object patches cut from other
  pairs (IR and visible together, so the warm target stays registered with its visible
  appearance) pasted at free places of the crop with a feathered elliptical alpha, which
  avoids rectangular seams since no instance masks exist here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from tsjnet_ros.core.training.augmentation import IGNORE_LABEL, AugmentedPair


@dataclass(frozen=True)
class ObjectPatch:
    """One labelled object: ``ir``/``visible`` h x w float32 in [0, 1], class ``label``."""

    ir: np.ndarray
    visible: np.ndarray
    label: int


def mosaic(tiles: Sequence[AugmentedPair]) -> AugmentedPair:
    """Tile four equal-size crops 2x2 (reading order); boxes are shifted with their tile.

    Masks: a tile without one becomes ``IGNORE_LABEL``; boxes: a tile without boxes
    contributes none (the mosaic keeps boxes if any tile has them).
    Raises ValueError unless exactly four crops of one size are given.
    """
    if len(tiles) != 4:
        raise ValueError(f'a mosaic needs 4 tiles, got {len(tiles)}')
    shapes = {t.ir.shape for t in tiles}
    if len(shapes) != 1:
        raise ValueError(f'mosaic tiles differ in size: {sorted(shapes)}')
    h, w = shapes.pop()

    def grid(parts: list[np.ndarray]) -> np.ndarray:
        return np.concatenate(
            [np.concatenate(parts[:2], axis=1), np.concatenate(parts[2:], axis=1)], axis=0
        )

    ir = grid([t.ir for t in tiles])
    visible = grid([t.visible for t in tiles])
    mask = None
    if any(t.mask is not None for t in tiles):
        mask = grid(
            [
                t.mask if t.mask is not None else np.full((h, w), IGNORE_LABEL, np.uint8)
                for t in tiles
            ]
        )
    boxes = labels = None
    if any(t.boxes is not None for t in tiles):
        box_parts, label_parts = [], []
        for i, t in enumerate(tiles):
            if t.boxes is None or not len(t.boxes):
                continue
            dx, dy = (i % 2) * w, (i // 2) * h
            box_parts.append(t.boxes + np.array([dx, dy, dx, dy], np.float32))
            label_parts.append(t.labels)
        boxes = (
            np.concatenate(box_parts).astype(np.float32)
            if box_parts
            else np.zeros((0, 4), np.float32)
        )
        labels = (
            np.concatenate(label_parts).astype(np.int64) if label_parts else np.zeros(0, np.int64)
        )
    return AugmentedPair(ir, visible, boxes, labels, mask)


def cut_patches(
    ir: np.ndarray, visible: np.ndarray, boxes: np.ndarray, labels: np.ndarray, min_size: int = 8
) -> list[ObjectPatch]:
    """Patches of every box at least ``min_size`` px a side (pixel-aligned, clipped)."""
    h, w = ir.shape
    patches = []
    for (x1, y1, x2, y2), label in zip(boxes, labels):
        x1, y1 = max(0, int(np.floor(x1))), max(0, int(np.floor(y1)))
        x2, y2 = min(w, int(np.ceil(x2))), min(h, int(np.ceil(y2)))
        if x2 - x1 >= min_size and y2 - y1 >= min_size:
            patches.append(
                ObjectPatch(ir[y1:y2, x1:x2].copy(), visible[y1:y2, x1:x2].copy(), int(label))
            )
    return patches


def _feathered_alpha(h: int, w: int) -> np.ndarray:
    """1 inside an ellipse filling the patch, falling to 0 at its corners."""
    yy = (np.arange(h, dtype=np.float32) + 0.5) / h * 2 - 1
    xx = (np.arange(w, dtype=np.float32) + 0.5) / w * 2 - 1
    r = np.sqrt(yy[:, None] ** 2 + xx[None, :] ** 2)
    return np.clip((1.3 - r) / 0.4, 0.0, 1.0)


def _iou_any(box: np.ndarray, boxes: np.ndarray) -> float:
    if not len(boxes):
        return 0.0
    x1 = np.maximum(box[0], boxes[:, 0])
    y1 = np.maximum(box[1], boxes[:, 1])
    x2 = np.minimum(box[2], boxes[:, 2])
    y2 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    return float(inter.max())


def paste_objects(
    crop: AugmentedPair,
    patches: Sequence[ObjectPatch],
    rng: np.random.Generator,
    count: int,
    flip: Callable[[np.ndarray], np.ndarray] | None = np.fliplr,
) -> AugmentedPair:
    """Paste up to ``count`` random ``patches`` where they overlap no box of the crop.

    The pasted region's mask pixels become ``IGNORE_LABEL`` (no instance mask exists), and
    a box with the patch's label is appended. Crops without boxes are returned unchanged.
    """
    if crop.boxes is None or not patches or count < 1:
        return crop
    ir, visible = crop.ir.copy(), crop.visible.copy()
    mask = None if crop.mask is None else crop.mask.copy()
    boxes, labels = list(crop.boxes), list(crop.labels)
    h, w = ir.shape
    for _ in range(count):
        patch = patches[int(rng.integers(len(patches)))]
        ph, pw = patch.ir.shape
        if ph >= h or pw >= w:
            continue
        p_ir, p_vis = patch.ir, patch.visible
        if flip is not None and rng.random() < 0.5:
            p_ir, p_vis = flip(p_ir), flip(p_vis)
        for _attempt in range(10):
            y0, x0 = int(rng.integers(0, h - ph + 1)), int(rng.integers(0, w - pw + 1))
            box = np.array([x0, y0, x0 + pw, y0 + ph], np.float32)
            if _iou_any(box, np.array(boxes, np.float32).reshape(-1, 4)) == 0.0:
                break
        else:
            continue
        alpha = _feathered_alpha(ph, pw)
        for dst, src in ((ir, p_ir), (visible, p_vis)):
            region = dst[y0 : y0 + ph, x0 : x0 + pw]
            region += alpha * (src - region)
        if mask is not None:
            mask[y0 : y0 + ph, x0 : x0 + pw] = IGNORE_LABEL
        boxes.append(box)
        labels.append(patch.label)
    return AugmentedPair(
        ir, visible, np.array(boxes, np.float32).reshape(-1, 4), np.array(labels, np.int64), mask
    )
