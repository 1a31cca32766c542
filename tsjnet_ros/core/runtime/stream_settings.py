"""Every setting of the fusion stream, with its default, range and description, in one place.

The fusion node declares its ROS parameters from these fields (``nodes/fusion_parameters``
adds only what is ROS's own: topics' transports, QoS, which outputs to publish), and the
bag tools read the same fields from the node's parameter file
(:meth:`StreamSettings.from_parameter_file`), so the node and the offline evaluation pair,
prepare and fuse with identical settings. Backend names come from the fusion registry.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import yaml

from tsjnet_ros.core.fusion.backend import FusionBackend
from tsjnet_ros.core.fusion.registry import available_backends
from tsjnet_ros.core.image.color import fixed_range_scaler
from tsjnet_ros.core.perception.detection_message import CLASS_ID_FORMATS
from tsjnet_ros.core.perception.settings import TaskModelSettings, with_task_models
from tsjnet_ros.core.preparation.pair_alignment import RESIZE_POLICIES
from tsjnet_ros.core.preparation.pair_preparation import PairPreparation
from tsjnet_ros.core.runtime.setting_fields import described_settings, setting
from tsjnet_ros.core.sync import POLICIES

NODE_NAME = 'fusion_node'
PRECISIONS = ('fp32', 'bf16', 'fp16')
LIVE_THRESHOLDS = ('score_threshold', 'nms_iou', 'max_detections')  # applied to a running backend

logger = logging.getLogger('tsjnet_ros')


@dataclass(frozen=True)
class StreamSettings:
    """How images are paired, prepared and fused; field names are the node's parameter names.

    Construction checks every value (:class:`ValueError` names the setting) and loads the
    ``registration`` file, so a bad parameter file fails before any work.
    """

    fusion_backend: str = setting('tsjnet', 'fusion method', choices=tuple(available_backends()))
    checkpoint: str = setting(
        '', "model checkpoint file for the tsjnet backend ('' = the shipped default)"
    )
    device: str = setting(
        'auto', 'inference device: auto | cpu | cuda:N (missing CUDA falls back to CPU)'
    )
    precision: str = setting('fp32', 'inference precision', choices=PRECISIONS)
    compile: bool = setting(
        False, 'torch.compile the model at configure time (slower start, faster frames)'
    )
    cpu_threads: int = setting(
        0,
        'intra-op CPU threads for inference (0 = the CPUs this process may use, at most 8)',
        value_range=(0, 256),
    )
    cpu_band_mb: int = setting(
        0,
        'on CPU in fp32, run full-resolution ResNeSt stages in row bands of this many MB: '
        'lower peak memory, a slower frame (0 = whole maps)',
        value_range=(0, 4096),
    )
    inference_size: tuple[int, int] = setting(
        (0, 0),
        '[height, width] the tsjnet model runs at; outputs stay in camera pixels '
        '([0, 0] = camera size; e.g. [480, 640] for a 1280x1024 camera)',
    )
    sync_policy: str = setting('approximate', 'IR/visible pairing policy', choices=POLICIES)
    slop: float = setting(
        0.05, 'largest accepted IR/visible stamp difference (s)', value_range=(0.0, 1.0)
    )
    queue_size: int = setting(10, 'messages kept per camera while pairing', value_range=(1, 1000))
    resize_to: str = setting(
        'visible', 'camera whose pixels, size and header the outputs use', choices=RESIZE_POLICIES
    )
    registration: str = setting(
        '', "YAML with the IR-to-visible homography (tsjnet-register); '' = resize only"
    )
    ir_range: tuple[float, float] = setting(
        (0.0, 0.0),
        'fixed IR value range [low, high] in camera units (counts, degC, K); '
        '[0, 0] = automatic gain',
    )
    visible_range: tuple[float, float] = setting(
        (0.0, 0.0),
        'fixed range [low, high] of a visible camera wider than 8 bit; [0, 0] = automatic gain',
    )
    score_threshold: float = setting(
        0.3, 'lowest detection score published', live=True, value_range=(0.0, 1.0)
    )
    nms_iou: float = setting(
        0.6,
        'IoU above which overlapping detections are suppressed',
        live=True,
        value_range=(0.0, 1.0),
    )
    max_detections: int = setting(
        100, 'most detections per frame', live=True, value_range=(1, 1000)
    )
    class_id_format: str = setting(
        'id',
        'hypothesis.class_id content of the output detections: numeric id or class name',
        live=True,
        choices=CLASS_ID_FORMATS,
    )
    stream_timeout: float = setting(
        2.0, 'seconds without one camera before warning', live=True, value_range=(0.1, 60.0)
    )
    tasks: TaskModelSettings = TaskModelSettings()

    def __post_init__(self) -> None:
        for name in (
            'ir_range',
            'visible_range',
        ):  # parameter lists -> tuples of floats (checked below)
            try:
                object.__setattr__(self, name, tuple(float(v) for v in getattr(self, name)))
            except (TypeError, ValueError):
                pass
        try:
            object.__setattr__(self, 'inference_size', tuple(int(v) for v in self.inference_size))
        except (TypeError, ValueError):
            pass
        for item in described_settings(type(self)):
            if item.group is None:
                reason = self.problem(item.name, getattr(self, item.name))
                if reason:
                    raise ValueError(reason)

    @classmethod
    def problem(cls, name: str, value: Any) -> str | None:
        """Say why ``value`` is not valid for the setting ``name``.

        None when it is valid, or for a name that is no setting here.
        """
        info = _INFO.get(name)
        if info is None:
            return None
        reason = info.problem(name, value)
        if reason:
            return reason
        if name in ('ir_range', 'visible_range'):
            try:
                fixed_range_scaler(value)
            except ValueError as exc:
                return f'{name} {exc}'
        if name == 'inference_size':
            values = list(value)
            if len(values) != 2 or (any(values) and min(values) < 32):
                return (
                    'inference_size must be [height, width] with both >= 32, '
                    f'or [0, 0] for the camera size, got {values}'
                )
        if name == 'registration' and value:
            from tsjnet_ros.core.preparation.registration import Registration

            try:
                Registration.load(value)
            except (OSError, ValueError) as exc:
                return f'registration: {exc}'
        return None

    # -- building ----------------------------------------------------------------------
    @classmethod
    def from_parameters(cls, values: Mapping[str, Any]) -> StreamSettings:
        """Build from parameter values by name (node parameters, a YAML section).

        Other keys are ignored.
        """
        own = {f.name for f in fields(cls)} - {'tasks'}
        return cls(
            **{k: values[k] for k in own if k in values},
            tasks=TaskModelSettings.from_parameters(values),
        )

    @classmethod
    def from_parameter_file(cls, path: str | Path, node: str = NODE_NAME) -> StreamSettings:
        """Read a ROS 2 parameter YAML (``/**/fusion_node: ros__parameters: ...``).

        Settings it does not set keep their defaults.
        """
        path = Path(path)
        try:
            document = yaml.safe_load(path.read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ValueError(f'cannot read parameter file {path}: {exc}') from None
        if not isinstance(document, dict):
            raise ValueError(f'parameter file {path} is not a mapping of node names')
        values: dict[str, Any] = {}
        for key, section in document.items():
            if _matches(str(key), node) and isinstance(section, dict):
                values.update(section.get('ros__parameters') or {})
        return cls.from_parameters(values)

    def with_overrides(self, **changes: Any) -> StreamSettings:
        """Copy with changed fields (None = keep); task settings by their own names."""
        changes = {k: v for k, v in changes.items() if v is not None}
        task_fields = {f.name for f in fields(TaskModelSettings)}
        tasks = {k: changes.pop(k) for k in list(changes) if k in task_fields}
        if tasks:
            changes['tasks'] = replace(self.tasks, **tasks)
        return replace(self, **changes)

    def parameters(self) -> dict[str, Any]:
        """Every setting as a ROS parameter value (tuples as lists), task settings included."""
        values = {k: v for k, v in asdict(self).items() if k != 'tasks'}
        values.update(self.tasks.parameters())
        return {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}

    def as_dict(self) -> dict[str, Any]:
        """Return the settings as plain values (task settings under ``tasks``), for reports."""
        return asdict(self)

    def pair_preparation(self) -> PairPreparation:
        """Build a fresh preparation step (its automatic gain starts over); one per camera pair."""
        return PairPreparation(self.resize_to, self.visible_range, self.registration)

    def resolve_device(self, warn: Callable[[str], None] = logger.warning) -> str:
        """Name the device the backend runs on.

        ``cpu`` for classical methods, else ``device`` resolved (``auto`` -> CUDA when
        present; a CUDA device that is absent falls back to the CPU with a warning).
        """
        if self.fusion_backend != 'tsjnet':
            return 'cpu'
        from tsjnet_ros.core.runtime.pipeline import (
            resolve_device,
        )  # torch only for the neural backend

        try:
            return str(resolve_device(self.device))
        except ValueError as exc:
            if not str(self.device).startswith('cuda'):
                raise
            warn(f'{exc}; falling back to CPU')
            return str(resolve_device('cpu'))

    def build_backend(self, device: str | None = None) -> FusionBackend:
        """Build the fusion backend with the chosen detector/segmenter on its fused image.

        It runs on ``device`` (None: :meth:`resolve_device`).
        """
        # looked up per call: tools and tests replace the factory
        from tsjnet_ros.core import fusion

        device = self.resolve_device() if device is None else device
        if self.fusion_backend != 'tsjnet':
            backend = fusion.create_backend(self.fusion_backend, ir_range=self.ir_range)
        else:
            backend = fusion.create_backend(
                'tsjnet',
                checkpoint=self.checkpoint,
                device=device,
                precision=self.precision,
                compile=self.compile,
                cpu_threads=self.cpu_threads,
                cpu_band_mb=self.cpu_band_mb,
                score_threshold=self.score_threshold,
                nms_iou=self.nms_iou,
                max_detections=self.max_detections,
                inference_size=self.inference_size if any(self.inference_size) else None,
                ir_range=self.ir_range,
            )
        return with_task_models(
            backend,
            self.tasks,
            device=self.device,
            cpu_threads=self.cpu_threads,
            score_threshold=self.score_threshold,
            nms_iou=self.nms_iou,
            max_detections=self.max_detections,
        )


_INFO = {s.name: s.info for s in described_settings(StreamSettings)}


def _matches(key: str, node: str) -> bool:
    """Match ROS parameter-file node keys.

    ``fusion_node``, ``/fusion_node``, ``/**/fusion_node`` and ``/**`` all match.
    """
    key = key.strip()
    return key in ('/**', node, f'/{node}') or (
        key.startswith('/') and key.rsplit('/', 1)[-1] == node
    )
