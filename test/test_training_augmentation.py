"""Pair-consistent augmentation.

Geometry is shared by IR, visible, boxes and masks; photometric jitter is independent per
modality.
"""

from __future__ import annotations

import numpy as np
import pytest

from tsjnet_ros.core.training.augmentation import PairAugmentation, crop_boxes
from tsjnet_ros.core.training.config import AugmentationConfig

NO_JITTER = dict(brightness=0.0, contrast=0.0, gamma=0.0, noise_std=0.0)


def _scene(h: int = 120, w: int = 160):
    """Return a dark image with one bright box; its mask marks the box with class 3."""
    ir = np.full((h, w), 0.1, np.float32)
    ir[40:80, 90:130] = 0.9
    mask = np.zeros((h, w), np.uint8)
    mask[40:80, 90:130] = 3
    boxes = np.array([[90, 40, 130, 80]], np.float32)
    return ir, ir.copy(), boxes, np.array([1]), mask


def test_geometry_is_identical_for_both_modalities_boxes_and_mask() -> None:
    ir, vis, boxes, labels, mask = _scene()
    aug = PairAugmentation(
        AugmentationConfig(scale=(0.7, 1.3), hflip=0.5, min_box_visibility=0.99, **NO_JITTER),
        (96, 96),
    )
    kept = 0
    for seed in range(12):
        out = aug(np.random.default_rng(seed), ir, vis, boxes, labels, mask)
        assert out.ir.shape == out.visible.shape == out.mask.shape == (96, 96)
        np.testing.assert_array_equal(out.ir, out.visible)
        bright = out.ir > 0.5
        labelled = out.mask == 3
        if bright.any() or labelled.any():  # the mask follows the pixels (up to edge rounding)
            assert (bright & labelled).sum() / (bright | labelled).sum() > 0.9
        if len(out.boxes):
            kept += 1
            x1, y1, x2, y2 = out.boxes[0]
            inside = out.ir[int(np.ceil(y1)) + 1 : int(y2) - 1, int(np.ceil(x1)) + 1 : int(x2) - 1]
            assert inside.min() > 0.5  # the box still frames the bright object
            ys, xs = np.nonzero(bright)
            assert abs(xs.min() - x1) <= 1.5 and abs(xs.max() + 1 - x2) <= 1.5
            assert abs(ys.min() - y1) <= 1.5 and abs(ys.max() + 1 - y2) <= 1.5
            assert out.labels.tolist() == [1]
    assert kept >= 3


def test_flip_mirrors_boxes() -> None:
    ir, vis, boxes, labels, mask = _scene(96, 96)
    ir2 = np.zeros((96, 96), np.float32)
    ir2[10:30, 5:25] = 1.0
    b = np.array([[5, 10, 25, 30]], np.float32)
    aug = PairAugmentation(AugmentationConfig(scale=(1.0, 1.0), hflip=1.0, **NO_JITTER), (96, 96))
    out = aug(np.random.default_rng(0), ir2, ir2.copy(), b, np.array([0]), None)
    np.testing.assert_allclose(out.boxes, [[71, 10, 91, 30]])
    assert out.ir[15, 80] == 1.0 and out.ir[15, 10] == 0.0


def test_photometric_jitter_differs_between_modalities_and_stays_in_range() -> None:
    ir, vis, boxes, labels, mask = _scene()
    aug = PairAugmentation(
        AugmentationConfig(
            scale=(1.0, 1.0), hflip=0.0, brightness=0.2, contrast=0.3, gamma=0.3, noise_std=0.02
        ),
        (96, 96),
    )
    out = aug(np.random.default_rng(3), ir, vis, boxes, labels, mask)
    assert not np.allclose(out.ir, out.visible)
    assert out.ir.min() >= 0.0 and out.ir.max() <= 1.0 and out.ir.dtype == np.float32


def test_small_images_are_padded_with_ignored_mask() -> None:
    ir = np.full((40, 50), 0.5, np.float32)
    mask = np.ones((40, 50), np.uint8)
    aug = PairAugmentation(AugmentationConfig(scale=(1.0, 1.0), hflip=0.0, **NO_JITTER), (64, 64))
    out = aug(np.random.default_rng(0), ir, ir.copy(), None, None, mask)
    assert out.ir.shape == (64, 64)
    assert (out.mask == 255).sum() == 64 * 64 - 40 * 50
    assert out.boxes is None


def test_crop_boxes_drops_mostly_cut_boxes() -> None:
    boxes = np.array([[0, 0, 10, 10], [50, 50, 70, 70]], np.float32)
    kept, labels = crop_boxes(boxes, np.array([0, 1]), (8, 0, 66, 66), 0.4, 2.0)
    np.testing.assert_allclose(kept, [[42, 50, 58, 66]])  # the first kept 20 %: dropped
    assert labels.tolist() == [1]


def test_bad_inputs_raise() -> None:
    aug = PairAugmentation(AugmentationConfig(), (32, 32))
    with pytest.raises(ValueError, match='equal-size'):
        aug(
            np.random.default_rng(0),
            np.zeros((40, 40), np.float32),
            np.zeros((40, 41), np.float32),
        )
    with pytest.raises(ValueError, match='both be given'):
        aug(
            np.random.default_rng(0),
            np.zeros((40, 40), np.float32),
            np.zeros((40, 40), np.float32),
            np.zeros((0, 4), np.float32),
            None,
        )
    with pytest.raises(ValueError, match='scale'):
        AugmentationConfig(scale=(1.2, 0.8))
