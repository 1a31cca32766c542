"""Shared-weight encoder: one set of weights turns IR and visible into base/detail features."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class EncodedFeatures:
    """Encoder output: ``base``, ``detail`` and optional ``skip`` features.

    ``base`` (global/low-frequency, NAT branch) and ``detail`` (DSM branch) features;
    ``skip`` optional higher-resolution stem features for decoders that need them.
    """

    base: torch.Tensor
    detail: torch.Tensor
    skip: torch.Tensor | None = None


class SharedEncoder(nn.Module):
    """``stem -> body -> neck``, then the base and detail branches on the neck output."""

    def __init__(
        self,
        stem: nn.Module,
        body: nn.Module,
        neck: nn.Module,
        base_branch: nn.Module,
        detail_branch: nn.Module,
        keep_skip: bool = False,
    ) -> None:
        super().__init__()
        self.stem = stem
        self.body = body
        self.neck = neck
        self.base_branch = base_branch
        self.detail_branch = detail_branch
        self.keep_skip = keep_skip

    def forward(self, x: torch.Tensor) -> EncodedFeatures:
        stem = self.stem(x)
        skip = stem if self.keep_skip else None
        features = self.neck(self.body(stem))
        del stem  # not held through the branches unless it is the skip
        return EncodedFeatures(
            base=self.base_branch(features),
            detail=self.detail_branch(features),
            skip=skip,
        )
