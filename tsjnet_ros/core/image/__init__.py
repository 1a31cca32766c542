"""Pixel data without ROS.

``sensor_msgs`` image encodings, compressed transports, YCbCr colour, resizing.
"""
