"""Training configuration: dataclasses mirroring the YAML file that ``tsjnet-train`` reads.

Every field has a default, so a YAML file names only what differs. Unknown keys are an
error (a typo must not silently train with a default). Relative paths are resolved against
the directory the command runs in.

The YAML mapping becomes these dataclasses through a small loader driven by their type
hints rather than OmegaConf or pydantic: no rosdep key installs OmegaConf, and the
distributions' pydantic (1.x on Ubuntu 24.04) lacks the 2.x API that validates plain
dataclasses.
"""

from __future__ import annotations

from dataclasses import MISSING, asdict, dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any, get_args, get_origin, get_type_hints

import yaml

INPUT_MODES = ('fused', 'ir', 'visible')
OPTIMIZERS = ('adam', 'adamw')


def read_name_list(path: str | Path) -> list[str]:
    """Pair names from a text file, one per line; blank lines and ``#`` comments skipped."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f'pair name list not found: {path}')
    names = [
        line.split('#', 1)[0].strip() for line in path.read_text(encoding='utf-8').splitlines()
    ]
    return [n for n in names if n]


@dataclass
class SourceConfig:
    """One dataset root read with :class:`~tsjnet_ros.core.datasets.PairDataset`.

    ``exclude``: pair names left out (e.g. a held-out evaluation split). ``repeat``: how
    often each pair appears per epoch (balances small and large sets). ``max_side``: pairs
    are downscaled once at load time so their longer side is at most this many pixels.
    """

    root: str = ''
    layout: str = 'auto'
    split: str | None = None
    box_source: str | None = None
    exclude: list[str] = field(default_factory=list)
    exclude_file: str | None = (
        None  # one pair name per line (e.g. a validation split), added to ``exclude``
    )
    repeat: int = 1
    max_side: int | None = 640

    def __post_init__(self) -> None:
        if not self.root:
            raise ValueError("every data source needs a 'root' folder")
        if self.repeat < 1:
            raise ValueError(f'source {self.root}: repeat must be >= 1, got {self.repeat}')
        if self.exclude_file:
            self.exclude = [*self.exclude, *read_name_list(self.exclude_file)]
        if self.max_side is not None and self.max_side < 32:
            raise ValueError(f'source {self.root}: max_side must be >= 32, got {self.max_side}')


@dataclass
class AugmentationConfig:
    """Training-time augmentation: geometric and photometric changes with their ranges.

    Geometric changes hit IR, visible, boxes and masks alike; photometric ones are drawn
    independently per modality. Ranges are symmetric (+-value) unless given as a range.
    """

    scale: tuple[float, float] = (0.5, 1.0)
    hflip: float = 0.5
    brightness: float = 0.1
    contrast: float = 0.2
    gamma: float = 0.2
    noise_std: float = 0.01
    min_box_visibility: float = 0.4
    min_box_size: float = 4.0
    # Composition of several pairs (``training/composition.py``): probability of a 2x2
    # mosaic, and how many object patches from other pairs are pasted into a crop.
    mosaic: float = 0.0
    copy_paste: int = 0

    def __post_init__(self) -> None:
        self.scale = tuple(float(v) for v in self.scale)  # type: ignore[assignment]
        if len(self.scale) != 2 or not 0 < self.scale[0] <= self.scale[1]:
            raise ValueError(
                f'augmentation scale must be (low, high) with 0 < low <= high, got {self.scale}'
            )
        if not 0.0 <= self.hflip <= 1.0:
            raise ValueError(
                f'augmentation hflip must be a probability in [0, 1], got {self.hflip}'
            )
        for name in ('brightness', 'contrast', 'gamma', 'noise_std'):
            if getattr(self, name) < 0:
                raise ValueError(f'augmentation {name} must be >= 0, got {getattr(self, name)}')
        if not 0.0 <= self.min_box_visibility <= 1.0:
            raise ValueError(
                f'min_box_visibility must be in [0, 1], got {self.min_box_visibility}'
            )
        if not 0.0 <= self.mosaic <= 1.0:
            raise ValueError(
                f'augmentation mosaic must be a probability in [0, 1], got {self.mosaic}'
            )
        if self.copy_paste < 0:
            raise ValueError(f'augmentation copy_paste must be >= 0, got {self.copy_paste}')


@dataclass
class WeakMaskConfig:
    """Segmentation targets drawn from boxes where a dataset has no label maps.

    The ellipse inscribed in each box, shrunk to ``core_fraction`` of its size, takes the
    box's class; the rest of the box and a ``margin``-pixel ring around it are ignored; all
    other pixels are ``background_class``. ``class_map`` maps detection class names to
    segmentation class names (identical names need no entry).
    """

    enabled: bool = True
    core_fraction: float = 0.8
    margin: int = 4
    background_class: str = 'unlabelled'
    class_map: dict[str, str] = field(default_factory=lambda: {'bicycle': 'bike'})

    def __post_init__(self) -> None:
        if not 0.0 < self.core_fraction <= 1.0:
            raise ValueError(
                f'weak_masks.core_fraction must be in (0, 1], got {self.core_fraction}'
            )
        if self.margin < 0:
            raise ValueError(f'weak_masks.margin must be >= 0, got {self.margin}')


@dataclass
class DataConfig:
    sources: list[SourceConfig] = field(default_factory=list)
    crop_size: tuple[int, int] = (192, 192)
    batch_size: int = 2
    num_workers: int = 0
    augmentation: AugmentationConfig = field(default_factory=AugmentationConfig)
    weak_masks: WeakMaskConfig = field(default_factory=WeakMaskConfig)
    class_aliases: dict[str, str] = field(
        default_factory=lambda: {'people': 'person', 'bike': 'bicycle'}
    )

    def __post_init__(self) -> None:
        if not self.sources:
            raise ValueError('data.sources must list at least one dataset root')
        self.crop_size = tuple(int(v) for v in self.crop_size)  # type: ignore[assignment]
        if len(self.crop_size) != 2 or min(self.crop_size) < 32:
            raise ValueError(
                f'data.crop_size must be (H, W) with both >= 32, got {self.crop_size}'
            )
        if self.batch_size < 1:
            raise ValueError(f'data.batch_size must be >= 1, got {self.batch_size}')
        if self.num_workers < 0:
            raise ValueError(f'data.num_workers must be >= 0, got {self.num_workers}')


@dataclass
class StageConfig:
    """A block of steps.

    ``heads`` false trains the fusion network alone (self-supervised); true adds the
    detection/segmentation losses. ``loss_weights`` override the run's.
    """

    name: str = 'joint'
    steps: int = 100
    heads: bool = True
    lr: float | None = None
    fusion_lr_scale: float = 1.0
    warmup_steps: int = 0
    loss_weights: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.steps < 1:
            raise ValueError(f'stage {self.name!r}: steps must be >= 1, got {self.steps}')
        if self.fusion_lr_scale < 0:
            raise ValueError(f'stage {self.name!r}: fusion_lr_scale must be >= 0')
        if self.warmup_steps < 0:
            raise ValueError(f'stage {self.name!r}: warmup_steps must be >= 0')


@dataclass
class OptimizerConfig:
    name: str = 'adamw'
    lr: float = 1e-3
    weight_decay: float = 1e-4
    betas: tuple[float, float] = (0.9, 0.999)
    min_lr_ratio: float = 0.05
    grad_clip: float | None = 5.0

    def __post_init__(self) -> None:
        if self.name not in OPTIMIZERS:
            raise ValueError(f'optimizer.name must be one of {OPTIMIZERS}, got {self.name!r}')
        if self.lr <= 0:
            raise ValueError(f'optimizer.lr must be > 0, got {self.lr}')
        if not 0.0 <= self.min_lr_ratio <= 1.0:
            raise ValueError(f'optimizer.min_lr_ratio must be in [0, 1], got {self.min_lr_ratio}')
        self.betas = tuple(float(b) for b in self.betas)  # type: ignore[assignment]


@dataclass
class ValidationConfig:
    """Held-out pairs scored with the metrics library every ``every`` steps.

    ``every`` 0: only at the end.
    """

    root: str | None = None
    layout: str = 'auto'
    box_source: str | None = None
    names: list[str] = field(default_factory=list)
    names_file: str | None = None  # one pair name per line, added to ``names``
    max_pairs: int = 4
    max_side: int | None = 640
    every: int = 0
    metrics: list[str] = field(default_factory=lambda: ['SSIM', 'PSNR', 'VIF', 'Qabf', 'SF', 'CV'])
    score_threshold: float = 0.05

    def __post_init__(self) -> None:
        if self.names_file:
            self.names = [*self.names, *read_name_list(self.names_file)]


@dataclass
class TrainConfig:
    """A whole training run; see ``config/train/*.yaml`` for annotated examples."""

    data: DataConfig
    variant: str = 'tsjnet_rt'
    fusion_config: dict[str, Any] = field(default_factory=dict)
    heads_preset: str | None = None
    heads_overrides: dict[str, Any] = field(default_factory=dict)
    detection_classes: list[str] | None = None
    segmentation_classes: list[str] | None = None
    input_mode: str = 'fused'
    seed: int = 0
    device: str = 'auto'
    amp: bool = True
    threads: int | None = None
    loss_weights: dict[str, float] = field(default_factory=dict)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    stages: list[StageConfig] = field(
        default_factory=lambda: [StageConfig('fusion', 100, False), StageConfig()]
    )
    output_dir: str = 'runs/train'
    checkpoint_every: int = 100
    log_every: int = 10
    export_path: str | None = None
    export_half: bool = True
    validation: ValidationConfig = field(default_factory=ValidationConfig)
    progress: bool = True
    # Exponential moving average of the weights (0: off); validation and export use it.
    ema_decay: float = 0.0
    # Start from the weights of a checkpoint of ours: the parts named in ``init_parts``
    # ("fusion", "heads") must fit the configured network exactly (a resumed run ignores it).
    init_checkpoint: str | None = None
    init_parts: list[str] = field(default_factory=lambda: ['fusion'])

    def __post_init__(self) -> None:
        if self.input_mode not in INPUT_MODES:
            raise ValueError(f'input_mode must be one of {INPUT_MODES}, got {self.input_mode!r}')
        if not self.stages:
            raise ValueError('stages must list at least one stage')
        if self.input_mode != 'fused' and not all(s.heads for s in self.stages):
            raise ValueError(
                f'input_mode {self.input_mode!r} trains the heads only: '
                'every stage needs heads: true'
            )
        if not set(self.init_parts) <= {'fusion', 'heads'} or not self.init_parts:
            raise ValueError(
                f"init_parts must name 'fusion' and/or 'heads', got {self.init_parts}"
            )
        if not 0.0 <= self.ema_decay < 1.0:
            raise ValueError(f'ema_decay must be in [0, 1), got {self.ema_decay}')
        if self.checkpoint_every < 1 or self.log_every < 1:
            raise ValueError('checkpoint_every and log_every must be >= 1')

    @property
    def total_steps(self) -> int:
        return sum(s.steps for s in self.stages)

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python form (for checkpoints and logs)."""
        return _plain(asdict(self))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _coerce(value: Any, hint: Any, where: str) -> Any:
    """Numbers written as strings ("3e-4" is a string to YAML 1.1) become numbers."""
    allowed = get_args(hint) or (hint,)
    if value is None or isinstance(value, bool):
        return value
    if float in allowed and isinstance(value, (int, str)):
        try:
            return float(value)
        except ValueError:
            raise ValueError(f'{where} must be a number, got {value!r}') from None
    if int in allowed and isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            raise ValueError(f'{where} must be an integer, got {value!r}') from None
    return value


def _value(hint: Any, value: Any, where: str) -> Any:
    """Return ``value`` read as type ``hint``.

    Dataclasses and lists of them are built, numbers coerced.
    """
    if is_dataclass(hint):
        return _build(hint, value, where)
    item = (get_args(hint) or (None,))[0]
    if get_origin(hint) is list and is_dataclass(item):
        if not isinstance(value, list):
            raise TypeError(f'{where} must be a list, got {type(value).__name__}')
        return [_build(item, v, f'{where}[{i}]') for i, v in enumerate(value)]
    return _coerce(value, hint, where)


def _build(cls: type, data: Any, where: str) -> Any:
    """Instantiate dataclass ``cls`` from a mapping, recursing into nested dataclasses."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise TypeError(f'{where} must be a mapping, got {type(data).__name__}')
    hints = get_type_hints(cls)
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ValueError(
            f'unknown key(s) in {where}: {", ".join(unknown)}; valid: {", ".join(sorted(known))}'
        )
    missing = [
        n
        for n, f in known.items()
        if n not in data and f.default is MISSING and f.default_factory is MISSING
    ]
    if missing:
        raise ValueError(f'{where} lacks required key(s): {", ".join(missing)}')
    return cls(
        **{name: _value(hints[name], value, f'{where}.{name}') for name, value in data.items()}
    )


def train_config_from_dict(data: dict[str, Any]) -> TrainConfig:
    """Build and validate a :class:`TrainConfig` from a parsed YAML mapping."""
    return _build(TrainConfig, data, 'config')


def load_train_config(path: str | Path) -> TrainConfig:
    """Read a training YAML file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f'training config not found: {path}')
    with path.open('r', encoding='utf-8') as handle:
        data = yaml.safe_load(handle)
    if not isinstance(data, dict):
        raise ValueError(f'{path} must hold a YAML mapping, got {type(data).__name__}')
    return train_config_from_dict(data)
