"""Static index plan that turns 2-D neighborhood attention into a few dense attentions.

Geometry follows natten: with dilation ``d`` each axis splits into ``d`` interleaved groups
handled independently, and a query's ``kernel_size`` window is shifted (not padded) to
stay inside its group. Queries are cut into tiles of ``tile`` positions per axis; all
windows of a tile fit in one halo of ``tile + kernel_size - 1`` positions. Tiles whose
window layout relative to their halo is identical (all interior tiles, and each kind of
border tile) form a "block" that shares one additive mask, so a block is one batched
dense attention of ``tile**2`` queries against ``(tile + kernel_size - 1)**2`` keys.

Everything here depends only on (H, W, kernel, dilation); the plan is built from Python
ints (no data-dependent tensor logic), so it traces under ``torch.compile`` and ONNX
export, and eager calls reuse a cached copy.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch


def default_tile(kernel_size: int) -> int:
    """Tile edge that balances wasted (masked) work against dense-kernel efficiency.

    Larger tiles waste more masked keys, smaller ones leave the dense kernels short rows;
    ``bench/na_speed.py`` times the layer on the machine at hand.
    """
    return max(5, kernel_size - 1)


_PLAN_CACHE: dict[tuple, TilePlan] = {}
_WINDOW_CACHE: dict[tuple, tuple[torch.Tensor, torch.Tensor]] = {}


def _window_start(local: int, group_len: int, kernel_size: int) -> int:
    return min(max(local - kernel_size // 2, 0), group_len - kernel_size)


def is_tracing() -> bool:
    """Return True while torch.compile / torch.export / ONNX export trace the code (no caching)."""
    return torch.compiler.is_compiling() or torch.onnx.is_in_onnx_export()


def _build_axis_window(length, kernel_size, dilation, device):
    pos = torch.arange(length, device=device)
    group = pos % dilation
    local = torch.div(pos, dilation, rounding_mode='floor')
    group_len = torch.div(length - group + dilation - 1, dilation, rounding_mode='floor')
    start = torch.clamp(local - kernel_size // 2, min=0)
    start = torch.minimum(start, group_len - kernel_size)
    local_neighbour = start[:, None] + torch.arange(kernel_size, device=device)
    index = local_neighbour * dilation + group[:, None]
    relative = local_neighbour - local[:, None] + (kernel_size - 1)
    return index, relative


def axis_window(
    length: int, kernel_size: int, dilation: int = 1, device: torch.device | str = 'cpu'
) -> tuple[torch.Tensor, torch.Tensor]:
    """Neighbour positions of every position along one axis, natten border rules.

    Returns ``(index, relative)``, both int64 of shape ``(length, kernel_size)``:
    ``index[i, t]`` is the absolute position of the t-th neighbour of position ``i`` and
    ``relative[i, t]`` its offset (in dilation-group steps) shifted into
    ``[0, 2*kernel_size-2]``, i.e. the column of the relative-position bias table.
    """
    device = torch.device(device)
    if is_tracing():
        return _build_axis_window(length, kernel_size, dilation, device)
    key = (length, kernel_size, dilation, str(device))
    if key not in _WINDOW_CACHE:
        _WINDOW_CACHE[key] = _build_axis_window(length, kernel_size, dilation, device)
    return _WINDOW_CACHE[key]


@dataclass
class _AxisTiling:
    tile: int
    halo: int
    # One entry per tile class: window layout key, then per tile its query and halo positions.
    patterns: list
    queries: list
    halos: list
    # Per absolute position: (class, tile within class, slot within tile) of its own tile.
    owner: list


def _tile_axis(length: int, kernel_size: int, dilation: int, tile: int) -> _AxisTiling:
    group_lens = [(length - g + dilation - 1) // dilation for g in range(dilation)]
    tile = max(1, min(tile, min(group_lens) - kernel_size + 1))
    halo = tile + kernel_size - 1
    class_of: dict = {}
    tiling = _AxisTiling(tile, halo, [], [], [], [None] * length)
    for group, group_len in enumerate(group_lens):
        for first in range(0, group_len, tile):
            local_q = [min(first + j, group_len - 1) for j in range(tile)]
            starts = [_window_start(q, group_len, kernel_size) for q in local_q]
            # The halo holds every window of the tile (window starts grow by <= 1 per step).
            halo_start = min(starts[0], group_len - halo)
            pattern = (
                tuple(s - halo_start for s in starts),
                tuple(q - halo_start for q in local_q),
            )
            if pattern not in class_of:
                class_of[pattern] = len(tiling.patterns)
                tiling.patterns.append(pattern)
                tiling.queries.append([])
                tiling.halos.append([])
            cls = class_of[pattern]
            tile_index = len(tiling.queries[cls])
            tiling.queries[cls].append([group + dilation * q for q in local_q])
            tiling.halos[cls].append([group + dilation * (halo_start + h) for h in range(halo)])
            for j in range(min(tile, group_len - first)):
                tiling.owner[group + dilation * (first + j)] = (cls, tile_index, j)
    return tiling


def _pattern_relative(pattern, kernel_size: int, halo: int, device) -> torch.Tensor:
    """(tile, halo) bias-table column per (query slot, halo position); 2k-1 = outside."""
    starts = torch.tensor(pattern[0], device=device)[:, None]
    queries = torch.tensor(pattern[1], device=device)[:, None]
    h = torch.arange(halo, device=device)[None, :]
    inside = (h >= starts) & (h < starts + kernel_size)
    relative = h - queries + (kernel_size - 1)
    return torch.where(inside, relative, torch.full_like(relative, 2 * kernel_size - 1))


@dataclass
class TileBlock:
    """Tiles sharing one mask; they are consecutive in the plan's gather order."""

    num_tiles: int
    query_len: int
    halo_len: int
    bias_index: torch.Tensor  # (query_len * halo_len,) into a flattened (2k)x(2k) bias table
    mask: torch.Tensor  # (1, 1, query_len, halo_len): 0 inside the window, -inf outside


@dataclass
class TilePlan:
    """Gather order of query and key/value tokens for all blocks, and the way back.

    Tokens are addressed in a flattened ``(batch * H * W)`` axis. For a batch of ``B`` the
    gathered order is (block, batch, tile, slot), so each block is one contiguous chunk.
    """

    blocks: list
    tokens: int  # H * W
    query_index: torch.Tensor  # (sum of tiles*query_len,) block-major, batch 1
    halo_index: torch.Tensor  # (sum of tiles*halo_len,) block-major, batch 1
    query_offset: torch.Tensor  # (blocks,) start of each block in query_index
    query_count: torch.Tensor  # (blocks,) tiles*query_len of each block
    output_block: torch.Tensor  # (H*W,) block that owns each token's output
    output_within: torch.Tensor  # (H*W,) its position inside that block (batch 1)
    _batch_cache: dict = field(default_factory=dict, repr=False)

    def batch_indices(self, batch: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(query gather, key/value gather, output gather) indices for a batch size."""
        if is_tracing():
            return self._batch_indices(batch)
        if batch not in self._batch_cache:
            # Cached tensors must be ordinary ones: built under inference_mode they could
            # never be used by a later forward that autograd records.
            with torch.inference_mode(False):
                self._batch_cache[batch] = self._batch_indices(batch)
        return self._batch_cache[batch]

    def _batch_indices(self, batch):
        image = torch.arange(batch, device=self.query_index.device)
        query_sizes = [block.num_tiles * block.query_len for block in self.blocks]
        halo_sizes = [block.num_tiles * block.halo_len for block in self.blocks]
        query = self._spread(self.query_index, query_sizes, image)
        halo = self._spread(self.halo_index, halo_sizes, image)
        block = self.output_block
        output = (
            batch * self.query_offset[block][None, :]
            + image[:, None] * self.query_count[block][None, :]
            + self.output_within[None, :]
        )
        return query, halo, output.reshape(-1)

    def _spread(self, index, sizes, image):
        # Within each block, repeat its indices once per image, shifted to that image.
        parts = torch.split(index, sizes)
        shifted = [(part[None, :] + image[:, None] * self.tokens).reshape(-1) for part in parts]
        return torch.cat(shifted)


def _build_tile_plan(height, width, kernel_size, dilation, tile, device) -> TilePlan:
    rows = _tile_axis(height, kernel_size, dilation, tile)
    cols = _tile_axis(width, kernel_size, dilation, tile)
    side = 2 * kernel_size
    row_rel = [_pattern_relative(p, kernel_size, rows.halo, device) for p in rows.patterns]
    col_rel = [_pattern_relative(p, kernel_size, cols.halo, device) for p in cols.patterns]
    query_len = rows.tile * cols.tile
    halo_len = rows.halo * cols.halo
    blocks, query_parts, halo_parts, block_of = [], [], [], []
    for a, row_queries in enumerate(rows.queries):
        rq = torch.tensor(row_queries, device=device)
        rh = torch.tensor(rows.halos[a], device=device)
        block_of.append([])
        for b, col_queries in enumerate(cols.queries):
            cq = torch.tensor(col_queries, device=device)
            ch = torch.tensor(cols.halos[b], device=device)
            query_parts.append((rq[:, None, :, None] * width + cq[None, :, None, :]).reshape(-1))
            halo_parts.append((rh[:, None, :, None] * width + ch[None, :, None, :]).reshape(-1))
            rr = row_rel[a][:, None, :, None]
            cr = col_rel[b][None, :, None, :]
            outside = (rr == side - 1) | (cr == side - 1)
            mask = torch.zeros(outside.shape, device=device).masked_fill(outside, float('-inf'))
            block_of[a].append(len(blocks))
            blocks.append(
                TileBlock(
                    len(row_queries) * len(col_queries),
                    query_len,
                    halo_len,
                    (rr * side + cr).reshape(-1),
                    mask.reshape(1, 1, query_len, halo_len),
                )
            )
    query_count = torch.tensor([p.numel() for p in query_parts], device=device)
    query_offset = torch.cumsum(query_count, 0) - query_count

    row_owner = torch.tensor(rows.owner, device=device)
    col_owner = torch.tensor(cols.owner, device=device)
    col_class_tiles = torch.tensor([len(q) for q in cols.queries], device=device)
    block_table = torch.tensor(block_of, device=device)
    rc, rt, rs = (row_owner[:, i, None] for i in range(3))
    cc, ct, cs = (col_owner[None, :, i] for i in range(3))
    tile_index = rt * col_class_tiles[cc] + ct
    within = (tile_index * rows.tile + rs) * cols.tile + cs
    return TilePlan(
        blocks=blocks,
        tokens=height * width,
        query_index=torch.cat(query_parts),
        halo_index=torch.cat(halo_parts),
        query_offset=query_offset,
        query_count=query_count,
        output_block=block_table[rc, cc].reshape(-1),
        output_within=within.reshape(-1),
    )


def tile_plan(
    height: int,
    width: int,
    kernel_size: int,
    dilation: int = 1,
    device: torch.device | str = 'cpu',
    tile: int | None = None,
) -> TilePlan:
    """Index plan for NA on an ``height x width`` map; cached per shape in eager mode."""
    device = torch.device(device)
    if tile is None:
        tile = default_tile(kernel_size)
    if is_tracing():
        return _build_tile_plan(height, width, kernel_size, dilation, tile, device)
    key = (height, width, kernel_size, dilation, tile, str(device))
    if key not in _PLAN_CACHE:
        with torch.inference_mode(False):  # cached for training forwards too (see batch_indices)
            _PLAN_CACHE[key] = _build_tile_plan(height, width, kernel_size, dilation, tile, device)
    return _PLAN_CACHE[key]
