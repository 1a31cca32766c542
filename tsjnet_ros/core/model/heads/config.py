"""Configuration of the task heads (shared backbone, segmentation, detection).

Two presets: ``light`` keeps the heads of the real-time ``tsjnet_rt`` system under about
2 GMAC per 480x640 frame (so fusion + heads fit the 5 GMAC budget); ``large`` sizes them
like the task networks the TSJNet paper used (ResNet-50 features, 256-channel DeepLabV3+
and a normal-size FCOS-style detector) for the faithful ``tsjnet`` system.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from tsjnet_ros.core.model.blocks.layer_choice import norm_names

# MSRS semantic classes (the paper's segmentation benchmark), label id = list index.
MSRS_SEGMENTATION_CLASSES: tuple[str, ...] = (
    'unlabelled',
    'car',
    'person',
    'bike',
    'curve',
    'car_stop',
    'guardrail',
    'color_cone',
    'bump',
)
# Detection classes of the MSRS box labels shipped with the project data (YOLO ids 0, 1, 2).
MSRS_DETECTION_CLASSES: tuple[str, ...] = ('person', 'bicycle', 'car')

# Norm names of checkpoint format 1, where the heads had their own norm table.
_LEGACY_NORMS = {'batch': 'batchnorm2d', 'group': 'groupnorm32'}


@dataclass(frozen=True)
class HeadsConfig:
    """Everything needed to rebuild the task heads; stored verbatim in checkpoints.

    ``input_scale`` resizes the fused image before the backbone (cheaper heads); outputs are
    always mapped back to fused-image pixels. ``aspp_level`` / ``low_level`` index the
    backbone features (0 = stride 4, 1 = 8, 2 = 16, 3 = 32); the detector uses the stride
    8, 16 and 32 levels. ``depthwise`` swaps 3x3 convs for depthwise-separable ones. The ASPP rates
    (3, 6, 9) on the stride-32 level cover the same field as DeepLabV3+'s (6, 12, 18) at
    stride 16. ``norm`` names a norm layer of
    :func:`~tsjnet_ros.core.model.blocks.layer_choice.norm2d_factory`; the names of format-1
    checkpoints (``"batch"``, ``"group"`` = 32 groups) are read as ``"batchnorm2d"`` and
    ``"groupnorm32"``.
    """

    backbone: str = 'mobilenetv3_large_075'
    input_scale: float = 1.0
    input_mean: float = 0.5
    input_std: float = 0.25
    detection_classes: tuple[str, ...] = MSRS_DETECTION_CLASSES
    segmentation_classes: tuple[str, ...] = MSRS_SEGMENTATION_CLASSES
    # Segmentation (DeepLabV3+)
    aspp_level: int = 3
    aspp_channels: int = 64
    aspp_rates: tuple[int, ...] = (3, 6, 9)
    low_level: int = 0
    low_level_channels: int = 24
    decoder_channels: int = 48
    # Detection (FCOS-style, anchor-free)
    fpn_channels: int = 64
    det_tower_depth: int = 2
    scale_ranges: tuple[float, ...] = (64.0, 128.0)
    center_radius: float = 1.5
    depthwise: bool = True
    norm: str = 'batchnorm2d'

    def __post_init__(self) -> None:
        if not 0.1 <= self.input_scale <= 4.0:
            raise ValueError(f'input_scale must be in [0.1, 4], got {self.input_scale}')
        if self.input_std <= 0:
            raise ValueError(f'input_std must be positive, got {self.input_std}')
        if not self.detection_classes:
            raise ValueError('detection_classes must name at least one class')
        if len(self.segmentation_classes) < 2:
            raise ValueError('segmentation_classes must name at least two classes')
        for name in ('aspp_level', 'low_level'):
            if getattr(self, name) not in (0, 1, 2, 3):
                raise ValueError(f'{name} must be 0, 1, 2 or 3, got {getattr(self, name)}')
        if self.low_level >= self.aspp_level:
            raise ValueError('low_level must be a finer level (smaller index) than aspp_level')
        if len(self.scale_ranges) != 2 or not 0 < self.scale_ranges[0] < self.scale_ranges[1]:
            raise ValueError(
                'scale_ranges must be two increasing box sizes (P3/P4, P4/P5), '
                f'got {self.scale_ranges}'
            )
        object.__setattr__(self, 'norm', _LEGACY_NORMS.get(self.norm, self.norm))
        if self.norm not in norm_names():
            raise ValueError(f'norm must be one of {", ".join(norm_names())}, got {self.norm!r}')
        # Normalise sequences so equality survives a JSON/pickle round trip.
        for name in ('detection_classes', 'segmentation_classes', 'aspp_rates', 'scale_ranges'):
            object.__setattr__(self, name, tuple(getattr(self, name)))

    @property
    def num_detection_classes(self) -> int:
        return len(self.detection_classes)

    @property
    def num_segmentation_classes(self) -> int:
        return len(self.segmentation_classes)

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python form (lists, not tuples) for checkpoints."""
        out = asdict(self)
        for key, value in out.items():
            if isinstance(value, tuple):
                out[key] = list(value)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HeadsConfig:
        """Inverse of :meth:`to_dict`; unknown keys are an error so typos do not pass."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f'unknown heads config keys: {", ".join(unknown)}')
        return cls(**data)

    def with_classes(
        self,
        detection_classes: tuple[str, ...] | list[str] | None = None,
        segmentation_classes: tuple[str, ...] | list[str] | None = None,
    ) -> HeadsConfig:
        """Copy with other class tables (e.g. M3FD's six detection classes)."""
        return replace(
            self,
            detection_classes=tuple(detection_classes or self.detection_classes),
            segmentation_classes=tuple(segmentation_classes or self.segmentation_classes),
        )


HEADS_PRESETS: dict[str, HeadsConfig] = {
    'light': HeadsConfig(),
    'large': HeadsConfig(
        backbone='resnet50',
        aspp_channels=256,
        low_level=0,
        low_level_channels=48,
        decoder_channels=256,
        fpn_channels=256,
        det_tower_depth=4,
        depthwise=False,
        norm='groupnorm32',
    ),
}

# ``rt``: the heads of the shipped real-time system. A CPU-friendly backbone (PP-LCNet 0.5) on
# the fused image at half size: detection strides 8/16/32 of that image are 16/32/64 camera
# pixels, segmentation is decoded at 1/8 of the camera size.
HEADS_PRESETS['rt'] = replace(HEADS_PRESETS['light'], backbone='lcnet_050', input_scale=0.5)

# Which preset goes with which fusion network by default.
_PRESET_FOR_VARIANT = {'tsjnet': 'large', 'tsjnet_official': 'large', 'tsjnet_rt': 'light'}


def heads_config_for(variant: str) -> HeadsConfig:
    """Return the default heads for a fusion variant.

    ``large`` for ``tsjnet``(``_official``), ``light`` otherwise.
    """
    return HEADS_PRESETS[_PRESET_FOR_VARIANT.get(variant, 'light')]
