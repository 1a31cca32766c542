"""Fusion methods behind one interface, created by name."""

from tsjnet_ros.core.fusion.backend import FusionBackend
from tsjnet_ros.core.fusion.registry import available_backends, create_backend

__all__ = [
    'FusionBackend',
    'available_backends',
    'create_backend',
]
