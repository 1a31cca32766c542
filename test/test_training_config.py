"""Training config loading/validation, the LR schedule and the per-process batch plan."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from tsjnet_ros.core.training.batch_plan import epoch_batches
from tsjnet_ros.core.training.config import load_train_config, train_config_from_dict
from tsjnet_ros.core.training.trainer import lr_schedule, stage_at
from tsjnet_ros.tools.train import _apply_override

REPO = Path(__file__).resolve().parents[1]
MINIMAL = {'data': {'sources': [{'root': 'some/where'}]}}


def test_shipped_configs_load() -> None:
    for path in sorted((REPO / 'config' / 'train').glob('*.yaml')):
        config = load_train_config(path)
        assert config.total_steps == sum(s.steps for s in config.stages) > 0
        assert config.variant == 'tsjnet_rt'


def test_unknown_and_missing_keys_are_named() -> None:
    with pytest.raises(ValueError, match='unknown key.*lerning_rate'):
        train_config_from_dict({**MINIMAL, 'lerning_rate': 1})
    with pytest.raises(ValueError, match=r'config\.data\.augmentation.*sclae'):
        train_config_from_dict(
            {'data': {'sources': [{'root': 'x'}], 'augmentation': {'sclae': [1, 2]}}}
        )
    with pytest.raises(ValueError, match='at least one dataset root'):
        train_config_from_dict({'data': {'sources': []}})
    with pytest.raises(ValueError, match='input_mode'):
        train_config_from_dict({**MINIMAL, 'input_mode': 'thermal'})
    with pytest.raises(ValueError, match='heads: true'):
        train_config_from_dict(
            {**MINIMAL, 'input_mode': 'ir'}
        )  # default stages include fusion-only
    with pytest.raises(TypeError, match='mapping'):
        train_config_from_dict({'data': [1, 2]})
    with pytest.raises(ValueError, match=r'config\.stages\[1\]: stepz; valid: .*steps'):
        train_config_from_dict({**MINIMAL, 'stages': [{}, {'stepz': 3}]})
    with pytest.raises(TypeError, match=r'config\.data\.sources must be a list'):
        train_config_from_dict({'data': {'sources': {'root': 'x'}}})
    with pytest.raises(ValueError, match='config lacks required key.*data'):
        train_config_from_dict({})
    with pytest.raises(ValueError, match=r"config\.optimizer\.lr must be a number, got 'fast'"):
        train_config_from_dict({**MINIMAL, 'optimizer': {'lr': 'fast'}})
    assert train_config_from_dict(
        {**MINIMAL, 'optimizer': {'lr': '3e-4'}}
    ).optimizer.lr == pytest.approx(3e-4)


def test_overrides_reach_nested_keys_and_list_items() -> None:
    data = train_config_from_dict(MINIMAL).to_dict()
    _apply_override(data, 'optimizer.lr=3e-4')
    _apply_override(data, 'stages.1.steps=7')
    _apply_override(data, 'data.sources.0.repeat=2')
    config = train_config_from_dict(data)
    assert config.optimizer.lr == pytest.approx(3e-4)
    assert config.stages[1].steps == 7 and config.data.sources[0].repeat == 2
    with pytest.raises(ValueError, match='index'):
        _apply_override(data, 'stages.9.steps=1')
    with pytest.raises(ValueError, match='KEY=VALUE'):
        _apply_override(data, 'optimizer.lr')


def _optimizer(lr: float) -> torch.optim.Optimizer:
    groups = [
        {'params': [torch.nn.Parameter(torch.zeros(1))], 'name': name}
        for name in ('fusion', 'heads')
    ]
    return torch.optim.AdamW(groups, lr=lr)


def _rates(config, steps: int) -> list[tuple[float, float]]:
    """(fusion lr, heads lr) of each step, as the trainer steps torch's scheduler."""
    optimizer = _optimizer(config.optimizer.lr)
    scheduler = lr_schedule(optimizer, config)
    rates = []
    for _ in range(steps):
        rates.append(tuple(group['lr'] for group in optimizer.param_groups))
        optimizer.step()
        scheduler.step()
    return rates


def test_schedule_warms_up_then_decays_per_stage() -> None:
    config = train_config_from_dict(
        {
            **MINIMAL,
            'optimizer': {'lr': 1.0, 'min_lr_ratio': 0.1},
            'stages': [
                {'name': 'a', 'steps': 10, 'heads': False, 'warmup_steps': 4},
                {'name': 'b', 'steps': 20, 'heads': True, 'fusion_lr_scale': 0.5, 'lr': 2.0},
            ],
        }
    )
    assert stage_at(config.stages, 9)[0].name == 'a' and stage_at(config.stages, 10)[1] == 0
    schedule = _rates(config, 32)
    rates = [heads for _, heads in schedule[:10]]
    assert rates[:4] == pytest.approx([0.25, 0.5, 0.75, 1.0])
    assert all(a >= b for a, b in zip(rates[3:], rates[4:])) and rates[-1] > 0.1
    assert rates[9] == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 5 / 6)))
    assert [fusion for fusion, _ in schedule[:10]] == pytest.approx(rates)
    fusion, heads = schedule[10]
    assert heads == pytest.approx(2.0) and fusion == pytest.approx(1.0)
    mid = schedule[20][1]
    assert mid == pytest.approx(2.0 * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 0.5))))
    assert (
        schedule[30] == schedule[31] == pytest.approx(schedule[29])
    )  # past the end: the last step's rate


def test_schedule_resumes_at_the_rate_of_its_step() -> None:
    config = train_config_from_dict(
        {
            **MINIMAL,
            'optimizer': {'lr': 0.5},
            'stages': [{'steps': 8, 'warmup_steps': 3}, {'steps': 8, 'lr': 0.1}],
        }
    )
    schedule = _rates(config, 16)
    for step in (1, 5, 8, 13):
        optimizer = _optimizer(config.optimizer.lr)
        lr_schedule(optimizer, config, last_step=step - 1)
        assert tuple(group['lr'] for group in optimizer.param_groups) == pytest.approx(
            schedule[step]
        )


def test_batch_plan_is_deterministic_disjoint_and_covers_the_epoch() -> None:
    a = epoch_batches(10, 2, seed=3, epoch=1, rank=0, world_size=2)
    b = epoch_batches(10, 2, seed=3, epoch=1, rank=1, world_size=2)
    assert a == epoch_batches(10, 2, seed=3, epoch=1, rank=0, world_size=2)
    flat_a = [i for batch in a for i in batch]
    flat_b = [i for batch in b for i in batch]
    assert not set(flat_a) & set(flat_b) and len(a) == len(b) == 2
    single = [i for batch in epoch_batches(10, 2, seed=3, epoch=1) for i in batch]
    assert sorted(single) == list(range(10))
    assert single != [i for batch in epoch_batches(10, 2, seed=3, epoch=2) for i in batch]
    assert epoch_batches(1, 4, seed=0, epoch=0) == [[0, 0, 0, 0]]
    with pytest.raises(ValueError, match='rank'):
        epoch_batches(10, 2, seed=0, epoch=0, rank=2, world_size=2)
