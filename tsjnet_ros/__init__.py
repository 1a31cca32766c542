"""Infrared + visible image fusion, detection and segmentation for ROS 2."""

__version__ = "0.1.0"
