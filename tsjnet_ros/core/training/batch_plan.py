"""Which items make up each batch of an epoch, for one process of a (possibly) distributed run.

The order depends only on ``(seed, epoch)``; each process takes an equal, disjoint share,
so a run on N processes sees the same items per epoch as a run on one. Plans are plain
lists, so resuming mid-epoch is slicing off the batches already done.
"""

from __future__ import annotations

import torch


def epoch_batches(
    num_items: int,
    batch_size: int,
    seed: int,
    epoch: int,
    rank: int = 0,
    world_size: int = 1,
) -> list[list[int]]:
    """Return full batches of item indices for process ``rank`` in ``epoch``.

    A ragged tail is dropped so every process runs the same number of equal-size steps.
    """
    if num_items < 1:
        raise ValueError(f'num_items must be >= 1, got {num_items}')
    if batch_size < 1:
        raise ValueError(f'batch_size must be >= 1, got {batch_size}')
    if world_size < 1 or not 0 <= rank < world_size:
        raise ValueError(f'rank {rank} is not valid for world_size {world_size}')
    generator = torch.Generator().manual_seed(int(seed) * 1_000_003 + int(epoch))
    order = torch.randperm(num_items, generator=generator).tolist()
    per_step = batch_size * world_size
    if num_items < per_step:  # tiny sets: cycle so every process still gets a full batch
        order = (order * (per_step // num_items + 1))[:per_step]
    steps = len(order) // per_step
    shard = order[rank : steps * per_step : world_size]
    return [shard[i * batch_size : (i + 1) * batch_size] for i in range(steps)]
