"""The torch dataset of augmented crops and its collation into a training batch.

Each item's randomness comes from ``(seed, epoch, index)`` alone, so a run gives the same
crops whatever the number of loader workers or processes, and a resumed run continues
exactly where the interrupted one stopped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset

from tsjnet_ros.core.training.augmentation import IGNORE_LABEL, AugmentedPair, PairAugmentation
from tsjnet_ros.core.training.composition import cut_patches, mosaic, paste_objects
from tsjnet_ros.core.training.config import WeakMaskConfig
from tsjnet_ros.core.training.pair_loading import TrainingPair
from tsjnet_ros.core.training.weak_masks import boxes_to_weak_mask


@dataclass
class TrainingItem:
    crop: AugmentedPair
    has_boxes: bool
    weak_mask: bool


@dataclass
class TrainingBatch:
    """One collated batch of training pairs.

    ``ir``/``visible`` (B, 1, H, W) float32; ``segmentation`` (B, H, W) int64 with 255 = ignore
    (None when no item has any target); ``targets`` one dict per item with ``boxes``/``labels``,
    or None for items whose dataset has no boxes.
    """

    ir: torch.Tensor
    visible: torch.Tensor
    segmentation: torch.Tensor | None
    targets: list[dict[str, torch.Tensor] | None]

    def to(self, device: torch.device) -> TrainingBatch:
        return TrainingBatch(
            self.ir.to(device, non_blocking=True),
            self.visible.to(device, non_blocking=True),
            None if self.segmentation is None else self.segmentation.to(device, non_blocking=True),
            [None if t is None else {k: v.to(device) for k, v in t.items()} for t in self.targets],
        )


class PairTrainingSet(Dataset):
    """Augmented crops of ``pairs``; ``repeats[i]`` copies of pair i per epoch.

    Where a pair has boxes but no label map and weak masks are enabled, its segmentation
    target is drawn from the boxes (``seg_ids[c]`` = segmentation id of detection class c).
    With ``augmentation.config.mosaic`` / ``copy_paste`` set (training only), crops are
    composed from several pairs (see ``training/composition.py``).
    """

    def __init__(
        self,
        pairs: Sequence[TrainingPair],
        augmentation: PairAugmentation,
        seed: int,
        repeats: Sequence[int] | None = None,
        weak_masks: WeakMaskConfig | None = None,
        seg_ids: np.ndarray | None = None,
        background_id: int = 0,
    ) -> None:
        if not pairs:
            raise ValueError('a training set needs at least one pair')
        repeats = list(repeats) if repeats is not None else [1] * len(pairs)
        if len(repeats) != len(pairs) or min(repeats) < 1:
            raise ValueError('repeats needs one positive count per pair')
        if weak_masks is not None and weak_masks.enabled and seg_ids is None:
            raise ValueError('weak masks need seg_ids (segmentation id per detection class)')
        self.pairs = list(pairs)
        self.index = np.repeat(np.arange(len(pairs)), repeats)
        self.augmentation = augmentation
        self.seed = int(seed)
        self.epoch = 0
        self.weak_masks = weak_masks
        self.seg_ids = seg_ids
        self.background_id = int(background_id)
        self._weak_mask_cache: dict[int, np.ndarray] = {}
        ch, cw = augmentation.crop_size
        self.tile_augmentation = PairAugmentation(
            augmentation.config, (max(1, ch // 2), max(1, cw // 2)), augmentation.train
        )
        self.patches = []
        if augmentation.train and augmentation.config.copy_paste:
            for pair in self.pairs:
                if pair.boxes is not None and len(pair.boxes):
                    self.patches += cut_patches(pair.ir, pair.visible, pair.boxes, pair.labels)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.index)

    def _uses_weak_mask(self, pair: TrainingPair) -> bool:
        wm = self.weak_masks
        return (
            pair.segmentation is None and wm is not None and wm.enabled and pair.boxes is not None
        )

    def _mask_for(self, pair: TrainingPair) -> tuple[np.ndarray | None, bool]:
        if pair.segmentation is not None:
            return pair.segmentation, False
        wm = self.weak_masks
        if not self._uses_weak_mask(pair):
            return None, False
        ids = self.seg_ids[pair.labels] if len(pair.labels) else np.zeros(0, dtype=np.int64)
        key = id(pair)
        if key not in self._weak_mask_cache:  # the same for every crop of the pair
            self._weak_mask_cache[key] = boxes_to_weak_mask(
                pair.boxes,
                ids,
                pair.ir.shape,
                self.background_id,
                wm.core_fraction,
                wm.margin,
                IGNORE_LABEL,
            )
        return self._weak_mask_cache[key], True

    def _crop(
        self, pair: TrainingPair, rng: np.random.Generator, augmentation: PairAugmentation
    ) -> AugmentedPair:
        mask, _ = self._mask_for(pair)
        return augmentation(rng, pair.ir, pair.visible, pair.boxes, pair.labels, mask)

    def __getitem__(self, item: int) -> TrainingItem:
        pair = self.pairs[int(self.index[item])]
        rng = np.random.default_rng([self.seed, self.epoch, int(item)])
        config = self.augmentation.config
        weak = self._uses_weak_mask(pair)
        has_boxes = pair.boxes is not None
        if self.augmentation.train and config.mosaic and rng.random() < config.mosaic:
            others = [
                self.pairs[int(self.index[int(i)])] for i in rng.integers(0, len(self.index), 3)
            ]
            tiles = [self._crop(p, rng, self.tile_augmentation) for p in (pair, *others)]
            crop = mosaic(tiles)
            has_boxes = crop.boxes is not None
            weak = weak or any(self._uses_weak_mask(p) for p in others)
        else:
            crop = self._crop(pair, rng, self.augmentation)
        if self.patches and has_boxes:
            crop = paste_objects(
                crop, self.patches, rng, int(rng.integers(0, config.copy_paste + 1))
            )
        return TrainingItem(crop, has_boxes, weak)


def collate_items(items: Sequence[TrainingItem]) -> TrainingBatch:
    """Stack same-size crops into a :class:`TrainingBatch`."""
    if not items:
        raise ValueError('cannot collate an empty batch')
    shapes = {it.crop.ir.shape for it in items}
    if len(shapes) != 1:
        raise ValueError(f'batch crops differ in size: {sorted(shapes)}')
    ir = torch.from_numpy(np.stack([it.crop.ir for it in items])).unsqueeze(1)
    visible = torch.from_numpy(np.stack([it.crop.visible for it in items])).unsqueeze(1)
    segmentation = None
    if any(it.crop.mask is not None for it in items):
        h, w = shapes.pop()
        masks = [
            it.crop.mask if it.crop.mask is not None else np.full((h, w), IGNORE_LABEL, np.uint8)
            for it in items
        ]
        segmentation = torch.from_numpy(np.stack(masks).astype(np.int64))
    targets: list[dict[str, torch.Tensor] | None] = []
    for it in items:
        if not it.has_boxes or it.crop.boxes is None:
            targets.append(None)
        else:
            targets.append(
                {
                    'boxes': torch.from_numpy(it.crop.boxes),
                    'labels': torch.from_numpy(it.crop.labels),
                }
            )
    return TrainingBatch(ir, visible, segmentation, targets)
