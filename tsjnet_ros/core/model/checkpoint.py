"""One-file checkpoints of the joint system, and rebuilding a system from one.

A checkpoint is a ``torch.save`` dict of plain Python values and tensors (loadable with
``weights_only=True``, so opening one runs no pickled code):

* ``format`` / ``format_version``: identifies the file;
* ``variant`` + ``fusion_config``: the fusion network, rebuilt through the model registry;
* ``heads_config``: the task heads (:class:`HeadsConfig`), including both class tables;
  None for a fusion-only system (e.g. converted from the authors' checkpoint);
* ``detection_classes`` / ``segmentation_classes``: the class tables, for readers;
* ``normalization``: how raw camera frames become network input (:class:`Normalization`);
* ``state_dict``: the weights; ``metadata``: free-form (training epoch, data, metrics).

Loading checks every part and fails with a message naming what does not match.
:func:`load_checkpoint` also accepts the authors' released TSJNet file and converts it
on load (:mod:`~tsjnet_ros.core.model.official_checkpoint`).
"""

from __future__ import annotations

import datetime as _dt
import pickle
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import torch
from torch import nn

from tsjnet_ros.core.image.color import InfraredScaler
from tsjnet_ros.core.model.heads.config import HeadsConfig, heads_config_for
from tsjnet_ros.core.model.heads.system import TSJNetSystem

CHECKPOINT_FORMAT = 'tsjnet_ros.system'
CHECKPOINT_VERSION = 1

FusionBuilder = Callable[[str, dict[str, Any]], nn.Module]
CONVENTIONS = ('stable', 'authors')


@dataclass(frozen=True)
class Normalization:
    """How camera frames map to the network's [0, 1] inputs and back.

    8-bit IR and visible luminance are divided by 255; the fused output is clamped to
    [0, 1] and multiplied by 255 (stable, no per-frame min-max). 16-bit IR follows
    ``ir_16bit_mode`` (see :class:`~tsjnet_ros.core.image.color.InfraredScaler`).
    ``inference_size`` (H, W) resizes every pair before the network (None: native size).

    ``convention="authors"`` reproduces the authors' inference script instead (for
    comparing with their published images): visible as rounded 8-bit grayscale, bilinear
    resizing both ways, and each fused frame min-max stretched to [0, 255] and truncated.
    The stretch follows each frame's own range, so video flickers; :meth:`authors` adds
    their 512x512 network size.
    """

    ir_16bit_mode: str = 'percentile'
    ir_16bit_range: tuple[float, float] = (0.0, 65535.0)
    ir_percentiles: tuple[float, float] = (1.0, 99.0)
    ir_momentum: float = 0.9
    inference_size: tuple[int, int] | None = None
    convention: str = 'stable'

    @classmethod
    def authors(cls, **overrides: Any) -> Normalization:
        """Return the authors' inference conventions, at their 512x512 network input size."""
        return cls(**{'convention': 'authors', 'inference_size': (512, 512), **overrides})

    def __post_init__(self) -> None:
        if self.convention not in CONVENTIONS:
            raise ValueError(f'convention must be one of {CONVENTIONS}, got {self.convention!r}')
        object.__setattr__(self, 'ir_16bit_range', tuple(float(v) for v in self.ir_16bit_range))
        object.__setattr__(self, 'ir_percentiles', tuple(float(v) for v in self.ir_percentiles))
        if self.inference_size is not None:
            size = tuple(int(v) for v in self.inference_size)
            if len(size) != 2 or min(size) < 16:
                raise ValueError(
                    f'inference_size must be (H, W) with both >= 16, got {self.inference_size}'
                )
            object.__setattr__(self, 'inference_size', size)
        self.make_ir_scaler()  # validates the IR settings

    def make_ir_scaler(self) -> InfraredScaler:
        """Return a fresh (stateful) IR scaler with these settings."""
        return InfraredScaler(
            mode=self.ir_16bit_mode,
            fixed_range=self.ir_16bit_range,
            low_percentile=self.ir_percentiles[0],
            high_percentile=self.ir_percentiles[1],
            momentum=self.ir_momentum,
        )

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in out.items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Normalization:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f'unknown normalization keys in checkpoint: {", ".join(unknown)}')
        return cls(**data)


@dataclass
class LoadedCheckpoint:
    """A rebuilt system (on CPU, eval mode) with the checkpoint's other contents."""

    system: TSJNetSystem
    normalization: Normalization
    metadata: dict[str, Any] = field(default_factory=dict)


def registry_fusion_builder(variant: str, config: dict[str, Any]) -> nn.Module:
    """Build a fusion network through the model registry (the default builder)."""
    from tsjnet_ros.core.model.registry import create_model, list_models

    if variant not in list_models():
        raise ValueError(
            f'unknown fusion variant {variant!r}; available: {", ".join(list_models())}'
        )
    return create_model(variant, **config)


_PLAIN = (type(None), bool, int, float, str)


def _check_plain(name: str, value: Any) -> None:
    if isinstance(value, (list, tuple)):
        for item in value:
            _check_plain(name, item)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_plain(f'{name}.{key}', item)
    elif not isinstance(value, _PLAIN):
        raise ValueError(
            f'fusion config field {name} holds a {type(value).__name__}; '
            'checkpoints store only plain values '
            '(use a layer name string instead of a class or function)'
        )


def resolve_fusion_config(variant: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Return the registry's full default config of ``variant`` with ``overrides`` applied.

    The result is a plain dict; storing all fields keeps a checkpoint valid if defaults change
    later.
    """
    from tsjnet_ros.core.model.registry import list_models, model_config

    if variant not in list_models():
        raise ValueError(
            f'unknown fusion variant {variant!r}; available: {", ".join(list_models())}'
        )
    config = model_config(variant, **(overrides or {}))
    resolved = {f.name: getattr(config, f.name) for f in fields(config)}
    for key, value in resolved.items():
        _check_plain(key, value)
    return resolved


def build_system(
    variant: str,
    fusion_config: dict[str, Any] | None = None,
    heads_config: HeadsConfig | None = None,
    seed: int | None = None,
    fusion_builder: FusionBuilder | None = None,
    fusion_only: bool = False,
) -> TSJNetSystem:
    """Build a fresh (untrained) system.

    ``seed`` makes the random initialisation reproducible without disturbing the caller's
    global RNG. Heads default to the variant's preset; ``fusion_only`` builds none.
    """
    if fusion_builder is None:
        builder = registry_fusion_builder
        config = resolve_fusion_config(variant, fusion_config)
    else:
        builder = fusion_builder
        config = dict(fusion_config or {})
    heads = None if fusion_only else heads_config or heads_config_for(variant)
    if seed is None:
        return TSJNetSystem(builder(variant, config), heads, variant, config)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return TSJNetSystem(builder(variant, config), heads, variant, config)


def save_checkpoint(
    system: TSJNetSystem,
    path: str | Path,
    normalization: Normalization | None = None,
    metadata: dict[str, Any] | None = None,
) -> Path:
    """Write ``system`` (weights, configs, class tables, normalisation) to one file.

    ``metadata`` must hold plain Python values (str, numbers, lists, dicts) so the file
    stays loadable with ``weights_only=True``. The write is atomic (temp file + rename).
    """
    if not isinstance(system, TSJNetSystem):
        raise TypeError(f'save_checkpoint needs a TSJNetSystem, got {type(system).__name__}')
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        'created': _dt.datetime.now(_dt.UTC).isoformat(),
        'torch': str(torch.__version__),
    }
    meta.update(metadata or {})
    payload = {
        'format': CHECKPOINT_FORMAT,
        'format_version': CHECKPOINT_VERSION,
        'variant': system.variant,
        'fusion_config': dict(system.fusion_config),
        'heads_config': system.heads_config.to_dict() if system.heads_config is not None else None,
        'detection_classes': list(system.detection_classes),
        'segmentation_classes': list(system.segmentation_classes),
        'normalization': (normalization or Normalization()).to_dict(),
        'state_dict': {k: v.detach().cpu() for k, v in system.state_dict().items()},
        'metadata': meta,
    }
    tmp = path.with_name(path.name + '.partial')
    torch.save(payload, tmp)
    tmp.replace(path)  # never leave a half-written checkpoint under the real name
    return path


def create_untrained_checkpoint(
    path: str | Path,
    variant: str = 'tsjnet_rt',
    seed: int = 0,
    fusion_config: dict[str, Any] | None = None,
    heads_config: HeadsConfig | None = None,
    normalization: Normalization | None = None,
    fusion_builder: FusionBuilder | None = None,
) -> Path:
    """Save a random-init (seeded, reproducible) checkpoint at ``path`` and return the path.

    It lets tests, demos and the ROS graph run the full neural path before a trained
    checkpoint exists. Its outputs mean nothing.
    """
    system = build_system(
        variant, fusion_config, heads_config, seed=seed, fusion_builder=fusion_builder
    )
    return save_checkpoint(system, path, normalization, metadata={'trained': False, 'seed': seed})


def load_torch_file(path: str | Path) -> Any:
    """``torch.load`` of tensors and plain containers only (no code runs), on the CPU.

    Raises FileNotFoundError, or ValueError naming the file and what torch found wrong
    (a text file, an empty or truncated one, a pickle holding objects).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f'checkpoint not found: {path}')
    try:
        return torch.load(path, map_location='cpu', weights_only=True)
    except Exception as exc:  # torch raises several types for foreign or corrupt files
        if isinstance(exc, EOFError):
            detail = 'the file is empty or truncated'
        elif isinstance(exc, pickle.UnpicklingError | KeyError):  # KeyError: a foreign pickle
            detail = 'not a PyTorch file, or one holding Python objects, which are never loaded'
        else:
            first_line = (str(exc).strip().splitlines() or ['-'])[0]
            detail = f'{type(exc).__name__}: {first_line}'
        raise ValueError(f'{path} is not a readable checkpoint ({detail})') from exc


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """Return the raw checkpoint dict, after checking it is ours and of a known version."""
    return _check_payload(path, load_torch_file(path))


def _check_payload(path: str | Path, payload: Any) -> dict[str, Any]:
    from tsjnet_ros.core.model.official_checkpoint import is_official_checkpoint

    if is_official_checkpoint(payload):
        raise ValueError(
            f"{path} is the authors' TSJNet checkpoint, not one of ours: "
            'load it with load_checkpoint (FusionPipeline.from_checkpoint) '
            'or convert it with tsjnet-convert'
        )
    if not isinstance(payload, dict) or payload.get('format') != CHECKPOINT_FORMAT:
        found = payload.get('format') if isinstance(payload, dict) else type(payload).__name__
        raise ValueError(
            f'{path} is not a tsjnet_ros checkpoint '
            f'(format {found!r}, expected {CHECKPOINT_FORMAT!r}); '
            'raw state_dicts must be wrapped with save_checkpoint'
        )
    version = payload.get('format_version')
    if version != CHECKPOINT_VERSION:
        raise ValueError(
            f'{path} has checkpoint format version {version}, this code reads {CHECKPOINT_VERSION}'
        )
    missing = [
        k
        for k in ('variant', 'fusion_config', 'heads_config', 'normalization', 'state_dict')
        if k not in payload
    ]
    if missing:
        raise ValueError(f'{path} lacks checkpoint field(s): {", ".join(missing)}')
    return payload


def checkpoint_info(path: str | Path) -> dict[str, Any]:
    """Everything in the checkpoint except the weights (for tools and logs)."""
    payload = read_checkpoint(path)
    info = {k: v for k, v in payload.items() if k != 'state_dict'}
    info['num_parameters'] = int(sum(t.numel() for t in payload['state_dict'].values()))
    return info


def _check_classes(what: str, stored: Sequence[str], expected: Sequence[str] | None) -> None:
    if expected is not None and list(stored) != list(expected):
        raise ValueError(
            f'checkpoint {what} classes {list(stored)} do not match the expected {list(expected)}'
        )


def describe_state_mismatch(
    model_state: dict[str, torch.Tensor], stored: dict[str, torch.Tensor]
) -> str:
    """Describe missing, unexpected and mis-shaped entries of ``stored`` against ``model_state``.

    The first five of each kind are named; the result is "" when they match.
    """

    def short(keys: list[str]) -> str:
        return ', '.join(keys[:5]) + (f', ... ({len(keys) - 5} more)' if len(keys) > 5 else '')

    missing = sorted(set(model_state) - set(stored))
    unexpected = sorted(set(stored) - set(model_state))
    shapes = [
        f'{k}: checkpoint {tuple(stored[k].shape)} vs model {tuple(model_state[k].shape)}'
        for k in sorted(set(stored) & set(model_state))
        if stored[k].shape != model_state[k].shape
    ]
    parts = []
    if missing:
        parts.append(f'{len(missing)} missing weight(s) [{short(missing)}]')
    if unexpected:
        parts.append(f'{len(unexpected)} unexpected weight(s) [{short(unexpected)}]')
    if shapes:
        parts.append(f'{len(shapes)} shape mismatch(es) [{short(shapes)}]')
    return '; '.join(parts)


def load_checkpoint(
    path: str | Path,
    fusion_builder: FusionBuilder | None = None,
    expected_variant: str | None = None,
    expected_detection_classes: Sequence[str] | None = None,
    expected_segmentation_classes: Sequence[str] | None = None,
) -> LoadedCheckpoint:
    """Rebuild the stored system (CPU, eval mode) and verify it matches the file exactly.

    The authors' TSJNet file is recognised and converted (``tsjnet_official``,
    fusion-only); a file of neither kind fails with a message saying what it is.
    """
    from tsjnet_ros.core.model.official_checkpoint import (
        is_official_checkpoint,
        load_official_checkpoint,
    )

    raw = load_torch_file(path)
    if is_official_checkpoint(raw) and fusion_builder is None:
        loaded = load_official_checkpoint(path, raw)
        variant = loaded.system.variant
        if expected_variant is not None and variant != expected_variant:
            raise ValueError(
                f'checkpoint {path} holds variant {variant!r}, '
                f'but {expected_variant!r} was requested'
            )
        return loaded
    payload = _check_payload(path, raw)
    variant = payload['variant']
    if expected_variant is not None and variant != expected_variant:
        raise ValueError(
            f'checkpoint {path} holds variant {variant!r}, but {expected_variant!r} was requested'
        )
    heads = (
        HeadsConfig.from_dict(payload['heads_config'])
        if payload['heads_config'] is not None
        else None
    )
    for what, key, cfg in (
        ('detection', 'detection_classes', heads.detection_classes if heads else ()),
        ('segmentation', 'segmentation_classes', heads.segmentation_classes if heads else ()),
    ):
        if key in payload and list(payload[key]) != list(cfg):
            raise ValueError(
                f'checkpoint {path} is inconsistent: '
                f'{key} {payload[key]} vs heads config {list(cfg)}'
            )
    _check_classes(
        'detection', heads.detection_classes if heads else (), expected_detection_classes
    )
    _check_classes(
        'segmentation', heads.segmentation_classes if heads else (), expected_segmentation_classes
    )
    normalization = Normalization.from_dict(payload['normalization'])

    try:
        system = build_system(
            variant,
            payload['fusion_config'],
            heads,
            fusion_builder=fusion_builder,
            fusion_only=heads is None,
        )
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f'checkpoint {path}: cannot rebuild fusion variant {variant!r} '
            f'from its stored config: {exc}'
        ) from exc
    stored = payload['state_dict']
    problem = describe_state_mismatch(system.state_dict(), stored)
    if problem:
        raise ValueError(
            f'checkpoint {path} does not fit variant {variant!r} '
            f'as built from its stored config: {problem}'
        )
    system.load_state_dict(stored, strict=True)
    system.eval()
    return LoadedCheckpoint(system, normalization, dict(payload.get('metadata', {})))
