"""TSJNet network building blocks (pure PyTorch, ROS-free).

``create_model("tsjnet")`` builds the faithful network, ``create_model("tsjnet_rt")`` the
real-time one; both return a :class:`FusionNet` whose output is a :class:`FusionOutput`.
"""

from tsjnet_ros.core.model.fusion_net import FusionNet, FusionOutput
from tsjnet_ros.core.model.registry import create_model, list_models, model_config, register_model

__all__ = [
    'FusionNet',
    'FusionOutput',
    'create_model',
    'list_models',
    'model_config',
    'register_model',
]
