"""TSJNet network building blocks (pure PyTorch, ROS-free)."""
