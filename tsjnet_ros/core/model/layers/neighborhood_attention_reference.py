"""Dense masked-attention definition of 2-D neighborhood attention, for testing only.

It builds the full ``(H*W) x (H*W)`` mask straight from natten's rule (same dilation
group, and within the group the key lies at most ``kernel_size // 2`` steps from the
query's window centre, where the centre is the query clamped away from the borders),
so it shares no indexing code with the fast implementation. O((HW)^2) memory: small
inputs only.
"""

from __future__ import annotations

import torch


def _axis_allowed(length: int, kernel_size: int, dilation: int, device) -> torch.Tensor:
    """Boolean (length, length): may a query at row i see a key at row j."""
    pos = torch.arange(length, device=device)
    same_group = (pos[:, None] % dilation) == (pos[None, :] % dilation)
    local_q = pos[:, None] // dilation
    local_k = pos[None, :] // dilation
    group_len = (length - (pos[:, None] % dilation) + dilation - 1) // dilation
    radius = kernel_size // 2
    centre = torch.minimum(torch.clamp(local_q, min=radius), group_len - 1 - radius)
    return same_group & ((local_k - centre).abs() <= radius)


def dense_neighborhood_attention_2d(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    kernel_size: int,
    dilation: int = 1,
    rpb: torch.Tensor | None = None,
    scale: float | None = None,
) -> torch.Tensor:
    """Neighborhood attention as full attention with a mask; (B, H, W, heads, D) layout."""
    batch, height, width, heads, head_dim = query.shape
    if scale is None:
        scale = head_dim**-0.5
    device = query.device
    allowed = (
        _axis_allowed(height, kernel_size, dilation, device)[:, None, :, None]
        & _axis_allowed(width, kernel_size, dilation, device)[None, :, None, :]
    ).reshape(height * width, height * width)
    if int(allowed.sum(dim=1).min()) != kernel_size**2:
        raise ValueError('every query must see exactly kernel_size**2 keys')

    q = query.reshape(batch, height * width, heads, head_dim).transpose(1, 2)
    k = key.reshape(batch, height * width, heads, head_dim).transpose(1, 2)
    v = value.reshape(batch, height * width, heads, value.shape[-1]).transpose(1, 2)
    logits = torch.matmul(q, k.transpose(-1, -2)) * scale
    if rpb is not None:
        # Offset of key relative to query in dilation-group steps, shifted to table columns.
        ys = torch.arange(height, device=device) // dilation
        xs = torch.arange(width, device=device) // dilation
        dy = (ys[None, :] - ys[:, None]).clamp(-(kernel_size - 1), kernel_size - 1)
        dx = (xs[None, :] - xs[:, None]).clamp(-(kernel_size - 1), kernel_size - 1)
        rows = dy[:, None, :, None] + kernel_size - 1
        cols = dx[None, :, None, :] + kernel_size - 1
        bias = rpb[:, rows, cols]
        logits = logits + bias.reshape(heads, height * width, height * width)
    logits = logits.masked_fill(~allowed, float('-inf'))
    out = torch.matmul(torch.softmax(logits, dim=-1), v)
    return out.transpose(1, 2).reshape(batch, height, width, heads, value.shape[-1])
