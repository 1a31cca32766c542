"""Thin ROS 2 layer: message conversion, topic wiring, parameters, diagnostics."""
