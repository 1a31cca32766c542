"""Validation helpers shared by the variant config dataclasses."""

from __future__ import annotations

import dataclasses
from typing import Any

from tsjnet_ros.core.model.blocks.layer_choice import LayerSpec, activation_names, norm_names
from tsjnet_ros.core.model.blocks.saliency import SALIENCY_KINDS
from tsjnet_ros.core.model.layers.neighborhood_attention import BACKENDS


def normalise_sequences(config: Any) -> None:
    """Turn list fields (as read back from a checkpoint) into tuples, in place."""
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if isinstance(value, list):
            object.__setattr__(config, f.name, tuple(value))


def check_positive_ints(config: Any, *names: str) -> None:
    for name in names:
        value = getattr(config, name)
        values = value if isinstance(value, tuple) else (value,)
        if not values or any(
            isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in values
        ):
            raise ValueError(f'{name} must be positive int(s), got {value!r}')


def check_layer(name: str, value: LayerSpec, choices: tuple[str, ...]) -> None:
    if isinstance(value, str):
        if value.lower() not in choices:
            raise ValueError(f'{name} {value!r} is not one of {", ".join(choices)}')
    elif not callable(value):
        raise TypeError(f'{name} must be a layer name or a callable, got {type(value).__name__}')


def check_common(config: Any) -> None:
    """Check what every variant config shares: layers, saliency, NA backend, rates."""
    check_layer('norm_layer', config.norm_layer, norm_names())
    check_layer('act_layer', config.act_layer, activation_names())
    check_layer('attn_norm_layer', config.attn_norm_layer, norm_names())
    if config.dsm_saliency not in SALIENCY_KINDS:
        raise ValueError(
            f'dsm_saliency must be one of {SALIENCY_KINDS}, got {config.dsm_saliency!r}'
        )
    if config.na_backend not in BACKENDS:
        raise ValueError(f'na_backend must be one of {BACKENDS}, got {config.na_backend!r}')
    if len(config.nat_depths) != len(config.nat_heads):
        raise ValueError(
            f'nat_depths {config.nat_depths} and nat_heads {config.nat_heads} differ in length'
        )
    for name in ('drop_path_rate', 'dsm_dropout'):
        if not 0.0 <= float(getattr(config, name)) < 1.0:
            raise ValueError(f'{name} must be in [0, 1), got {getattr(config, name)}')
    if config.nat_kernel_size % 2 == 0:
        raise ValueError(f'nat_kernel_size must be odd, got {config.nat_kernel_size}')
