"""2-D neighborhood attention (NA) with a natten backend and a pure-PyTorch backend.

Every query token attends to the ``kernel_size x kernel_size`` key/value tokens around it.
Border semantics follow natten: with dilation ``d`` the image splits into ``d x d``
interleaved dilation groups that are handled independently, and near a border the window
is shifted to stay inside the (group's) image instead of being zero-padded, so every query
always sees exactly ``kernel_size**2`` tokens.

Tensors use natten's channels-last layout ``(batch, height, width, heads, head_dim)``.
The PyTorch backend runs forward and backward on any device, supports a NAT-style
relative-position bias, compiles with ``torch.compile`` and exports to ONNX.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from tsjnet_ros.core.model.layers.neighborhood_tiling import is_tracing, tile_plan

BACKENDS = ('auto', 'natten', 'torch')

__all__ = [
    'BACKENDS',
    'natten_available',
    'neighborhood_attention_2d',
    'neighborhood_attention_2d_torch',
    'validate_neighborhood_args',
]


def _check_int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f'{name} must be an int, got {type(value).__name__}')
    if value < minimum:
        raise ValueError(f'{name} must be >= {minimum}, got {value}')
    return value


def validate_neighborhood_args(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    kernel_size: int,
    dilation: int,
    rpb: torch.Tensor | None,
    scale: float | None,
    backend: str,
) -> None:
    """Raise TypeError/ValueError naming the problem when NA arguments are inconsistent."""
    for name, tensor in (('query', query), ('key', key), ('value', value)):
        if not isinstance(tensor, torch.Tensor):
            raise TypeError(f'{name} must be a torch.Tensor, got {type(tensor).__name__}')
        if tensor.dim() != 5:
            raise ValueError(
                f'{name} must be shaped (batch, height, width, heads, head_dim), '
                f'got {tuple(tensor.shape)}'
            )
        if not tensor.is_floating_point():
            raise TypeError(f'{name} must be a floating-point tensor, got {tensor.dtype}')
    if key.shape != query.shape:
        raise ValueError(
            f'key shape {tuple(key.shape)} must equal query shape {tuple(query.shape)}'
        )
    if value.shape[:4] != query.shape[:4]:
        raise ValueError(
            f'value shape {tuple(value.shape)} must match query shape '
            f'{tuple(query.shape)} in (batch, height, width, heads)'
        )
    if not (query.dtype == key.dtype == value.dtype):
        raise TypeError(
            f'query/key/value dtypes differ: {query.dtype}, {key.dtype}, {value.dtype}'
        )
    if not (query.device == key.device == value.device):
        raise ValueError(
            f'query/key/value devices differ: {query.device}, {key.device}, {value.device}'
        )
    _check_int('kernel_size', kernel_size, 1)
    _check_int('dilation', dilation, 1)
    if kernel_size % 2 == 0:
        raise ValueError(f'kernel_size must be odd, got {kernel_size}')
    height, width, heads = query.shape[1], query.shape[2], query.shape[3]
    if height < kernel_size * dilation or width < kernel_size * dilation:
        raise ValueError(
            f'height and width ({height}x{width}) must be >= kernel_size*dilation '
            f'({kernel_size}*{dilation}={kernel_size * dilation})'
        )
    if rpb is not None:
        if not isinstance(rpb, torch.Tensor):
            raise TypeError(f'rpb must be a torch.Tensor or None, got {type(rpb).__name__}')
        expected = (heads, 2 * kernel_size - 1, 2 * kernel_size - 1)
        if tuple(rpb.shape) != expected:
            raise ValueError(
                f'rpb must be shaped (heads, 2*kernel_size-1, 2*kernel_size-1) = '
                f'{expected}, got {tuple(rpb.shape)}'
            )
        if rpb.device != query.device:
            raise ValueError(f'rpb is on {rpb.device} but query is on {query.device}')
    if scale is not None and (isinstance(scale, bool) or not isinstance(scale, (int, float))):
        raise TypeError(f'scale must be a float or None, got {type(scale).__name__}')
    if backend not in BACKENDS:
        raise ValueError(f'backend must be one of {BACKENDS}, got {backend!r}')


def natten_available() -> bool:
    """Return True when the natten package imports."""
    try:
        import natten  # noqa: F401
    except ImportError:
        return False
    return True


def neighborhood_attention_2d_torch(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    kernel_size: int,
    dilation: int = 1,
    rpb: torch.Tensor | None = None,
    scale: float | None = None,
    dropout_p: float = 0.0,
) -> torch.Tensor:
    """Pure-PyTorch NA; arguments are assumed validated (see ``neighborhood_attention_2d``).

    Queries are grouped into small tiles that share one key/value halo, and each group of
    tiles with the same border situation becomes one batched ``scaled_dot_product_attention``
    call whose additive mask (plus rpb) is shared by all its tiles. Memory stays linear in
    the number of tokens and the dense attention kernels do the arithmetic.
    """
    batch, height, width, heads, head_dim = query.shape
    value_dim = value.shape[-1]
    if scale is None:
        scale = head_dim**-0.5
    plan = tile_plan(height, width, kernel_size, dilation, query.device)
    query_index, halo_index, output_index = plan.batch_indices(batch)
    # One gather per tensor (a single scatter-add in backward), then per-block views.
    q_all = query.reshape(batch * height * width, heads, head_dim).index_select(0, query_index)
    k_all = key.reshape(batch * height * width, heads, head_dim).index_select(0, halo_index)
    v_all = value.reshape(batch * height * width, heads, value_dim).index_select(0, halo_index)
    if rpb is not None:
        # Extra row/column of -inf: the "outside the window" entry of every bias lookup.
        table = F.pad(rpb, (0, 1, 0, 1), value=float('-inf')).reshape(heads, -1)
    # torch.split (not slicing) so backward concatenates block gradients in one pass.
    q_sizes = [batch * block.num_tiles * block.query_len for block in plan.blocks]
    kv_sizes = [batch * block.num_tiles * block.halo_len for block in plan.blocks]
    outputs = []
    for block, q, k, v in zip(
        plan.blocks,
        torch.split(q_all, q_sizes),
        torch.split(k_all, kv_sizes),
        torch.split(v_all, kv_sizes),
    ):
        rows = batch * block.num_tiles
        q_len, kv_len = block.query_len, block.halo_len
        # (B*tiles, heads, tokens, dim) views of the (B*tiles*tokens, heads, dim) gathers.
        q = q.view(rows, q_len, heads, head_dim).transpose(1, 2)
        k = k.view(rows, kv_len, heads, head_dim).transpose(1, 2)
        v = v.view(rows, kv_len, heads, value_dim).transpose(1, 2)
        if rpb is None:
            bias = block.mask.to(query.dtype)
        else:
            bias = table.index_select(1, block.bias_index).view(1, heads, q_len, kv_len)
            bias = bias.to(query.dtype)
        out = F.scaled_dot_product_attention(
            q, k, v, attn_mask=bias, dropout_p=dropout_p, scale=scale
        )
        out = out.transpose(1, 2)
        if is_tracing():
            # Traced graphs may later swap the attention kernel for one whose output has
            # other strides; an explicit copy keeps the following view valid.
            out = out.clone(memory_format=torch.contiguous_format)
        outputs.append(out.reshape(rows * q_len, heads, value_dim))
    gathered = outputs[0] if len(outputs) == 1 else torch.cat(outputs, dim=0)
    out = gathered.index_select(0, output_index)
    return out.view(batch, height, width, heads, value_dim)


def _natten_na2d(query, key, value, kernel_size, dilation, scale):
    try:
        import natten
    except ImportError as exc:
        raise RuntimeError("backend='natten' requested but natten is not installed") from exc
    return natten.na2d(query, key, value, kernel_size=kernel_size, dilation=dilation, scale=scale)


def neighborhood_attention_2d(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    kernel_size: int,
    dilation: int = 1,
    rpb: torch.Tensor | None = None,
    scale: float | None = None,
    backend: str = 'auto',
    *,
    dropout_p: float = 0.0,
) -> torch.Tensor:
    """2-D neighborhood attention on ``(B, H, W, heads, head_dim)`` tensors.

    ``rpb`` (``(heads, 2k-1, 2k-1)``) is added to the logits per relative offset as in NAT.
    ``scale`` defaults to ``head_dim ** -0.5``. ``backend``: ``"natten"``, ``"torch"`` (ours)
    or ``"auto"``, which uses natten for CUDA tensors without rpb or dropout when natten
    imports and has a kernel for the case, and ours otherwise. ``dropout_p`` drops
    attention weights (ours only).
    Returns ``(B, H, W, heads, value_head_dim)``.
    """
    validate_neighborhood_args(query, key, value, kernel_size, dilation, rpb, scale, backend)
    if not 0.0 <= float(dropout_p) < 1.0:
        raise ValueError(f'dropout_p must be in [0, 1), got {dropout_p}')
    if backend == 'auto':
        if query.is_cuda and rpb is None and dropout_p == 0.0 and natten_available():
            try:
                return _natten_na2d(query, key, value, kernel_size, dilation, scale)
            except NotImplementedError:
                pass  # natten has no kernel for this case (e.g. its head_dim limits): use ours
        backend = 'torch'
    if backend == 'natten':
        if rpb is not None:
            raise ValueError("backend='natten' does not support rpb (natten >= 0.20 dropped it)")
        if dropout_p > 0.0:
            raise ValueError("backend='natten' does not support attention dropout")
        return _natten_na2d(query, key, value, kernel_size, dilation, scale)
    return neighborhood_attention_2d_torch(
        query, key, value, kernel_size, dilation, rpb, scale, float(dropout_p)
    )
