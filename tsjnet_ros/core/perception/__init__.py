"""Detectors and segmenters of one's own (ONNX models) run on the fused image.

The fused image replaces the camera image at the input of a standard detector or
segmenter, which is also how the TSJNet paper judges fusion. Everything here is ROS-free:
the fusion node, ``tsjnet-bag evaluate`` and ``tsjnet-eval`` build the same objects from
the same settings (:class:`TaskModelSettings`). The models themselves
(:mod:`onnx_detector`, :mod:`onnx_segmenter`) load onnxruntime and torch when built, so
reading the settings stays light for classical fusion.
"""

from tsjnet_ros.core.perception.fused_image_models import FusedImageModels
from tsjnet_ros.core.perception.letterbox import Letterbox
from tsjnet_ros.core.perception.settings import TaskModelSettings, with_task_models

__all__ = ['FusedImageModels', 'Letterbox', 'TaskModelSettings', 'with_task_models']
