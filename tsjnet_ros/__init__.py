"""Infrared + visible image fusion, detection and segmentation for ROS 2."""

from tsjnet_ros.core.runtime.openmp_policy import prefer_passive_wait

# Before anything imports torch: idle OpenMP threads must not spin on shared robot CPUs.
prefer_passive_wait()

__version__ = '0.1.0'
