"""Losses of the joint TSJNet objective, one family per module."""

from tsjnet_ros.core.model.losses.detection import detection_loss
from tsjnet_ros.core.model.losses.detection_targets import AssignedTargets, assign_targets
from tsjnet_ros.core.model.losses.diversity import diversity_loss
from tsjnet_ros.core.model.losses.fidelity import fidelity_loss
from tsjnet_ros.core.model.losses.gradient import gradient_loss, sobel_magnitude
from tsjnet_ros.core.model.losses.intensity import intensity_loss
from tsjnet_ros.core.model.losses.joint import JointLoss
from tsjnet_ros.core.model.losses.reconstruction import reconstruction_loss
from tsjnet_ros.core.model.losses.segmentation import IGNORE_INDEX, segmentation_loss
from tsjnet_ros.core.model.losses.ssim import gaussian_window, ssim, ssim_loss, texture_weights
from tsjnet_ros.core.model.losses.weights import LossWeights

__all__ = [
    'IGNORE_INDEX',
    'AssignedTargets',
    'JointLoss',
    'LossWeights',
    'assign_targets',
    'detection_loss',
    'diversity_loss',
    'fidelity_loss',
    'gaussian_window',
    'gradient_loss',
    'intensity_loss',
    'reconstruction_loss',
    'segmentation_loss',
    'sobel_magnitude',
    'ssim',
    'ssim_loss',
    'texture_weights',
]
