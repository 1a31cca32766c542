"""Which detector and segmenter judge the fused image: the settings and the one builder.

Field names equal the fusion node's parameter names, so the node, ``tsjnet-bag`` (from
the node's parameter file) and ``tsjnet-eval`` (from its options) build identical
models. ``tsjnet`` keeps the TSJNet heads (none for classical fusion); ``onnx`` runs
``*_model`` with onnxruntime on the fused image.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from tsjnet_ros.core.fusion.backend import FusionBackend
from tsjnet_ros.core.perception.detection_layouts import LAYOUTS
from tsjnet_ros.core.perception.onnx_model import NORMALIZATIONS
from tsjnet_ros.core.runtime.setting_fields import setting

TASK_BACKENDS = ('tsjnet', 'onnx')


def _size(value: Any, name: str) -> tuple[int, int]:
    try:
        size = tuple(int(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f'{name} must be [height, width] integers, got {value!r}') from None
    if len(size) != 2 or min(size) < 0 or (0 in size and size != (0, 0)):
        raise ValueError(
            f"{name} must be [height, width] > 0, or [0, 0] for the model's own size; "
            f'got {list(size)}'
        )
    return size  # type: ignore[return-value]


@dataclass(frozen=True)
class TaskModelSettings:
    """Detector and segmenter choice; ``*_input_size`` (h, w), (0, 0) = from the model.

    Each field's default, description and choices are the node parameter of that name.
    """

    detector_backend: str = setting(
        'tsjnet',
        'detections from the TSJNet head or an ONNX model run on the fused image',
        choices=TASK_BACKENDS,
    )
    detector_model: str = setting('', 'ONNX detector file (detector_backend onnx)')
    detector_labels: str = setting(
        '', "class names: text file, one per line, or YAML 'names' ('' = model metadata or 0..C-1)"
    )
    detector_layout: str = setting(
        'auto', 'ONNX detector output layout (auto = from the output shapes)', choices=LAYOUTS
    )
    detector_input_size: tuple[int, int] = setting(
        (0, 0),
        '[height, width] for an ONNX detector with a free input size '
        '([0, 0] = camera size padded to 32)',
    )
    detector_normalization: str = setting(
        'unit',
        'ONNX detector pixel scaling: x/255 or ImageNet mean/std',
        choices=tuple(NORMALIZATIONS),
    )
    segmentation_backend: str = setting(
        'tsjnet',
        'segmentation from the TSJNet head or an ONNX model on the fused image',
        choices=TASK_BACKENDS,
    )
    segmentation_model: str = setting('', 'ONNX segmenter file (segmentation_backend onnx)')
    segmentation_labels: str = setting(
        '', 'segmentation class names, same formats as detector_labels'
    )
    segmentation_input_size: tuple[int, int] = setting(
        (0, 0), '[height, width] for an ONNX segmenter with a free input size'
    )
    segmentation_normalization: str = setting(
        'unit', 'ONNX segmenter pixel scaling', choices=tuple(NORMALIZATIONS)
    )

    def __post_init__(self) -> None:
        for task in ('detector', 'segmentation'):
            backend = getattr(self, f'{task}_backend')
            if backend not in TASK_BACKENDS:
                raise ValueError(
                    f'{task}_backend must be one of {", ".join(TASK_BACKENDS)}, got {backend!r}'
                )
            if backend == 'onnx' and not getattr(self, f'{task}_model'):
                raise ValueError(f'{task}_backend is onnx but {task}_model is empty')
            normalization = getattr(self, f'{task}_normalization')
            if normalization not in NORMALIZATIONS:
                raise ValueError(
                    f'{task}_normalization must be one of {", ".join(NORMALIZATIONS)}, '
                    f'got {normalization!r}'
                )
            name = f'{task}_input_size'
            object.__setattr__(self, name, _size(getattr(self, name), name))
        if self.detector_layout not in LAYOUTS:
            raise ValueError(
                f'detector_layout must be one of {", ".join(LAYOUTS)}, '
                f'got {self.detector_layout!r}'
            )

    @classmethod
    def from_parameters(cls, values: Mapping[str, Any]) -> TaskModelSettings:
        """From a parameter mapping (node parameters, a YAML section); other keys are ignored."""
        return cls(**{f.name: values[f.name] for f in fields(cls) if f.name in values})

    def parameters(self) -> dict[str, Any]:
        """As ROS parameter values (sizes as lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @property
    def uses_onnx(self) -> bool:
        return 'onnx' in (self.detector_backend, self.segmentation_backend)


def build_task_models(
    settings: TaskModelSettings,
    device: str = 'auto',
    cpu_threads: int = 0,
    score_threshold: float = 0.3,
    nms_iou: float = 0.6,
    max_detections: int = 100,
) -> tuple[Any, Any]:
    """Build (detector, segmenter) for the tasks set to ``onnx`` (None for the others).

    Raises ValueError naming the task and the cause (missing file, unknown output layout, labels
    that do not match the model).
    """
    from tsjnet_ros.core.perception.onnx_detector import OnnxDetector
    from tsjnet_ros.core.perception.onnx_segmenter import OnnxSegmenter

    s = settings
    detector = segmenter = None
    if s.detector_backend == 'onnx':
        try:
            detector = OnnxDetector(
                s.detector_model,
                s.detector_labels or None,
                s.detector_layout,
                s.detector_input_size,
                s.detector_normalization,
                device,
                cpu_threads,
                score_threshold,
                nms_iou,
                max_detections,
            )
        except ValueError as exc:
            raise type(exc)(f'detector {s.detector_model}: {exc}') from None
    if s.segmentation_backend == 'onnx':
        try:
            segmenter = OnnxSegmenter(
                s.segmentation_model,
                s.segmentation_labels or None,
                s.segmentation_input_size,
                s.segmentation_normalization,
                device,
                cpu_threads,
            )
        except ValueError as exc:
            raise ValueError(f'segmenter {s.segmentation_model}: {exc}') from None
    return detector, segmenter


def with_task_models(
    backend: FusionBackend, settings: TaskModelSettings, **model_kwargs: Any
) -> FusionBackend:
    """Return ``backend`` itself when both tasks stay ``tsjnet``, else a wrapper.

    The wrapper is a :class:`FusedImageModels` running the ONNX detector/segmenter on its fused
    image (``model_kwargs``: see :func:`build_task_models`).
    """
    if not settings.uses_onnx:
        return backend
    from tsjnet_ros.core.perception.fused_image_models import FusedImageModels

    return FusedImageModels(backend, *build_task_models(settings, **model_kwargs))
