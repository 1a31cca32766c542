"""Training reads MSRS ``Segmentation_labels/`` and trains every class of its table."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import DataLoader

from tsjnet_ros.core.model.heads.config import MSRS_SEGMENTATION_CLASSES
from tsjnet_ros.core.training.config import train_config_from_dict
from tsjnet_ros.core.training.trainer import Trainer
from tsjnet_ros.core.training.training_set import collate_items


def _msrs_like(root: Path, count: int = 2) -> None:
    """Generate a set in MSRS layout whose label maps hold all nine class ids."""
    rng = np.random.default_rng(0)
    for sub in ('ir', 'vi', 'Segmentation_labels'):
        (root / sub).mkdir(parents=True)
    for i in range(count):
        name = f'{i:05d}N.png'
        labels = np.repeat(np.arange(9, dtype=np.uint8), 8)[None, :].repeat(
            64, axis=0
        )  # 64x72 stripes 0..8
        ir = (labels * 25 + rng.integers(0, 20, labels.shape)).astype(np.uint8)
        cv2.imwrite(str(root / 'ir' / name), ir)
        cv2.imwrite(str(root / 'vi' / name), np.dstack([255 - ir] * 3))
        cv2.imwrite(str(root / 'Segmentation_labels' / name), labels)


def test_label_maps_train_all_nine_classes(tmp_path: Path) -> None:
    _msrs_like(tmp_path / 'msrs')
    config = train_config_from_dict(
        {
            'variant': 'tsjnet_rt',
            'heads_preset': 'rt',
            'device': 'cpu',
            'threads': 1,
            'fusion_config': {'image_head': 'pyramid_blend', 'work_scale': 0.5},
            'detection_classes': ['person', 'bicycle', 'car'],
            'segmentation_classes': list(MSRS_SEGMENTATION_CLASSES),
            'data': {
                'sources': [{'root': str(tmp_path / 'msrs')}],
                'crop_size': [64, 64],
                'batch_size': 2,
                'augmentation': {'scale': [1.0, 1.0], 'hflip': 0.0},
            },
            'stages': [{'name': 'joint', 'steps': 2, 'heads': True}],
            'output_dir': str(tmp_path / 'run'),
            'progress': False,
            'log_every': 1,
        }
    )
    trainer = Trainer(config, resume=False)
    assert trainer.system.segmentation_classes == MSRS_SEGMENTATION_CLASSES
    batch = next(iter(DataLoader(trainer.train_set, batch_size=2, collate_fn=collate_items)))
    seen = set(torch.unique(batch.segmentation).tolist()) - {255}
    assert seen == set(range(9))  # every class id reaches the loss, none is remapped to weak masks
    result = trainer.fit()
    assert result.steps == 2 and result.last_losses['segmentation'] > 0


def test_segmentation_colours_differ_from_box_colours() -> None:
    from tsjnet_ros.core.viz.overlay import detection_colour, segmentation_palette

    palette = segmentation_palette(len(MSRS_SEGMENTATION_CLASSES)).astype(int)[
        1:
    ]  # 0 is never tinted
    for class_id in range(3):
        box = np.array(detection_colour(class_id))
        assert np.abs(palette - box).sum(axis=1).min() > 100, class_id
