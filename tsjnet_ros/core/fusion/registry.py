"""Create a fusion backend by name, so nodes and tools select one with a string parameter."""

from __future__ import annotations

from typing import Any, Callable

from tsjnet_ros.core.fusion.backend import FusionBackend
from tsjnet_ros.core.fusion.classical import LaplacianPyramidFusion, PixelFusion, SingleSourceFusion


def _neural(**kwargs: Any) -> FusionBackend:
    """TSJNet from ``checkpoint``; an empty or missing one means the shipped model."""
    try:
        from tsjnet_ros.core.fusion.neural import NeuralFusionBackend
    except ImportError as exc:  # the model stack is optional for classical use
        raise RuntimeError(f"the neural fusion backend is unavailable: {exc}") from exc
    if not kwargs.get("checkpoint"):
        from tsjnet_ros.resources import default_checkpoint

        kwargs["checkpoint"] = default_checkpoint()
    return NeuralFusionBackend(**kwargs)


_FACTORIES: dict[str, Callable[..., FusionBackend]] = {
    "average": lambda **kw: PixelFusion("average", **kw),
    "max": lambda **kw: PixelFusion("max", **kw),
    "laplacian_pyramid": lambda **kw: LaplacianPyramidFusion(**kw),
    "tsjnet": _neural,
    "ir_only": lambda **kw: SingleSourceFusion("ir_only", **kw),
    "visible_only": lambda **kw: SingleSourceFusion("visible_only", **kw),
}


def available_backends() -> list[str]:
    """Names accepted by :func:`create_backend`."""
    return sorted(_FACTORIES)


def create_backend(name: str, **kwargs: Any) -> FusionBackend:
    """Build the backend called ``name``; keyword arguments go to its constructor."""
    try:
        factory = _FACTORIES[name]
    except KeyError:
        raise ValueError(
            f"unknown fusion backend {name!r}; available: {', '.join(available_backends())}"
        ) from None
    return factory(**kwargs)
