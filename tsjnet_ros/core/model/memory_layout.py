"""Which memory layout a feature map is in, for code paths that pick views by layout."""

from __future__ import annotations

import torch


def is_channels_last(x: torch.Tensor) -> bool:
    """Return True for a 4-D map stored channels-last only.

    A map that is also plain contiguous (1x1 or one-channel maps are in both layouts) gives
    False.
    """
    return x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()
