"""Norm and activation layers chosen by name, so a variant config stays plain data.

Configs are stored inside checkpoints as plain Python values; a layer given as a string
("batchnorm2d", "relu", ...) round-trips through a checkpoint, while a class or factory
callable is accepted too for programmatic use (as timm's ``norm_layer``/``act_layer``).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from torch import nn

LayerSpec = str | Callable[..., nn.Module]

_ACTIVATIONS: dict[str, Callable[..., nn.Module]] = {
    'relu': partial(nn.ReLU, inplace=True),
    'relu6': partial(nn.ReLU6, inplace=True),
    'leaky_relu': partial(nn.LeakyReLU, negative_slope=0.01, inplace=True),
    'leaky_relu_0.2': partial(nn.LeakyReLU, negative_slope=0.2, inplace=True),
    'gelu': nn.GELU,
    'silu': partial(nn.SiLU, inplace=True),
    'hardswish': partial(nn.Hardswish, inplace=True),
    'identity': nn.Identity,
}


def _group_norm(num_channels: int) -> nn.GroupNorm:
    """8 groups, halved until they divide the channel count."""
    groups = next(g for g in (8, 4, 2, 1) if num_channels % g == 0)
    return nn.GroupNorm(groups, num_channels)


def _group_norm_32(num_channels: int) -> nn.GroupNorm:
    """32 groups (Wu & He, 2018), or one group when 32 does not divide the channel count."""
    return nn.GroupNorm(32 if num_channels % 32 == 0 else 1, num_channels)


# Group norms are named by their group count; the count changes the function, not the
# weights, so a checkpoint must keep the name it was trained with.
_NORMS_2D: dict[str, Callable[[int], nn.Module]] = {
    'batchnorm2d': nn.BatchNorm2d,
    'groupnorm': _group_norm,
    'groupnorm32': _group_norm_32,
    'identity': lambda num_channels: nn.Identity(),
}


def _resolve(
    spec: LayerSpec, table: dict[str, Callable[..., nn.Module]], kind: str
) -> Callable[..., nn.Module]:
    if isinstance(spec, str):
        key = spec.lower()
        if key not in table:
            raise ValueError(f'unknown {kind} {spec!r}; choose one of {", ".join(sorted(table))}')
        return table[key]
    if callable(spec):
        return spec
    raise TypeError(
        f'{kind} must be a name or a callable returning an nn.Module, got {type(spec).__name__}'
    )


def act_factory(spec: LayerSpec) -> Callable[[], nn.Module]:
    """Return a zero-argument factory for the activation named (or given) by ``spec``."""
    return _resolve(spec, _ACTIVATIONS, 'activation')


def norm2d_factory(spec: LayerSpec) -> Callable[[int], nn.Module]:
    """Return a factory ``f(num_channels)`` for the 2-D (channels-first) norm named by ``spec``."""
    return _resolve(spec, _NORMS_2D, 'norm layer')


def activation_names() -> tuple[str, ...]:
    return tuple(sorted(_ACTIVATIONS))


def norm_names() -> tuple[str, ...]:
    return tuple(sorted(_NORMS_2D))
