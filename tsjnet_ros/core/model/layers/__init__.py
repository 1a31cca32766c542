"""Reusable neural-network layers for the TSJNet model."""

from tsjnet_ros.core.model.layers.neighborhood_attention import neighborhood_attention_2d
from tsjnet_ros.core.model.layers.neighborhood_attention_module import NeighborhoodAttention2d

__all__ = ['NeighborhoodAttention2d', 'neighborhood_attention_2d']
