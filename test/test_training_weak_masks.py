"""Weak segmentation masks from boxes: labelled core, ignored rim, background elsewhere."""

from __future__ import annotations

import numpy as np
import pytest

from tsjnet_ros.core.training.weak_masks import boxes_to_weak_mask, segmentation_ids_for


def test_core_rim_and_background() -> None:
    mask = boxes_to_weak_mask(
        np.array([[20, 10, 60, 90]]),
        np.array([2]),
        (100, 100),
        background=0,
        core_fraction=0.8,
        margin=3,
    )
    assert mask[50, 40] == 2  # centre
    assert mask[11, 21] == 255  # box corner: outside the ellipse, ignored
    assert mask[50, 18] == 255  # margin ring
    assert mask[50, 10] == 0 and mask[95, 95] == 0  # background
    labelled = (mask == 2).sum()
    expected = np.pi * (40 * 0.8 / 2) * (80 * 0.8 / 2)
    assert abs(labelled - expected) / expected < 0.05


def test_small_box_in_front_of_large_one_keeps_its_label() -> None:
    boxes = np.array([[40, 40, 50, 50], [0, 0, 100, 100]], np.float32)
    mask = boxes_to_weak_mask(boxes, np.array([7, 1]), (100, 100), margin=0)
    assert mask[45, 45] == 7
    assert mask[50, 30] == 1


def test_unknown_class_ignores_the_box_and_empty_is_background() -> None:
    mask = boxes_to_weak_mask(np.array([[10, 10, 30, 30]]), np.array([-1]), (40, 40), margin=0)
    assert mask[20, 20] == 255 and mask[35, 35] == 0
    empty = boxes_to_weak_mask(np.zeros((0, 4)), np.zeros(0, int), (8, 9), background=4)
    assert empty.shape == (8, 9) and (empty == 4).all()


def test_segmentation_ids_by_name_and_map() -> None:
    ids = segmentation_ids_for(
        ['person', 'bicycle', 'car', 'lamp'],
        ['unlabelled', 'car', 'person', 'bike'],
        {'bicycle': 'bike'},
    )
    assert ids.tolist() == [2, 3, 1, -1]


def test_bad_arguments_raise() -> None:
    with pytest.raises(ValueError, match='segmentation ids'):
        boxes_to_weak_mask(np.zeros((2, 4)), np.array([1]), (10, 10))
    with pytest.raises(ValueError, match='core_fraction'):
        boxes_to_weak_mask(np.zeros((1, 4)), np.array([1]), (10, 10), core_fraction=0.0)
