"""Mosaic and copy-paste composition, EMA weights, name lists and init checkpoints."""

import numpy as np
import pytest
import torch

from tsjnet_ros.core.training.augmentation import IGNORE_LABEL, AugmentedPair, PairAugmentation
from tsjnet_ros.core.training.composition import ObjectPatch, cut_patches, mosaic, paste_objects
from tsjnet_ros.core.training.config import AugmentationConfig, read_name_list
from tsjnet_ros.core.training.pair_loading import TrainingPair
from tsjnet_ros.core.training.trainer import ema_average
from tsjnet_ros.core.training.training_set import PairTrainingSet


def _tile(value: float, boxes=None, mask=True) -> AugmentedPair:
    img = np.full((20, 30), value, np.float32)
    b = None if boxes is None else np.array(boxes, np.float32).reshape(-1, 4)
    labels = None if boxes is None else np.arange(len(b), dtype=np.int64)
    return AugmentedPair(img, img + 0.1, b, labels, np.zeros((20, 30), np.uint8) if mask else None)


def test_mosaic_tiles_in_reading_order_and_shifts_boxes():
    tiles = [
        _tile(0.1, [[1, 2, 5, 6]]),
        _tile(0.2, []),
        _tile(0.3, None, mask=False),
        _tile(0.4, [[0, 0, 10, 10]]),
    ]
    out = mosaic(tiles)
    assert out.ir.shape == (40, 60)
    assert out.ir[0, 0] == pytest.approx(0.1) and out.ir[0, 59] == pytest.approx(0.2)
    assert out.ir[39, 0] == pytest.approx(0.3) and out.ir[39, 59] == pytest.approx(0.4)
    np.testing.assert_array_equal(out.boxes, [[1, 2, 5, 6], [30, 20, 40, 30]])
    assert (out.mask[20:, :30] == IGNORE_LABEL).all() and (out.mask[:20] == 0).all()
    with pytest.raises(ValueError, match='4 tiles'):
        mosaic(tiles[:3])


def test_paste_objects_adds_labelled_boxes_on_free_ground():
    crop = _tile(0.0, [[0, 0, 10, 10]])
    patch = ObjectPatch(np.ones((6, 4), np.float32), np.ones((6, 4), np.float32) * 0.5, label=2)
    out = paste_objects(crop, [patch], np.random.default_rng(0), count=2, flip=None)
    assert len(out.boxes) == 3 and list(out.labels[1:]) == [2, 2]
    for x1, y1, x2, y2 in out.boxes[1:]:
        assert (x2 - x1, y2 - y1) == (4, 6)
        assert x1 >= 10 or y1 >= 10  # never on the existing box
        centre = out.ir[int(y1) + 3, int(x1) + 2]
        assert centre == pytest.approx(1.0)  # the patch is opaque at its centre
        assert (out.mask[int(y1) : int(y2), int(x1) : int(x2)] == IGNORE_LABEL).all()
    assert crop.boxes.shape == (1, 4) and crop.ir.max() == 0.0  # input untouched
    unlabelled = AugmentedPair(crop.ir, crop.visible, None, None, None)
    assert paste_objects(unlabelled, [patch], np.random.default_rng(0), 2) is unlabelled


def test_cut_patches_skips_tiny_boxes():
    img = np.arange(100, dtype=np.float32).reshape(10, 10)
    patches = cut_patches(
        img, img, np.array([[1, 1, 9, 9], [0, 0, 3, 3]], np.float32), np.array([1, 0])
    )
    assert len(patches) == 1 and patches[0].label == 1 and patches[0].ir.shape == (8, 8)


def test_training_set_mosaic_and_paste_keep_boxes_inside_the_crop():
    rng = np.random.default_rng(3)
    pairs = []
    for i in range(3):
        ir = rng.random((96, 128)).astype(np.float32)
        boxes = np.array([[10 + i, 20, 40, 60], [70, 30, 100, 80]], np.float32)
        pairs.append(TrainingPair(f'p{i}', 'src', ir, ir.copy(), boxes, np.array([0, 1]), None))
    config = AugmentationConfig(scale=(1.0, 1.0), mosaic=1.0, copy_paste=2)
    dataset = PairTrainingSet(pairs, PairAugmentation(config, (64, 64)), seed=0)
    assert dataset.patches  # cut from every pair's boxes
    for i in range(len(dataset)):
        item = dataset[i]
        assert item.crop.ir.shape == (64, 64) and item.has_boxes
        b = item.crop.boxes
        assert (
            (b[:, 0] >= 0).all()
            and (b[:, 2] <= 64).all()
            and (b[:, 1] >= 0).all()
            and (b[:, 3] <= 64).all()
        )
        assert (b[:, 2] > b[:, 0]).all() and (b[:, 3] > b[:, 1]).all()
    again = PairTrainingSet(pairs, PairAugmentation(config, (64, 64)), seed=0)[1]
    np.testing.assert_array_equal(
        again.crop.ir, dataset[1].crop.ir
    )  # reproducible per (seed, epoch, index)


def test_ema_average_ramps_up():
    avg = ema_average(0.999, ramp_steps=100.0)
    early = avg(torch.zeros(1), torch.ones(1), torch.tensor(1))
    late = avg(torch.zeros(1), torch.ones(1), torch.tensor(10_000))
    assert early.item() > 0.98  # first updates follow the weights
    assert late.item() == pytest.approx(0.001, rel=1e-3)


def test_name_list_skips_comments(tmp_path):
    path = tmp_path / 'val.txt'
    path.write_text('# split\n00001N\n\n00002D  # day\n')
    assert read_name_list(path) == ['00001N', '00002D']
    with pytest.raises(FileNotFoundError):
        read_name_list(tmp_path / 'missing.txt')
