"""Fusion methods behind one interface, created by name."""

from tsjnet_ros.core.fusion.backend import Detection, FusionBackend, FusionResult
from tsjnet_ros.core.fusion.registry import available_backends, create_backend

__all__ = [
    "Detection",
    "FusionBackend",
    "FusionResult",
    "available_backends",
    "create_backend",
]
