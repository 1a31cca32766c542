"""Training pairs from a dataset folder: network units, class mapping by name, weak masks."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from tsjnet_ros.core.datasets import PairDataset
from tsjnet_ros.core.training.augmentation import PairAugmentation
from tsjnet_ros.core.training.config import AugmentationConfig, SourceConfig, WeakMaskConfig
from tsjnet_ros.core.training.pair_loading import (
    detection_classes_from,
    ir_to_unit,
    load_training_pairs,
    open_source,
)
from tsjnet_ros.core.training.training_set import PairTrainingSet, collate_items
from tsjnet_ros.core.training.weak_masks import segmentation_ids_for

ALIASES = {'people': 'person'}


def _voc(path: Path, objects: list[tuple[str, tuple[int, int, int, int]]]) -> None:
    body = ''.join(
        f'<object><name>{n}</name><bndbox><xmin>{b[0]}</xmin><ymin>{b[1]}</ymin><xmax>{b[2]}</xmax>'
        f'<ymax>{b[3]}</ymax></bndbox></object>'
        for n, b in objects
    )
    path.write_text(f'<annotation>{body}</annotation>')


@pytest.fixture
def m3fd_like(tmp_path: Path) -> Path:
    """Two 16-bit-IR pairs at 200x100 with VOC boxes spelled like M3FD."""
    for sub in ('ir', 'vi', 'Annotations'):
        (tmp_path / sub).mkdir()
    rng = np.random.default_rng(0)
    for name, objects in (
        ('a', [('People', (10, 20, 40, 80)), ('Lamp', (100, 0, 110, 30))]),
        ('b', [('Car', (50, 40, 150, 90))]),
    ):
        ir = rng.integers(20000, 30000, (100, 200), dtype=np.uint16)
        cv2.imwrite(str(tmp_path / 'ir' / f'{name}.png'), ir)
        cv2.imwrite(
            str(tmp_path / 'vi' / f'{name}.png'),
            rng.integers(0, 255, (100, 200, 3), dtype=np.uint8),
        )
        _voc(tmp_path / 'Annotations' / f'{name}.xml', objects)
    return tmp_path


def test_16bit_ir_is_stretched_to_unit_range() -> None:
    ir = np.linspace(1000, 2000, 100 * 50).reshape(50, 100).astype(np.uint16)
    unit = ir_to_unit(ir)
    assert unit.dtype == np.float32 and unit.min() == 0.0 and unit.max() == 1.0
    np.testing.assert_allclose(ir_to_unit(np.full((4, 4), 51, np.uint8)), 0.2)
    with pytest.raises(TypeError, match='uint8 or uint16'):
        ir_to_unit(np.zeros((4, 4), np.float32))


def test_classes_mapped_by_name_unknown_dropped_and_downscaled(m3fd_like: Path) -> None:
    source = SourceConfig(root=str(m3fd_like), max_side=100)
    dataset = open_source(source)
    assert detection_classes_from([dataset], ALIASES) == ['car', 'lamp', 'person']
    pairs = load_training_pairs(source, dataset, ['person', 'bicycle', 'car'], ALIASES)
    a, b = pairs
    assert a.ir.shape == a.visible.shape == (50, 100) and a.ir.max() <= 1.0
    assert a.labels.tolist() == [0]  # People -> person; Lamp is not in the table
    np.testing.assert_allclose(a.boxes, [[5, 10, 20, 40]])
    assert b.labels.tolist() == [2] and a.segmentation is None


def test_excluded_names_must_exist(m3fd_like: Path) -> None:
    with pytest.raises(ValueError, match='not found: zz'):
        open_source(SourceConfig(root=str(m3fd_like), exclude=['zz']))
    with pytest.raises(FileNotFoundError, match='not found'):
        open_source(SourceConfig(root=str(m3fd_like / 'missing')))


def test_training_set_builds_weak_masks_and_batches(m3fd_like: Path) -> None:
    source = SourceConfig(root=str(m3fd_like), max_side=None)
    classes = ['person', 'bicycle', 'car']
    pairs = load_training_pairs(source, PairDataset(m3fd_like), classes, ALIASES)
    seg_classes = ['unlabelled', 'car', 'person', 'bike']
    no_geometry = AugmentationConfig(
        scale=(1.0, 1.0), hflip=0.0, brightness=0, contrast=0, gamma=0, noise_std=0
    )
    train_set = PairTrainingSet(
        pairs,
        PairAugmentation(no_geometry, (96, 192), train=False),
        seed=0,
        weak_masks=WeakMaskConfig(margin=2),
        seg_ids=segmentation_ids_for(classes, seg_classes, {'bicycle': 'bike'}),
    )
    batch = collate_items([train_set[0], train_set[1]])
    assert batch.ir.shape == (2, 1, 96, 192) and batch.segmentation.shape == (2, 96, 192)
    seg = batch.segmentation.numpy()
    # Centre crop of 100x200 to 96x192 shifts by (2, 4): person box centre (25, 50) -> (21, 48).
    assert seg[0, 48, 21] == 2 and seg[1, 63, 96] == 1 and seg[0, 90, 150] == 0
    assert batch.targets[0]['labels'].tolist() == [0]
    np.testing.assert_allclose(batch.targets[0]['boxes'].numpy(), [[6, 18, 36, 78]])
    again = collate_items([train_set[0], train_set[1]])
    assert np.array_equal(batch.ir.numpy(), again.ir.numpy())  # same seed/epoch/index, same crop
