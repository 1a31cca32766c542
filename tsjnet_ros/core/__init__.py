"""ROS-free core: everything here runs and is tested without rclpy."""
