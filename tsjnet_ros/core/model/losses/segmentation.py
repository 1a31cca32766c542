"""Segmentation loss (the paper's L_Seg): pixel-wise cross-entropy with an ignore label."""

from __future__ import annotations

import torch
import torch.nn.functional as F

IGNORE_INDEX = 255


def segmentation_loss(
    logits: torch.Tensor, labels: torch.Tensor, ignore_index: int = IGNORE_INDEX
) -> torch.Tensor:
    """Cross-entropy of (B, C, h, w) logits against (B, H, W) integer labels.

    Logits are bilinearly upsampled to the label size. Pixels labelled ``ignore_index`` do
    not count; a batch with no labelled pixel gives 0 (not NaN).
    """
    if logits.ndim != 4:
        raise ValueError(f'segmentation logits must be (B, C, h, w), got {tuple(logits.shape)}')
    if labels.ndim != 3 or labels.shape[0] != logits.shape[0]:
        raise ValueError(
            f'segmentation labels must be (B, H, W) with B={logits.shape[0]}, '
            f'got {tuple(labels.shape)}'
        )
    if labels.is_floating_point():
        raise TypeError(f'segmentation labels must be integer class ids, got {labels.dtype}')
    labels = labels.long()
    valid = labels != ignore_index
    if valid.any():
        lo, hi = int(labels[valid].min()), int(labels[valid].max())
        if lo < 0 or hi >= logits.shape[1]:
            raise ValueError(
                f'segmentation labels span [{lo}, {hi}] but must be in [0, {logits.shape[1] - 1}] '
                f'or the ignore index {ignore_index}'
            )
    if not valid.any():
        return logits.sum() * 0.0
    if logits.shape[-2:] != labels.shape[-2:]:
        logits = F.interpolate(
            logits, size=labels.shape[-2:], mode='bilinear', align_corners=False
        )
    return F.cross_entropy(logits.float(), labels, ignore_index=ignore_index)
