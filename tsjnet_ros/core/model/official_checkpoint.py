"""The authors' released TSJNet checkpoint: recognise it, convert it, rebuild a system.

The authors (XylonXu01/TSJNet) save ``torch.save`` of a dict with four state dicts:
``DIDF_Encoder`` (shared encoder with its NAT and DSM branches), ``DIDF_Decoder``,
``BaseFuseLayer`` (NAT fusion) and ``DetailFuseLayer`` (DSM fusion). Every tensor maps to
one of ``tsjnet``'s by renaming, except the spatial attentions: the authors keep 8
separate 1x1 convs, we keep one grouped conv whose weights are theirs concatenated along
dim 0. Their files carry a few tensors their forward never uses (the NAT-mini norm,
``avgpool`` and ``conv_head``; the DSM spatial attention): ``tsjnet_official``, which
computes their function, has no such modules, so those tensors are dropped on conversion.

NA layers carry ``attn.rpb`` (relative-position bias) in files trained with natten < 0.20
and none with natten >= 0.20; both load (``nat_rel_pos_bias`` follows the file).

The authors publish no task-head weights: a converted system is fusion-only unless the
heads of one of our checkpoints are added (``heads_from``).
"""

from __future__ import annotations

import logging
import re
import zlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tsjnet_ros.core.model.checkpoint import (
    LoadedCheckpoint,
    Normalization,
    describe_state_mismatch,
    load_checkpoint,
    resolve_fusion_config,
)
from tsjnet_ros.core.model.heads.system import TSJNetSystem

logger = logging.getLogger('tsjnet_ros')

OFFICIAL_GROUPS = ('DIDF_Encoder', 'DIDF_Decoder', 'BaseFuseLayer', 'DetailFuseLayer')
OFFICIAL_VARIANT = 'tsjnet_official'

# Our grouped spatial attention <-> the authors' ``spa.conv.<g>`` list of 1x1 convs.
_SCORE = re.compile(r'(?:spatial_attention|attention)\.score\.(weight|bias)$')
# Tensors the authors' modules hold but their forward never reads.
_NEVER_CALLED_NAT = re.compile(r'^attn\.(norm|avgpool|conv_head)\.(weight|bias)$')
_NEVER_CALLED_DSM = re.compile(r'^spa\.conv\.\d+\.(weight|bias)$')

_Rule = tuple[re.Pattern, Callable[[re.Match], str]]


def _rules(pairs: list[tuple[str, Callable[[re.Match], str] | str]]) -> list[_Rule]:
    return [
        (re.compile(p), (lambda m, t=t: m.expand(t)) if isinstance(t, str) else t)
        for p, t in pairs
    ]


def _stem(m: re.Match) -> str:
    """Our deep stem ``<i>.<j>`` (ConvNormAct i, part j) -> their flat ``deep_stem.<3i+j>``."""
    return f'ResNest.deep_stem.{3 * int(m[1]) + int(m[2])}.{m[3]}'


def _shortcut(m: re.Match) -> str:
    """Our shortcut ``(conv, norm)`` -> their ``(max-pool, conv, norm)``: index + 1."""
    return f'ResNest.layer1.{m[1]}.shortcut.{int(m[2]) + 1}.{m[3]}'


_NAT_RULES = _rules(
    [
        (r'^norm\.(weight|bias)$', r'norm1.body.\1'),
        (r'^nat\.tokenizer\.(.+)$', r'attn.patch_embed.\1'),
        (r'^nat\.levels\.(.+)$', r'attn.levels.\1'),
        (r'^nat\.head\.(\d+)\.(.+)$', lambda m: f'attn.conv{int(m[1]) // 2 + 1}.0.{m[2]}'),
        (r'^nat\.norm\.(.+)$', r'attn.norm.\1'),
        (r'^nat\.proj\.0\.(.+)$', r'attn.avgpool.\1'),
        (r'^nat\.proj\.1\.(.+)$', r'attn.conv_head.\1'),
        (r'^nat\.upsample\.(\d+)\.(.+)$', lambda m: f'attn.transposed_conv{int(m[1]) + 1}.{m[2]}'),
    ]
)
_DSM_RULES = _rules(
    [
        (r'^conv_in\.(.+)$', r'convp1.\1'),
        (r'^coa\.0\.(.+)$', r'coa.conv.0.\1'),
        (r'^conv_mid\.(.+)$', r'convp2.\1'),
        (r'^conv_out\.(.+)$', r'conv1.1.\1'),
        (r'^pool_conv\.0\.(.+)$', r'conv4.\1'),
        (r'^channel_attention\.(fc[12]\.weight)$', r'\1'),
        (r'^pool_up\.(.+)$', r'conv_transpose.\1'),
        (r'^spatial_attention\.score\.(weight|bias)$', r'spa.\1'),
    ]
)


def _apply(rules: list[_Rule], key: str) -> str | None:
    for pattern, build in rules:
        match = pattern.match(key)
        if match:
            return build(match)
    return None


def _split(
    prefix: str, group: str, inner: list[_Rule], inner_prefix: str = ''
) -> Callable[[str], tuple[str, str] | None]:
    def convert(key: str) -> tuple[str, str] | None:
        if not key.startswith(prefix):
            return None
        mapped = _apply(inner, key[len(prefix) :])
        return None if mapped is None else (group, inner_prefix + mapped)

    return convert


_STRUCTURE = [
    _split(
        'encoder.',
        'DIDF_Encoder',
        _rules(
            [
                (r'^stem\.0\.weight$', 'patch_embed.proj.weight'),
                (r'^stem\.1\.(\d+)\.(\d+)\.(.+)$', _stem),
                (r'^body\.(\d+)\.shortcut\.(\d+)\.(.+)$', _shortcut),
                (r'^body\.(.+)$', r'ResNest.layer1.\1'),
                (r'^neck\.(\d+)\.0\.(.+)$', lambda m: f'conv{int(m[1]) + 1}.0.{m[2]}'),
            ]
        ),
    ),
    _split('encoder.base_branch.', 'DIDF_Encoder', _NAT_RULES, 'baseFeature.'),
    _split('encoder.detail_branch.', 'DIDF_Encoder', _DSM_RULES, 'detailFeature.'),
    _split('base_fusion.', 'BaseFuseLayer', _NAT_RULES),
    _split('detail_fusion.', 'DetailFuseLayer', _DSM_RULES),
    _split(
        'decoder.',
        'DIDF_Decoder',
        _rules(
            [
                (r'^attention\.score\.(weight|bias)$', r'spa.\1'),
                (r'^reduce\.weight$', 'reduce_channel.weight'),
                (r'^body\.0\.(\d+)\.(\d+)\.(.+)$', _stem),
                (r'^body\.1\.(\d+)\.shortcut\.(\d+)\.(.+)$', _shortcut),
                (r'^body\.1\.(.+)$', r'ResNest.layer1.\1'),
                (r'^head\.body\.0\.0\.weight$', 'output.0.weight'),
                (r'^head\.body\.1\.weight$', 'output.2.weight'),
            ]
        ),
    ),
]


def official_names(our_key: str, shape: tuple[int, ...]) -> list[str]:
    """Return the authors' ``"Group.key"`` name(s) of our state-dict entry ``our_key``.

    ``our_key`` of ``shape`` is an entry of a ``tsjnet``/``tsjnet_official`` state dict; the
    result is one name, or one per attention group for the grouped spatial-attention conv
    (their separate convs, in order). ValueError for keys of other networks.
    """
    found = None
    # Longest prefixes first: the branch rules must win over the encoder's generic rules.
    for convert in reversed(_STRUCTURE):
        found = convert(our_key)
        if found is not None:
            break
    if found is None:
        raise ValueError(
            f"{our_key!r} has no counterpart in the authors' TSJNet checkpoint layout"
        )
    group, key = found
    if _SCORE.search(our_key):
        stem, kind = key.rsplit('.', 1)
        return [f'{group}.{stem}.conv.{g}.{kind}' for g in range(shape[0])]
    return [f'{group}.{key}']


def _official_shape(shape: tuple[int, ...], split: bool) -> tuple[int, ...]:
    return (1, *shape[1:]) if split else shape


def is_official_checkpoint(payload: Any) -> bool:
    """Return True for the authors' layout: a dict holding their four groups as state dicts."""
    return isinstance(payload, Mapping) and all(
        isinstance(payload.get(g), Mapping) for g in OFFICIAL_GROUPS
    )


def _flatten(payload: Mapping) -> dict[str, torch.Tensor]:
    """``{"Group.key": tensor}`` (a ``module.`` prefix from DataParallel is dropped)."""
    flat = {}
    for group in OFFICIAL_GROUPS:
        for key, tensor in payload[group].items():
            key = key[len('module.') :] if key.startswith('module.') else key
            flat[f'{group}.{key}'] = tensor
    return flat


def has_rel_pos_bias(payload: Mapping) -> bool:
    """Whether the file's NA layers carry ``attn.rpb`` (trained with natten < 0.20)."""
    return any(key.endswith('attn.rpb') for key in payload['BaseFuseLayer'])


def never_called(official_name: str) -> bool:
    """Tensors the authors' modules hold but their forward never reads."""
    group, _, key = official_name.partition('.')
    for prefix, pattern in (
        ('baseFeature.', _NEVER_CALLED_NAT),
        ('detailFeature.', _NEVER_CALLED_DSM),
    ):
        if (
            group == 'DIDF_Encoder'
            and key.startswith(prefix)
            and pattern.match(key[len(prefix) :])
        ):
            return True
    return (group == 'BaseFuseLayer' and bool(_NEVER_CALLED_NAT.match(key))) or (
        group == 'DetailFuseLayer' and bool(_NEVER_CALLED_DSM.match(key))
    )


def convert_official_state_dict(
    payload: Mapping,
    target: Mapping[str, torch.Tensor],
    source: str = 'checkpoint',
) -> tuple[dict[str, torch.Tensor], list[str]]:
    """Convert the authors' four groups to our state dict for the network of ``target``.

    ``target`` is that network's state dict (keys and shapes). Returns
    ``(state_dict, dropped)``, ``dropped`` naming the authors' never-called tensors the
    target has no place for.

    Raises ValueError naming missing, unexpected and mis-shaped tensors (authors' names).
    """
    present = _flatten(payload)
    expected: dict[str, torch.Tensor] = {}
    plan: dict[str, list[str]] = {}
    for our_key, tensor in target.items():
        names = official_names(our_key, tuple(tensor.shape))
        plan[our_key] = names
        for name in names:
            expected[name] = torch.empty(
                _official_shape(tuple(tensor.shape), len(names) > 1), device='meta'
            )
    dropped = sorted(k for k in present if k not in expected and never_called(k))
    problem = describe_state_mismatch(
        expected, {k: v for k, v in present.items() if k not in dropped}
    )
    if problem:
        raise ValueError(f"{source} does not match the authors' TSJNet layout: {problem}")
    state = {}
    for our_key, names in plan.items():
        tensors = [present[n] for n in names]
        value = tensors[0] if len(tensors) == 1 else torch.cat(tensors, dim=0)
        state[our_key] = value.to(target[our_key].dtype)
    return state, dropped


def official_system(
    payload: Mapping,
    heads_from: str | Path | None = None,
    source: str = 'checkpoint',
) -> tuple[TSJNetSystem, dict[str, Any]]:
    """Build a ``tsjnet_official`` system (CPU, eval) with the authors' weights.

    Returns the system and notes on the conversion. Fusion-only (``system.heads is None``)
    unless ``heads_from`` names one of our checkpoints whose task heads (and class tables)
    are taken over.
    """
    from tsjnet_ros.core.model.registry import create_model

    rel_pos_bias = has_rel_pos_bias(payload)
    config = resolve_fusion_config(OFFICIAL_VARIANT, {'nat_rel_pos_bias': rel_pos_bias})
    fusion = create_model(OFFICIAL_VARIANT, **config)
    state, dropped = convert_official_state_dict(payload, fusion.state_dict(), source)
    fusion.load_state_dict(state, strict=True)
    heads_config = None
    if heads_from is not None:
        donor = load_checkpoint(heads_from).system
        if donor.heads is None:
            raise ValueError(f'{heads_from} has no task heads to take over')
        heads_config = donor.heads_config
    system = TSJNetSystem(fusion, heads_config, OFFICIAL_VARIANT, config)
    if heads_from is not None:
        system.heads.load_state_dict(donor.heads.state_dict(), strict=True)
    notes = {
        'converted_from': "authors' TSJNet checkpoint (XylonXu01/TSJNet)",
        'nat_rel_pos_bias': rel_pos_bias,
        'dropped_never_called': len(dropped),
        'heads_from': str(heads_from) if heads_from is not None else None,
        'trained': True,
    }
    return system.eval(), notes


def load_official_checkpoint(
    path: str | Path,
    payload: Mapping | None = None,
    heads_from: str | Path | None = None,
) -> LoadedCheckpoint:
    """Load the authors' file at ``path`` as a checkpoint with our stable normalisation.

    ``payload`` is the file's content when it has already been read.
    """
    if payload is None:
        payload = torch.load(Path(path), map_location='cpu', weights_only=True)
    if not is_official_checkpoint(payload):
        raise ValueError(
            f"{path} is not the authors' TSJNet checkpoint (groups {', '.join(OFFICIAL_GROUPS)})"
        )
    system, notes = official_system(payload, heads_from, source=str(path))
    logger.info(
        "%s: the authors' TSJNet checkpoint, converted on load to %s (relative position bias %s, "
        '%d never-called tensors dropped)',
        path,
        OFFICIAL_VARIANT,
        'on' if notes['nat_rel_pos_bias'] else 'off',
        notes['dropped_never_called'],
    )
    return LoadedCheckpoint(system, Normalization(), notes)


def official_layout(rel_pos_bias: bool = True) -> dict[str, tuple[tuple[int, ...], torch.dtype]]:
    """Map every ``"Group.key"`` of the authors' file to its shape and dtype.

    Derived from ``tsjnet`` (whose state dict maps one to one onto theirs).
    """
    from tsjnet_ros.core.model.registry import create_model

    with torch.device('meta'):
        model = create_model('tsjnet', nat_rel_pos_bias=rel_pos_bias)
    layout = {}
    for our_key, tensor in model.state_dict().items():
        names = official_names(our_key, tuple(tensor.shape))
        for name in names:
            layout[name] = (_official_shape(tuple(tensor.shape), len(names) > 1), tensor.dtype)
    return layout


def _seeded_tensor(
    name: str, shape: tuple[int, ...], dtype: torch.dtype, seed: int
) -> torch.Tensor:
    """Deterministic values for one tensor; numpy's legacy generator keeps its stream frozen."""
    if dtype == torch.int64:  # BatchNorm num_batches_tracked
        return torch.tensor(1000, dtype=torch.int64)
    rng = np.random.RandomState((zlib.crc32(name.encode()) + 7919 * seed) % 2**32)
    key = name.rsplit('.', 1)[-1]
    if key == 'running_var':
        values = rng.uniform(0.5, 1.5, shape)
    elif key == 'running_mean':
        values = 0.1 * rng.standard_normal(shape)
    elif key == 'rpb':
        values = 0.5 * rng.standard_normal(shape)  # large enough that a wrong offset shows
    elif key == 'bias':
        values = 0.05 * rng.standard_normal(shape)
    elif len(shape) == 1:  # norm scales
        values = 1.0 + 0.1 * rng.standard_normal(shape)
    else:
        transposed = 'transpose' in name
        fan_in = shape[0] if transposed else int(np.prod(shape[1:]))
        values = rng.standard_normal(shape) * np.sqrt(1.0 / fan_in)
    return torch.from_numpy(np.asarray(values, dtype=np.float32)).to(dtype)


def seeded_official_weights(
    seed: int = 0, rel_pos_bias: bool = True
) -> dict[str, dict[str, torch.Tensor]]:
    """Return a checkpoint in the authors' layout with values generated from ``seed``.

    It holds every key of :func:`official_layout`; values are deterministic: each tensor
    depends only on its name, shape and the seed. For testing the conversion against a
    recording of their code.
    """
    groups: dict[str, dict[str, torch.Tensor]] = {g: {} for g in OFFICIAL_GROUPS}
    for name, (shape, dtype) in official_layout(rel_pos_bias).items():
        group, key = name.split('.', 1)
        groups[group][key] = _seeded_tensor(name, shape, dtype, seed)
    return groups
