"""DistributedDataParallel helpers for runs started by ``torchrun`` (one process per device).

``torchrun`` sets RANK / WORLD_SIZE / LOCAL_RANK / MASTER_ADDR / MASTER_PORT; without
them the run is a plain single process. CUDA processes use NCCL, CPU ones gloo (which is
also what the tests use: two CPU processes on one machine).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn


@dataclass(frozen=True)
class DistributedContext:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device('cpu')

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def choose_device(name: str, local_rank: int = 0) -> torch.device:
    """``auto``: this process's CUDA device if there is one, else CPU."""
    if name == 'auto':
        return (
            torch.device('cuda', local_rank) if torch.cuda.is_available() else torch.device('cpu')
        )
    device = torch.device(name)
    if device.type == 'cuda' and not torch.cuda.is_available():
        raise ValueError(f'device {name!r} requested but CUDA is not available')
    if device.type not in ('cpu', 'cuda'):
        raise ValueError(f'unsupported device {name!r}; use auto, cpu or cuda[:N]')
    return device


def init_distributed(device_name: str = 'auto') -> DistributedContext:
    """Join the process group when launched by torchrun; otherwise a single-process context."""
    world_size = int(os.environ.get('WORLD_SIZE', '1'))
    if world_size <= 1:
        return DistributedContext(device=choose_device(device_name))
    rank = int(os.environ['RANK'])
    local_rank = int(os.environ.get('LOCAL_RANK', '0'))
    device = choose_device(device_name, local_rank)
    if device.type == 'cuda':
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group(
            'nccl' if device.type == 'cuda' else 'gloo', rank=rank, world_size=world_size
        )
    return DistributedContext(rank, world_size, local_rank, device)


def shutdown_distributed(context: DistributedContext) -> None:
    if context.enabled and dist.is_initialized():
        dist.destroy_process_group()


def barrier(context: DistributedContext) -> None:
    if context.enabled:
        dist.barrier()


def average_across_processes(
    values: dict[str, float], context: DistributedContext
) -> dict[str, float]:
    """Mean of each scalar over all processes (identity for a single process)."""
    if not context.enabled or not values:
        return dict(values)
    keys = sorted(values)
    device = context.device if context.device.type == 'cuda' else torch.device('cpu')
    packed = torch.tensor([float(values[k]) for k in keys], dtype=torch.float64, device=device)
    dist.all_reduce(packed, op=dist.ReduceOp.SUM)
    packed /= context.world_size
    return {k: float(v) for k, v in zip(keys, packed.tolist())}


def wrap_model(model: nn.Module, context: DistributedContext) -> nn.Module:
    """DDP-wrap ``model`` when distributed.

    Unused parameters are allowed because the fusion-only stage and the single-modality runs
    leave parts of the system idle.
    """
    if not context.enabled:
        return model
    device_ids = [context.device.index] if context.device.type == 'cuda' else None
    return nn.parallel.DistributedDataParallel(
        model, device_ids=device_ids, find_unused_parameters=True
    )


def unwrap_model(model: nn.Module) -> nn.Module:
    return model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model
