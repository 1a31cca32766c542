"""The fusion node's pipeline parameters, read from the same YAML the launch file uses.

Offline evaluation must pair and prepare images exactly as the live node does, so it takes
``sync_policy``, ``slop``, ``queue_size``, ``resize_to``, the input value ranges
(``ir_range``, ``visible_range``), ``registration``, the backend choice, the detection
thresholds, ``class_id_format`` of the output detections and the detector/segmenter choice (:class:`TaskModelSettings`) from the
``fusion_node`` section of ``config/fusion.yaml`` (or any parameter file of that form), and
builds the backend and the pair preparation with the node's own code
(:func:`~tsjnet_ros.core.fusion.create_backend` with ``ir_range``,
:class:`~tsjnet_ros.core.preparation.pair_preparation.PairPreparation`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import yaml

from tsjnet_ros.core.fusion.backend import FusionBackend
from tsjnet_ros.core.image.color import fixed_range_scaler
from tsjnet_ros.core.perception.detection_message import CLASS_ID_FORMATS
from tsjnet_ros.core.preparation.pair_alignment import RESIZE_POLICIES
from tsjnet_ros.core.preparation.pair_preparation import PairPreparation
from tsjnet_ros.core.perception.settings import TaskModelSettings, with_task_models
from tsjnet_ros.core.sync import POLICIES

NODE_NAME = "fusion_node"


@dataclass(frozen=True)
class PipelineSettings:
    """Defaults equal the node's parameter defaults."""

    fusion_backend: str = "tsjnet"
    checkpoint: str = ""
    device: str = "auto"
    sync_policy: str = "approximate"
    slop: float = 0.05
    queue_size: int = 10
    resize_to: str = "visible"
    registration: str = ""  # YAML homography path, relative to the working directory as in the node
    ir_range: tuple[float, float] = (0.0, 0.0)  # [0, 0] = automatic gain
    visible_range: tuple[float, float] = (0.0, 0.0)
    score_threshold: float = 0.3
    nms_iou: float = 0.6
    max_detections: int = 100
    class_id_format: str = "id"  # hypothesis.class_id of the output detections: numeric id or class name
    tasks: TaskModelSettings = TaskModelSettings()

    def __post_init__(self) -> None:
        if self.sync_policy not in POLICIES:
            raise ValueError(f"sync_policy must be one of {POLICIES}, got {self.sync_policy!r}")
        if not 0.0 <= float(self.slop) <= 1.0:
            raise ValueError(f"slop must be in [0, 1] seconds, got {self.slop}")
        if not 1 <= int(self.queue_size) <= 1000:
            raise ValueError(f"queue_size must be in [1, 1000], got {self.queue_size}")
        if self.resize_to not in RESIZE_POLICIES:
            raise ValueError(f"resize_to must be one of {RESIZE_POLICIES}, got {self.resize_to!r}")
        if self.class_id_format not in CLASS_ID_FORMATS:
            raise ValueError(f"class_id_format must be one of {CLASS_ID_FORMATS}, got {self.class_id_format!r}")
        for name in ("ir_range", "visible_range"):  # YAML lists -> tuples of floats (the checks below name bad ones)
            try:
                object.__setattr__(self, name, tuple(float(v) for v in getattr(self, name)))
            except (TypeError, ValueError):
                pass
        try:
            fixed_range_scaler(self.ir_range)  # the node's check of the parameter
        except ValueError as exc:
            raise ValueError(f"ir_range {exc}") from None
        self.pair_preparation()  # checks visible_range and loads the registration file

    def with_overrides(self, **changes: Any) -> "PipelineSettings":
        """Changed fields (None = keep); :class:`TaskModelSettings` fields by their own names."""
        changes = {k: v for k, v in changes.items() if v is not None}
        task_fields = {f.name for f in fields(TaskModelSettings)}
        tasks = {k: changes.pop(k) for k in list(changes) if k in task_fields}
        if tasks:
            changes["tasks"] = replace(self.tasks, **tasks)
        return replace(self, **changes)

    def backend_kwargs(self) -> dict[str, Any]:
        """Arguments for ``create_backend`` (as the node passes them)."""
        if self.fusion_backend != "tsjnet":
            return {"ir_range": self.ir_range}
        return {"checkpoint": self.checkpoint, "device": self.device, "score_threshold": self.score_threshold,
                "nms_iou": self.nms_iou, "max_detections": self.max_detections, "ir_range": self.ir_range}

    def pair_preparation(self) -> PairPreparation:
        """A fresh preparation step (its automatic gain starts over), as the node builds one
        at configure time; keep one per bag."""
        return PairPreparation(self.resize_to, self.visible_range, self.registration)

    def build_backend(self) -> FusionBackend:
        """The fusion backend with the chosen detector/segmenter on its fused image, as the node builds it."""
        from tsjnet_ros.core.fusion import create_backend

        return with_task_models(
            create_backend(self.fusion_backend, **self.backend_kwargs()), self.tasks, device=self.device,
            score_threshold=self.score_threshold, nms_iou=self.nms_iou, max_detections=self.max_detections,
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _matches(key: str, node: str) -> bool:
    """ROS parameter-file node keys: ``fusion_node``, ``/fusion_node``, ``/**/fusion_node``, ``/**``."""
    key = key.strip()
    return key in ("/**", node, f"/{node}") or (key.startswith("/") and key.rsplit("/", 1)[-1] == node)


def load_pipeline_settings(path: str | Path, node: str = NODE_NAME) -> PipelineSettings:
    """Settings from a ROS 2 parameter YAML; fields it does not set keep the node defaults."""
    path = Path(path)
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"cannot read parameter file {path}: {exc}") from None
    if not isinstance(document, dict):
        raise ValueError(f"parameter file {path} is not a mapping of node names")
    values: dict[str, Any] = {}
    for key, section in document.items():
        if _matches(str(key), node) and isinstance(section, dict):
            values.update(section.get("ros__parameters") or {})
    known = {k: values[k] for k in PipelineSettings.__dataclass_fields__ if k in values and k != "tasks"}
    return PipelineSettings(**known, tasks=TaskModelSettings.from_parameters(values))
