"""Multiply-accumulate (MAC) count of a forward pass, neighborhood attention included.

``torch.utils.flop_counter.FlopCounterMode`` counts convolutions and matrix products but
not what neighborhood attention does with gathers and masked dense attention (it would
see either nothing or the padded tile work). The work of every
:class:`NeighborhoodAttention2d` call is therefore replaced by its analytic count:
qkv projection ``3 C^2`` + attention ``2 K^2 C`` (scores and weighted sum) per (padded)
token and output projection ``C^2`` per token.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from tsjnet_ros.core.model.layers import NeighborhoodAttention2d


def neighborhood_attention_macs(
    module: NeighborhoodAttention2d, batch: int, height: int, width: int
) -> int:
    """Analytic MACs of one NA layer call on a (batch, height, width, dim) input."""
    window = module.kernel_size * module.dilation
    padded_tokens = batch * max(height, window) * max(width, window)
    tokens = batch * height * width
    dim = module.dim
    return padded_tokens * (3 * dim * dim + 2 * module.kernel_size**2 * dim) + tokens * dim * dim


@dataclass
class MacReport:
    """Multiply-accumulate count of one forward pass.

    ``total`` = ``counted`` (FlopCounterMode, NA layers excluded) + ``attention`` (analytic NA).
    """

    total: int
    counted: int
    attention: int
    per_module: dict[str, int] = field(default_factory=dict)

    @property
    def gmac(self) -> float:
        return self.total / 1e9


def count_macs(model: nn.Module, *args: Any, **kwargs: Any) -> MacReport:
    """Run ``model(*args, **kwargs)`` once without autograd and count its MACs.

    ``per_module`` splits the total over the model's direct children (NA included).
    """
    counter = FlopCounterMode(display=False)
    na_counted = [0]
    na_analytic = [0]
    child_totals: dict[str, int] = {}
    na_starts: dict[int, int] = {}
    child_starts: dict[int, int] = {}

    def counted_flops() -> int:
        return int(sum(counter.flop_counts['Global'].values()))

    def na_pre(module: nn.Module, inputs: tuple) -> None:
        na_starts[id(module)] = counted_flops()

    def na_post(module: nn.Module, inputs: tuple, output: Any) -> None:
        na_counted[0] += counted_flops() - na_starts.pop(id(module))
        batch, height, width, _ = inputs[0].shape
        na_analytic[0] += neighborhood_attention_macs(module, batch, height, width)

    def macs_so_far() -> int:
        return (counted_flops() - na_counted[0]) // 2 + na_analytic[0]

    def child_hooks(name: str):
        def pre(module: nn.Module, inputs: tuple) -> None:
            child_starts[id(module)] = macs_so_far()

        def post(module: nn.Module, inputs: tuple, output: Any) -> None:
            child_totals[name] = (
                child_totals.get(name, 0) + macs_so_far() - child_starts.pop(id(module))
            )

        return pre, post

    handles = []
    for module in model.modules():
        if isinstance(module, NeighborhoodAttention2d):
            handles.append(module.register_forward_pre_hook(na_pre))
            handles.append(module.register_forward_hook(na_post))
    for name, child in model.named_children():
        pre, post = child_hooks(name)
        handles.append(child.register_forward_pre_hook(pre))
        handles.append(child.register_forward_hook(post))
    try:
        with torch.no_grad(), counter:
            model(*args, **kwargs)
    finally:
        for handle in handles:
            handle.remove()
    counted = (counted_flops() - na_counted[0]) // 2
    return MacReport(counted + na_analytic[0], counted, na_analytic[0], child_totals)
