"""Pictures for people: segmentation palette and overlays shown in rviz2."""
