"""Registry of fusion-network variants, in the spirit of timm's ``create_model``.

Each variant is a factory taking one config dataclass; the dataclass type is read from
the factory's annotation, so ``model_config(name)`` and ``create_model(name, **overrides)``
work for every registered variant::

    @register_model("tsjnet_rt")
    def tsjnet_rt(config: TsjnetRtConfig) -> FusionNet: ...

The built-in variants register themselves on first use of the registry.
"""

from __future__ import annotations

import dataclasses
import importlib
import typing
from collections.abc import Callable
from typing import Any, TypeVar

from torch import nn

Factory = TypeVar('Factory', bound=Callable[..., nn.Module])

_FACTORIES: dict[str, Callable[[Any], nn.Module]] = {}
_CONFIGS: dict[str, type] = {}
_BUILTIN_MODULES = (
    'tsjnet_ros.core.model.variants.tsjnet',
    'tsjnet_ros.core.model.variants.tsjnet_official',
    'tsjnet_ros.core.model.variants.tsjnet_rt',
)
_builtins_loaded = False


def _config_class(factory: Callable[..., nn.Module]) -> type:
    hints = typing.get_type_hints(factory)
    params = [p for p in hints if p != 'return']
    if not params:
        raise TypeError(
            f'factory {factory.__name__} must take one annotated config dataclass argument'
        )
    config_cls = hints[params[0]]
    if not (isinstance(config_cls, type) and dataclasses.is_dataclass(config_cls)):
        raise TypeError(
            f'factory {factory.__name__}: its first argument must be annotated with a dataclass, '
            f'got {config_cls!r}'
        )
    return config_cls


def register_model(name: str) -> Callable[[Factory], Factory]:
    """Return a decorator registering ``factory(config) -> nn.Module`` under ``name``."""
    if not isinstance(name, str) or not name:
        raise ValueError(f'model name must be a non-empty string, got {name!r}')

    def decorate(factory: Factory) -> Factory:
        config_cls = _config_class(factory)
        if name in _FACTORIES and _FACTORIES[name] is not factory:
            existing = _FACTORIES[name]
            # Re-importing the same module (e.g. reload) re-registers the same function name.
            if (existing.__module__, existing.__qualname__) != (
                factory.__module__,
                factory.__qualname__,
            ):
                raise ValueError(f'model {name!r} is already registered by {existing.__module__}')
        _FACTORIES[name] = factory
        _CONFIGS[name] = config_cls
        return factory

    return decorate


def _load_builtins() -> None:
    global _builtins_loaded
    if not _builtins_loaded:
        for module in _BUILTIN_MODULES:
            importlib.import_module(module)
        _builtins_loaded = True


def list_models() -> list[str]:
    """Names of all registered variants, sorted."""
    _load_builtins()
    return sorted(_FACTORIES)


def _lookup(name: str) -> str:
    _load_builtins()
    if name not in _FACTORIES:
        raise ValueError(f'unknown model {name!r}; available: {", ".join(sorted(_FACTORIES))}')
    return name


def model_config(name: str, **overrides: Any) -> Any:
    """Return the default config dataclass of variant ``name``, with ``overrides`` applied."""
    config_cls = _CONFIGS[_lookup(name)]
    known = {f.name for f in dataclasses.fields(config_cls)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise TypeError(
            f'unknown config field(s) for {name!r}: {", ".join(unknown)}; '
            f'valid fields: {", ".join(sorted(known))}'
        )
    return config_cls(**overrides)


def create_model(name: str, config: Any = None, **overrides: Any) -> nn.Module:
    """Build variant ``name`` from its default config with ``overrides``, or from ``config``."""
    _lookup(name)
    if config is not None:
        if not isinstance(config, _CONFIGS[name]):
            raise TypeError(
                f'config for {name!r} must be a {_CONFIGS[name].__name__}, '
                f'got {type(config).__name__}'
            )
        if overrides:
            config = dataclasses.replace(config, **overrides)
    else:
        config = model_config(name, **overrides)
    return _FACTORIES[name](config)
