"""ROS-free metrics for fused images, detections and segmentation maps.

Fusion metrics take ``(ir, visible, fused)`` (or ``fused`` alone for EN, SD, SF, AG) as
uint8 or 0..255 float arrays; conventions are documented per module and in docs/metrics.md.
"""

from tsjnet_ros.core.metrics.chen_varshney import chen_varshney
from tsjnet_ros.core.metrics.detection import (
    COCO_IOU_THRESHOLDS,
    DetectionReport,
    ImageAnnotations,
    ImageDetections,
    average_precision,
    box_iou,
    evaluate_detections,
)
from tsjnet_ros.core.metrics.error import mean_squared_error, peak_signal_to_noise_ratio
from tsjnet_ros.core.metrics.fusion_suite import (
    CONVENTION_PRESETS,
    FUSION_METRICS,
    PAPER_METRICS,
    FusionMetric,
    evaluate_fusion,
)
from tsjnet_ros.core.metrics.gradient import average_gradient, spatial_frequency
from tsjnet_ros.core.metrics.image_input import as_gray_float, ir_to_uint8
from tsjnet_ros.core.metrics.information import entropy, mutual_information
from tsjnet_ros.core.metrics.qabf import qabf
from tsjnet_ros.core.metrics.segmentation import (
    SegmentationScore,
    confusion_matrix,
    iou_per_class,
    mean_iou,
    pixel_accuracy,
)
from tsjnet_ros.core.metrics.ssim import ssim_pair, structural_similarity
from tsjnet_ros.core.metrics.statistics import (
    correlation_coefficient,
    standard_deviation,
    sum_of_correlation_differences,
)
from tsjnet_ros.core.metrics.vif import vif_pair, visual_information_fidelity

__all__ = [
    'COCO_IOU_THRESHOLDS',
    'CONVENTION_PRESETS',
    'FUSION_METRICS',
    'PAPER_METRICS',
    'DetectionReport',
    'FusionMetric',
    'ImageAnnotations',
    'ImageDetections',
    'SegmentationScore',
    'as_gray_float',
    'average_gradient',
    'average_precision',
    'box_iou',
    'chen_varshney',
    'confusion_matrix',
    'correlation_coefficient',
    'entropy',
    'evaluate_detections',
    'evaluate_fusion',
    'iou_per_class',
    'ir_to_uint8',
    'mean_iou',
    'mean_squared_error',
    'mutual_information',
    'peak_signal_to_noise_ratio',
    'pixel_accuracy',
    'qabf',
    'spatial_frequency',
    'ssim_pair',
    'standard_deviation',
    'structural_similarity',
    'sum_of_correlation_differences',
    'visual_information_fidelity',
    'vif_pair',
]
