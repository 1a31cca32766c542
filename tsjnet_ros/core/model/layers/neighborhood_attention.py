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

BACKENDS = ("auto", "natten", "torch")

# Window index tables depend only on (length, kernel, dilation, device); they are built
# once in eager mode and reused by every later call.
_WINDOW_CACHE: dict[tuple[int, int, int, str], tuple[torch.Tensor, torch.Tensor]] = {}


def _build_axis_window(
    length: int, kernel_size: int, dilation: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    pos = torch.arange(length, device=device)
    group = pos % dilation
    local = torch.div(pos, dilation, rounding_mode="floor")
    group_len = torch.div(length - group + dilation - 1, dilation, rounding_mode="floor")
    start = torch.clamp(local - kernel_size // 2, min=0)
    start = torch.minimum(start, group_len - kernel_size)
    local_neighbour = start[:, None] + torch.arange(kernel_size, device=device)
    index = local_neighbour * dilation + group[:, None]
    relative = local_neighbour - local[:, None] + (kernel_size - 1)
    return index, relative


def axis_window(
    length: int, kernel_size: int, dilation: int, device: torch.device | str = "cpu"
) -> tuple[torch.Tensor, torch.Tensor]:
    """Neighbour positions of every position along one axis, natten border rules.

    Returns ``(index, relative)``, both int64 of shape ``(length, kernel_size)``:
    ``index[i, t]`` is the absolute position of the t-th neighbour of position ``i`` and
    ``relative[i, t]`` its offset (in dilation-group steps) shifted into
    ``[0, 2*kernel_size-2]``, i.e. the column of the relative-position bias table.
    """
    device = torch.device(device)
    if torch.compiler.is_compiling() or torch.onnx.is_in_onnx_export():
        return _build_axis_window(length, kernel_size, dilation, device)
    key = (length, kernel_size, dilation, str(device))
    cached = _WINDOW_CACHE.get(key)
    if cached is None:
        cached = _build_axis_window(length, kernel_size, dilation, device)
        _WINDOW_CACHE[key] = cached
    return cached


def _check_int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
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
    for name, tensor in (("query", query), ("key", key), ("value", value)):
        if not isinstance(tensor, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(tensor).__name__}")
        if tensor.dim() != 5:
            raise ValueError(
                f"{name} must be shaped (batch, height, width, heads, head_dim), "
                f"got {tuple(tensor.shape)}"
            )
        if not tensor.is_floating_point():
            raise TypeError(f"{name} must be a floating-point tensor, got {tensor.dtype}")
    if key.shape != query.shape:
        raise ValueError(
            f"key shape {tuple(key.shape)} must equal query shape {tuple(query.shape)}"
        )
    if value.shape[:4] != query.shape[:4]:
        raise ValueError(
            f"value shape {tuple(value.shape)} must match query shape "
            f"{tuple(query.shape)} in (batch, height, width, heads)"
        )
    if not (query.dtype == key.dtype == value.dtype):
        raise TypeError(
            f"query/key/value dtypes differ: {query.dtype}, {key.dtype}, {value.dtype}"
        )
    if not (query.device == key.device == value.device):
        raise ValueError(
            f"query/key/value devices differ: {query.device}, {key.device}, {value.device}"
        )
    _check_int("kernel_size", kernel_size, 1)
    _check_int("dilation", dilation, 1)
    if kernel_size % 2 == 0:
        raise ValueError(f"kernel_size must be odd, got {kernel_size}")
    height, width, heads = query.shape[1], query.shape[2], query.shape[3]
    if height < kernel_size * dilation or width < kernel_size * dilation:
        raise ValueError(
            f"height and width ({height}x{width}) must be >= kernel_size*dilation "
            f"({kernel_size}*{dilation}={kernel_size * dilation})"
        )
    if rpb is not None:
        if not isinstance(rpb, torch.Tensor):
            raise TypeError(f"rpb must be a torch.Tensor or None, got {type(rpb).__name__}")
        expected = (heads, 2 * kernel_size - 1, 2 * kernel_size - 1)
        if tuple(rpb.shape) != expected:
            raise ValueError(
                f"rpb must be shaped (heads, 2*kernel_size-1, 2*kernel_size-1) = "
                f"{expected}, got {tuple(rpb.shape)}"
            )
        if rpb.device != query.device:
            raise ValueError(f"rpb is on {rpb.device} but query is on {query.device}")
    if scale is not None and (isinstance(scale, bool) or not isinstance(scale, (int, float))):
        raise TypeError(f"scale must be a float or None, got {type(scale).__name__}")
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")


def natten_available() -> bool:
    """True when the natten package imports."""
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
    """Pure-PyTorch NA; arguments are assumed validated (see ``neighborhood_attention_2d``)."""
    batch, height, width, heads, head_dim = query.shape
    if scale is None:
        scale = head_dim**-0.5
    row_index, row_rel = axis_window(height, kernel_size, dilation, query.device)
    col_index, col_rel = axis_window(width, kernel_size, dilation, query.device)
    window = kernel_size * kernel_size

    # (B, heads, H, W, D) so that one advanced index gathers every neighbourhood.
    q = query.permute(0, 3, 1, 2, 4)
    k = key.permute(0, 3, 1, 2, 4)
    v = value.permute(0, 3, 1, 2, 4)
    rows = row_index[:, None, :, None]
    cols = col_index[None, :, None, :]
    k_nb = k[:, :, rows, cols].reshape(batch, heads, height, width, window, head_dim)
    v_nb = v[:, :, rows, cols].reshape(batch, heads, height, width, window, value.shape[-1])

    logits = torch.matmul(k_nb, (q * scale).unsqueeze(-1)).squeeze(-1)
    if rpb is not None:
        bias = rpb[:, row_rel[:, None, :, None], col_rel[None, :, None, :]]
        logits = logits + bias.reshape(heads, height, width, window).to(logits.dtype)
    attn = torch.softmax(logits, dim=-1)
    if dropout_p > 0.0:
        attn = F.dropout(attn, p=dropout_p, training=True)
    out = torch.matmul(attn.unsqueeze(-2), v_nb).squeeze(-2)
    return out.permute(0, 2, 3, 1, 4)


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
    backend: str = "auto",
    *,
    dropout_p: float = 0.0,
) -> torch.Tensor:
    """2-D neighborhood attention on ``(B, H, W, heads, head_dim)`` tensors.

    ``rpb`` (``(heads, 2k-1, 2k-1)``) is added to the logits per relative offset as in NAT.
    ``scale`` defaults to ``head_dim ** -0.5``. ``backend``: ``"natten"``, ``"torch"`` (ours)
    or ``"auto"``, which uses natten only for CUDA tensors without rpb or dropout when
    natten imports, and ours otherwise. ``dropout_p`` drops attention weights (ours only).
    Returns ``(B, H, W, heads, value_head_dim)``.
    """
    validate_neighborhood_args(query, key, value, kernel_size, dilation, rpb, scale, backend)
    if not 0.0 <= float(dropout_p) < 1.0:
        raise ValueError(f"dropout_p must be in [0, 1), got {dropout_p}")
    if backend == "auto":
        use_natten = (
            query.is_cuda and rpb is None and dropout_p == 0.0 and natten_available()
        )
        backend = "natten" if use_natten else "torch"
    if backend == "natten":
        if rpb is not None:
            raise ValueError("backend='natten' does not support rpb (natten >= 0.20 dropped it)")
        if dropout_p > 0.0:
            raise ValueError("backend='natten' does not support attention dropout")
        return _natten_na2d(query, key, value, kernel_size, dilation, scale)
    return neighborhood_attention_2d_torch(
        query, key, value, kernel_size, dilation, rpb, scale, float(dropout_p)
    )
