"""Task heads on the fused image (segmentation + detection) and the joint TSJNet system."""

from tsjnet_ros.core.model.heads.config import (
    HEADS_PRESETS,
    MSRS_DETECTION_CLASSES,
    MSRS_SEGMENTATION_CLASSES,
    HeadsConfig,
    heads_config_for,
)
from tsjnet_ros.core.model.heads.detection import AnchorFreeDetector, DetectionHeadOutput
from tsjnet_ros.core.model.heads.segmentation import DeepLabV3PlusHead
from tsjnet_ros.core.model.heads.system import JointModel, SystemOutput, TSJNetSystem
from tsjnet_ros.core.model.heads.task_heads import TaskHeads, TaskHeadsOutput

__all__ = [
    'HEADS_PRESETS',
    'MSRS_DETECTION_CLASSES',
    'MSRS_SEGMENTATION_CLASSES',
    'AnchorFreeDetector',
    'DeepLabV3PlusHead',
    'DetectionHeadOutput',
    'HeadsConfig',
    'JointModel',
    'SystemOutput',
    'TSJNetSystem',
    'TaskHeads',
    'TaskHeadsOutput',
    'heads_config_for',
]
