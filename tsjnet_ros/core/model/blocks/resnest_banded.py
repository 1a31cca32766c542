"""Inference form of a ResNeSt stage and the row-local layers after it, run in row bands.

At full resolution a ResNeSt stage of ``tsjnet``/``tsjnet_official`` outputs 512-channel
maps (630 MB each at 640x480), and the 3x3 convs after it read them: whole-map execution
holds two or three such maps at once. Only the split attention's global mean pool ties
rows together, so the stage runs in one pass per bottleneck plus a final one:

* pass ``i`` computes block ``i``'s reduced (``conv1``) and radix-conv maps band by band
  (block ``i``'s input recomputed from what is kept, with the rows its 3x3 conv needs)
  and sums the radix maps for the pooled mean. Blocks before the last keep their radix
  maps and mix them into the attended map ``y_i`` (``planes`` channels); the last block
  keeps only its reduced map;
* the final pass recomputes, band by band, every block's output from the stage input,
  ``y_1 .. y_n-1`` and the last block's radix conv (the first block's shortcut pool reads
  its input's neighbouring rows) and runs the tail on the band plus its halo
  (:mod:`~tsjnet_ros.core.model.row_bands`).

Kept at full size: the stage input, the tail's output and ``planes``-channel maps (pass
``i`` of ``n``: ``i - 1`` attended maps and ``radix`` radix maps, or the reduced map for
the last block), never a wide map. For the two-block stages of ``tsjnet`` that is at most
four. Pass ``i`` recomputes the wide outputs of blocks ``1 .. i-1`` (1x1 products), the
final pass all of them and the last block's radix conv, and every band its halo rows;
for two blocks that is one more wide 1x1 product and one more radix conv than whole-map
execution. The result equals whole-map execution up to float rounding (the pooled sums
add in another order). Built by
:func:`~tsjnet_ros.core.model.inference_form.inference_copy` from fused blocks.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from tsjnet_ros.core.model.blocks.resnest_fused import FusedResNeStBottleneck
from tsjnet_ros.core.model.row_bands import bands, halo, row_radius, run_on_rows


def can_band(blocks: Sequence[nn.Module], tail: nn.Module) -> bool:
    """Tell whether ``blocks`` (then ``tail``) can run as a :class:`BandedResNeStStage`.

    Every block must be a :class:`FusedResNeStBottleneck` whose radix conv is row-local,
    only the first may pool its shortcut, and ``tail`` must be row-local.
    """
    if not blocks or row_radius(tail) is None:
        return False
    for index, block in enumerate(blocks):
        if type(block) is not FusedResNeStBottleneck:
            return False
        if row_radius(block.conv1) != 0 or row_radius(block.conv2.radix_conv) is None:
            return False
        if block.shortcut_pool is not None and (
            index > 0 or row_radius(block.shortcut_pool) is None
        ):
            return False
    return True


class BandedResNeStStage(nn.Module):
    """``tail(blocks(x))`` computed in row bands (see the module docstring).

    Input (B, C_in, H, W) float, channels-first; output ``tail``'s (B, C_out, H, W).
    ``band_bytes`` bounds one band of the widest block output without its halo rows
    (rows = band_bytes / (4 B C_wide W), at least 8); maps with no more rows than that,
    autograd and channels-last inputs run the blocks and the tail whole. Raises
    ValueError when :func:`can_band` refuses ``blocks`` and ``tail``.
    """

    def __init__(
        self, blocks: Sequence[nn.Module], tail: nn.Module, band_bytes: int = 64 * 2**20
    ) -> None:
        super().__init__()
        if not can_band(blocks, tail):
            raise ValueError('BandedResNeStStage needs fused ResNeSt blocks and a row-local tail')
        self.blocks = nn.ModuleList(blocks)
        self.tail = tail
        self.band_bytes = int(band_bytes)
        self.tail_radius = row_radius(tail)
        pool = blocks[0].shortcut_pool
        self.pool_radius = 0 if pool is None else row_radius(pool)
        self.radix_radii = [row_radius(block.conv2.radix_conv) for block in blocks]

    def band_rows(self, x: torch.Tensor) -> int:
        """Rows per band for input ``x`` (see the class docstring)."""
        wide = max(block.weight3.shape[0] for block in self.blocks)
        per_row = x.element_size() * x.shape[0] * wide * x.shape[-1]
        return max(8, self.band_bytes // max(1, per_row))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows = self.band_rows(x)
        if (
            x.shape[-2] <= rows
            or not x.is_contiguous()
            or (torch.is_grad_enabled() and x.requires_grad)
        ):
            for block in self.blocks:
                x = block(x)
            return self.tail(x)
        kept: list[torch.Tensor | tuple[torch.Tensor, torch.Tensor]] = []
        for index in range(len(self.blocks)):
            kept.append(self._attend(index, x, kept, rows))
        return self._tail_pass(x, kept, rows)

    def _attended_rows(
        self, index: int, kept: list, top: int, bottom: int, height: int
    ) -> torch.Tensor:
        """Rows ``[top, bottom)`` of block ``index``'s attended map."""
        if isinstance(kept[index], torch.Tensor):
            return kept[index][:, :, top:bottom]
        reduced, weights = kept[index]
        radix_conv = self.blocks[index].conv2.radix_conv
        first, last = halo(top, bottom, self.radix_radii[index], height)
        mixed = run_on_rows(radix_conv, reduced[:, :, first:last], first, top, bottom)
        return _mix(list(mixed.chunk(weights.shape[1], dim=1)), weights)

    def _outputs(
        self, x: torch.Tensor, kept: list, count: int, top: int, bottom: int
    ) -> torch.Tensor:
        """Rows ``[top, bottom)`` of the first ``count`` blocks' output (``x`` for none)."""
        if count == 0:
            return x[:, :, top:bottom]
        out = None
        for index in range(count):
            block = self.blocks[index]
            attended = self._attended_rows(index, kept, top, bottom, x.shape[-2])
            if index == 0:  # the shortcut reads the caller's input: never overwritten
                out = block.merge(attended, self._shortcut_source(block, x, top, bottom))
            else:  # the previous block's band is this stage's own temporary
                out = block.merge(attended, out, overwrite_source=True)
        return out

    def _shortcut_source(
        self, block: FusedResNeStBottleneck, x: torch.Tensor, top: int, bottom: int
    ) -> torch.Tensor:
        """Rows ``[top, bottom)`` of the first block's shortcut input (pooled if it pools)."""
        if block.shortcut_pool is None:
            return x[:, :, top:bottom]
        first, last = halo(top, bottom, self.pool_radius, x.shape[-2])
        return run_on_rows(block.shortcut_pool, x[:, :, first:last], first, top, bottom)

    def _attend(
        self, index: int, x: torch.Tensor, kept: list, rows: int
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Block ``index``'s attended map, or for the last block (reduced map, radix weights).

        The attended map is (B, planes, H, W); the reduced map (B, planes, H, W) and the
        weights (B, radix, planes, 1, 1).
        """
        block = self.blocks[index]
        split_attention = block.conv2
        last_block = index == len(self.blocks) - 1
        batch, height, width = x.shape[0], x.shape[-2], x.shape[-1]
        radix, planes = split_attention.radix, block.weight3.shape[1]
        if last_block:
            reduced_map = x.new_empty(batch, planes, height, width)
        else:
            splits = [x.new_empty(batch, planes, height, width) for _ in range(radix)]
        pooled = x.new_zeros(batch, planes, 1, 1)
        for top, bottom in bands(height, rows):
            first, last = halo(top, bottom, self.radix_radii[index], height)
            reduced = block.conv1(self._outputs(x, kept, index, first, last).contiguous())
            mixed = run_on_rows(split_attention.radix_conv, reduced, first, top, bottom)
            if last_block:
                reduced_map[:, :, top:bottom] = reduced[:, :, top - first : bottom - first]
            for r, part in enumerate(mixed.chunk(radix, dim=1)):
                pooled += part.sum(dim=(2, 3), keepdim=True)
                if not last_block:
                    splits[r][:, :, top:bottom] = part
            del reduced, mixed
        weights = split_attention.radix_weights(pooled / (height * width))
        if last_block:
            return reduced_map, weights
        return _mix(splits, weights)

    def _tail_pass(self, x: torch.Tensor, kept: list, rows: int) -> torch.Tensor:
        """Run the tail on every band of the last block's output, each with its halo rows."""
        height, radius = x.shape[-2], self.tail_radius
        out = None
        for top, bottom in bands(height, rows):
            first, last = halo(top, bottom, radius, height)
            wide = self._outputs(x, kept, len(self.blocks), first, last)
            part = run_on_rows(self.tail, wide, first, top, bottom)
            del wide
            if out is None:
                out = part.new_empty(*part.shape[:2], height, part.shape[-1])
            out[:, :, top:bottom] = part
        return out


def _mix(splits: list[torch.Tensor | None], weights: torch.Tensor) -> torch.Tensor:
    """Sum of radix maps times their (B, radix, C, 1, 1) weights, in the first map's memory."""
    out = splits[0].mul_(weights[:, 0])
    for r in range(1, len(splits)):
        out.addcmul_(splits[r], weights[:, r])
        splits[r] = None  # free each radix map once it is mixed in
    return out
