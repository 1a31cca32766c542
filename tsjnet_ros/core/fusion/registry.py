"""Create a fusion backend by name, so nodes and tools select one with a string parameter."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from tsjnet_ros.core.fusion.backend import FusionBackend
from tsjnet_ros.core.fusion.classical import (
    LaplacianPyramidFusion,
    PixelFusion,
    SingleSourceFusion,
)
from tsjnet_ros.core.image.color import fixed_range_scaler


def _neural(**kwargs: Any) -> FusionBackend:
    """TSJNet from ``checkpoint``; an empty or missing one means the shipped model."""
    try:
        from tsjnet_ros.core.fusion.neural import NeuralFusionBackend
    except ImportError as exc:  # the model stack is optional for classical use
        raise RuntimeError(f'the neural fusion backend is unavailable: {exc}') from exc
    if not kwargs.get('checkpoint'):
        from tsjnet_ros.resources import default_checkpoint

        kwargs['checkpoint'] = default_checkpoint()
    return NeuralFusionBackend(**kwargs)


_FACTORIES: dict[str, Callable[..., FusionBackend]] = {
    'average': lambda **kw: PixelFusion('average', **kw),
    'max': lambda **kw: PixelFusion('max', **kw),
    'laplacian_pyramid': lambda **kw: LaplacianPyramidFusion(**kw),
    'tsjnet': _neural,
    'ir_only': lambda **kw: SingleSourceFusion('ir_only', **kw),
    'visible_only': lambda **kw: SingleSourceFusion('visible_only', **kw),
}


def available_backends() -> list[str]:
    """Names accepted by :func:`create_backend`."""
    return sorted(_FACTORIES)


def create_backend(
    name: str, ir_range: Sequence[float] | None = None, **kwargs: Any
) -> FusionBackend:
    """Build the backend called ``name``; keyword arguments go to its constructor.

    ``ir_range`` is the node's parameter of that name: ``[low, high]`` in IR camera units
    (counts, degC, K) maps that range to [0, 1] for 16-bit and float IR; None or ``[0, 0]``
    keeps the backend's automatic gain. :class:`ValueError` for an unknown name or a bad range.
    """
    try:
        factory = _FACTORIES[name]
    except KeyError:
        raise ValueError(
            f'unknown fusion backend {name!r}; available: {", ".join(available_backends())}'
        ) from None
    if ir_range is not None:
        try:
            scaler = fixed_range_scaler(ir_range)
        except ValueError as exc:
            raise ValueError(f'ir_range {exc}') from None
        if scaler is not None:
            kwargs['ir_scaler'] = scaler
    return factory(**kwargs)
