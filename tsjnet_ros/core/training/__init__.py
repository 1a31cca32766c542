"""Joint training of the fusion network with its task heads (ROS-free)."""

from tsjnet_ros.core.training.augmentation import AugmentedPair, PairAugmentation
from tsjnet_ros.core.training.config import TrainConfig, load_train_config, train_config_from_dict
from tsjnet_ros.core.training.trainer import Trainer, TrainResult, lr_schedule, stage_at
from tsjnet_ros.core.training.weak_masks import boxes_to_weak_mask

__all__ = [
    'AugmentedPair',
    'PairAugmentation',
    'TrainConfig',
    'TrainResult',
    'Trainer',
    'boxes_to_weak_mask',
    'load_train_config',
    'lr_schedule',
    'stage_at',
    'train_config_from_dict',
]
