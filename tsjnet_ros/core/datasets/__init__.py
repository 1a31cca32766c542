"""Readers for registered IR/visible pair datasets, returning numpy arrays (ROS-free)."""

from tsjnet_ros.core.datasets.box_annotations import read_class_list, read_voc, read_yolo
from tsjnet_ros.core.datasets.image_io import read_ir, read_segmentation, read_visible
from tsjnet_ros.core.datasets.layout import LAYOUTS, resolve_layout
from tsjnet_ros.core.datasets.pair_dataset import MSRS_SEGMENTATION_CLASSES, PairDataset
from tsjnet_ros.core.datasets.sample import Sample

__all__ = [
    'LAYOUTS',
    'MSRS_SEGMENTATION_CLASSES',
    'PairDataset',
    'Sample',
    'read_class_list',
    'read_ir',
    'read_segmentation',
    'read_visible',
    'read_voc',
    'read_yolo',
    'resolve_layout',
]
