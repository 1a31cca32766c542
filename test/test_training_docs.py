"""docs/training.md documents every training configuration key, and no key that does not exist.

The keys come from the dataclasses themselves (``TrainConfig`` and every dataclass nested
in it, the loss weights, the heads configuration, each registered fusion variant's
configuration), so a new field fails this test until the guide describes it.
"""

from __future__ import annotations

import dataclasses
import re
import typing
from pathlib import Path

import pytest

from tsjnet_ros.core.model.heads.config import HEADS_PRESETS, HeadsConfig
from tsjnet_ros.core.model.losses.weights import LossWeights
from tsjnet_ros.core.model.registry import list_models, model_config
from tsjnet_ros.core.training.config import TrainConfig

GUIDE = Path(__file__).resolve().parents[1] / 'docs' / 'training.md'
TOP_LEVEL_HEADING = 'Top-level keys'
ROW_KEYS = re.compile(r'`([A-Za-z_][A-Za-z0-9_]*)`')


def _nested_sections(cls: type, path: str = '') -> list[tuple[str, type]]:
    """Return (YAML path, dataclass) for ``cls`` and every dataclass reachable through its fields.

    List items get ``[]`` (``data.sources[]``).
    """
    found = [(path, cls)]
    for name, hint in typing.get_type_hints(cls).items():
        child = f'{path}.{name}' if path else name
        if dataclasses.is_dataclass(hint):
            found += _nested_sections(hint, child)
        elif typing.get_origin(hint) is list:
            (item,) = typing.get_args(hint)
            if dataclasses.is_dataclass(item):
                found += _nested_sections(item, f'{child}[]')
    return found


def _heading(path: str) -> str:
    return TOP_LEVEL_HEADING if not path else f'`{path}`'


def expected_sections() -> dict[str, type]:
    """Heading text of the guide's reference section -> the dataclass whose fields it lists."""
    sections = {_heading(path): cls for path, cls in _nested_sections(TrainConfig)}
    sections['`loss_weights`'] = LossWeights
    sections['`heads_overrides`'] = HeadsConfig
    for variant in list_models():
        sections[f'`fusion_config` for `{variant}`'] = type(model_config(variant))
    return sections


def _documented_parent(cls: type) -> type | None:
    """Return the variant config ``cls`` derives from when that one has a section of its own."""
    variant_configs = {type(model_config(v)) for v in list_models()}
    return next((base for base in cls.__mro__[1:] if base in variant_configs), None)


def required_fields(cls: type) -> set[str]:
    """Return the fields of ``cls`` its section of the docs must list.

    Every field; for a config derived from a documented variant config (``tsjnet_official``
    from ``tsjnet``), the fields it adds or whose default it changes (its parent's section
    covers the rest).
    """
    fields = {f.name: f for f in dataclasses.fields(cls)}
    parent = _documented_parent(cls)
    if parent is None:
        return set(fields)
    inherited = {f.name: f.default for f in dataclasses.fields(parent)}
    return {
        name for name, f in fields.items() if name not in inherited or inherited[name] != f.default
    }


def documented_keys(text: str) -> dict[str, set[str]]:
    """Heading (level 3) -> keys named in the first column of its tables' rows."""
    sections: dict[str, set[str]] = {}
    current = None
    for line in text.splitlines():
        if line.startswith('### '):
            current = line[4:].strip()
            sections.setdefault(current, set())
        elif line.startswith('#'):
            current = None
        elif current is not None and line.startswith('| `'):
            first_cell = line.split('|')[1]
            sections[current].update(ROW_KEYS.findall(first_cell))
    return sections


@pytest.fixture(scope='module')
def guide_sections() -> dict[str, set[str]]:
    assert GUIDE.is_file(), f'{GUIDE} is missing'
    return documented_keys(GUIDE.read_text(encoding='utf-8'))


def test_the_walk_finds_every_nested_config(guide_sections):
    paths = {path for path, _ in _nested_sections(TrainConfig)}
    assert {
        '',
        'data',
        'data.sources[]',
        'data.augmentation',
        'data.weak_masks',
        'stages[]',
        'optimizer',
        'validation',
    } <= paths


@pytest.mark.parametrize(
    'heading,cls', sorted(expected_sections().items()), ids=lambda v: getattr(v, '__name__', v)
)
def test_every_field_is_documented(guide_sections, heading, cls):
    assert heading in guide_sections, (
        f"docs/training.md lacks the section '### {heading}' ({cls.__name__})"
    )
    fields = {f.name for f in dataclasses.fields(cls)}
    documented = guide_sections[heading]
    missing = sorted(required_fields(cls) - documented)
    assert not missing, f"'### {heading}' does not document {cls.__name__} field(s) {missing}"
    stale = sorted(documented - fields)
    assert not stale, f"'### {heading}' documents key(s) {stale} that {cls.__name__} does not have"


def test_a_derived_variant_config_needs_only_its_differences():
    official = type(model_config('tsjnet_official'))
    assert _documented_parent(official) is type(model_config('tsjnet'))
    assert {'resnest_shortcut_pool', 'dsm_saliency'} <= required_fields(official)
    assert 'nat_embed_dim' not in required_fields(official)
    assert required_fields(type(model_config('tsjnet'))) == {
        f.name for f in dataclasses.fields(type(model_config('tsjnet')))
    }


def test_heads_presets_are_all_described():
    text = GUIDE.read_text(encoding='utf-8')
    described = set(re.findall(r'^\| `([a-z_]+)` \| `[a-z0-9_]+` \|', text, flags=re.MULTILINE))
    assert set(HEADS_PRESETS) <= described, (
        f'heads presets without a row: {sorted(set(HEADS_PRESETS) - described)}'
    )


def test_documented_defaults_match_the_code():
    """Spot checks on the scalar defaults the guide states in its reference tables."""
    text = GUIDE.read_text(encoding='utf-8')
    sections = expected_sections()
    checked = 0
    current = None
    for line in text.splitlines():
        if line.startswith('### '):
            current = sections.get(line[4:].strip())
            continue
        cells = [c.strip() for c in line.split('|')]
        if current is None or not line.startswith('| `') or len(cells) < 5:
            continue
        keys = ROW_KEYS.findall(cells[1])
        if len(keys) != 1 or not re.fullmatch(r'`[^`]+`', cells[3]):
            continue
        field = {f.name: f for f in dataclasses.fields(current)}[keys[0]]
        if field.default is dataclasses.MISSING:
            continue
        default = field.default
        if isinstance(default, (bool, int, float, str)):
            stated = cells[3].strip('`')
            if isinstance(default, bool):
                assert stated == str(default).lower(), (keys[0], stated, default)
            elif isinstance(default, (int, float)):
                assert float(stated) == float(default), (keys[0], stated, default)
            else:
                assert stated == default, (keys[0], stated, default)
            checked += 1
    assert checked > 60  # the check ran over the reference tables, not over nothing
