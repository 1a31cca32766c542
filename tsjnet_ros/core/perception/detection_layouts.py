"""Which output layout a detector exported to ONNX has, told from its output shapes.

Three layouts cover the common exports:

* ``yolov5``: one output ``[1, N, 5 + C]``, rows (cx, cy, w, h, objectness, C class
  scores), N candidates (YOLOv5, YOLOv7 and their forks);
* ``yolov8``: one output ``[1, 4 + C, N]``, columns (cx, cy, w, h, C class scores)
  (YOLOv8, YOLO11);
* ``nms``: detections already suppressed in the graph, as outputs ``boxes [1, K, 4]``
  (x1, y1, x2, y2 in input pixels), ``scores [1, K]``, ``labels [1, K]`` (batch axis
  optional; an extra ``num_dets`` output is allowed, as TensorRT's EfficientNMS writes).

``auto`` picks one from the shapes: the NMS triple by names or by shapes and element
types; otherwise the candidate axis of a 3-D output is the free one, or the longer one,
or the one that matches the class count of the labels file. Anything else is refused
with the shapes found, so a wrong model fails at configure time, not with garbage boxes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tsjnet_ros.core.perception.onnx_model import TensorInfo, describe_tensors

LAYOUTS = ('auto', 'yolov5', 'yolov8', 'nms')
EXPECTED = (
    'YOLOv5 [1, N, 5+C], YOLOv8/11 [1, 4+C, N], or NMS-ed boxes [1, K, 4] + scores [1, K] + '
    'labels [1, K]'
)
_ROLE_NAMES = {
    'boxes': ('boxes', 'bboxes', 'det_boxes', 'detection_boxes'),
    'scores': ('scores', 'det_scores', 'detection_scores', 'confidences'),
    'labels': ('labels', 'classes', 'class_ids', 'det_classes', 'detection_classes'),
}
_COUNT_NAMES = ('num_dets', 'num_detections')


@dataclass(frozen=True)
class DetectionLayout:
    """A resolved layout: its name, the output indices it reads and the class count.

    ``name``, the output indices it reads (``prediction`` for YOLO, ``boxes``/``scores``/
    ``labels`` and an optional ``count`` for NMS) and the class count C (None for NMS).
    """

    name: str
    outputs: dict[str, int]
    num_classes: int | None


class UnknownLayoutError(ValueError):
    """The model's outputs match no supported layout (the message names them)."""


def _unbatched(info: TensorInfo) -> list:
    """Return the dims without the batch axis.

    The batch axis is a leading 1, or a free leading axis of a 3-D tensor or of a 2-D one that
    is not (K, 4) boxes.
    """
    dims = info.dims()
    if len(dims) >= 3 and dims[0] in (1, None):
        return dims[1:]
    if len(dims) == 2 and (dims[0] == 1 or (dims[0] is None and dims[1] != 4)):
        return dims[1:]
    return dims


def _nms_roles(outputs: Sequence[TensorInfo]) -> dict[str, int] | None:
    by_name: dict[str, int] = {}
    for i, info in enumerate(outputs):
        for role, names in _ROLE_NAMES.items():
            if info.name.lower() in names:
                by_name[role] = i
    count = next((i for i, o in enumerate(outputs) if o.name.lower() in _COUNT_NAMES), None)
    if len(by_name) == 3:
        return by_name if count is None else {**by_name, 'count': count}
    boxes = [i for i, o in enumerate(outputs) if len(_unbatched(o)) == 2 and _unbatched(o)[1] == 4]
    vectors = [i for i, o in enumerate(outputs) if len(_unbatched(o)) == 1 and i != count]
    if len(boxes) != 1 or len(vectors) != 2:
        return None
    ints = [i for i in vectors if 'int' in outputs[i].type]
    floats = [i for i in vectors if 'float' in outputs[i].type]
    if len(ints) == 1 and len(floats) == 1:
        roles = {'boxes': boxes[0], 'scores': floats[0], 'labels': ints[0]}
        return roles if count is None else {**roles, 'count': count}
    return None


def _yolo_guess(a, b, num_labels: int | None) -> str | None:
    """``yolov5`` or ``yolov8`` for a (a, b) prediction, or None when it cannot be told."""
    if num_labels:
        v8, v5 = a == 4 + num_labels, b == 5 + num_labels
        if v8 != v5:
            return 'yolov8' if v8 else 'yolov5'
    if a is None and b is not None:
        return 'yolov5'
    if b is None and a is not None:
        return 'yolov8'
    if a is not None and b is not None and a != b:
        return 'yolov8' if a < b else 'yolov5'
    return None


def _check_yolo(
    name: str, dims: list, num_labels: int | None, outputs: Sequence[TensorInfo]
) -> int:
    """Class count C of a YOLO prediction, or UnknownLayoutError."""
    attributes = dims[1] if name == 'yolov5' else dims[0]
    extra = 5 if name == 'yolov5' else 4
    if attributes is None or attributes <= extra:
        raise UnknownLayoutError(
            f'detector output does not fit the {name} layout ({EXPECTED}); '
            f'outputs: {describe_tensors(outputs)}'
        )
    num_classes = attributes - extra
    if num_labels and num_labels != num_classes:
        raise UnknownLayoutError(
            f'the labels name {num_labels} classes but the {name} output has {num_classes} '
            f'({describe_tensors(outputs[:1])})'
        )
    return num_classes


def resolve_layout(
    outputs: Sequence[TensorInfo], requested: str = 'auto', num_labels: int | None = None
) -> DetectionLayout:
    """Return the layout of a detector with ``outputs``; ``requested`` one of :data:`LAYOUTS`.

    ``num_labels`` (the labels file's class count) disambiguates and is checked against
    the class count of YOLO outputs. Raises :class:`UnknownLayoutError` naming the shapes.
    """
    if requested not in LAYOUTS:
        raise ValueError(f'detector layout must be one of {", ".join(LAYOUTS)}, got {requested!r}')
    if requested in ('auto', 'nms'):
        roles = _nms_roles(outputs)
        if roles is not None:
            return DetectionLayout('nms', roles, None)
        if requested == 'nms':
            raise UnknownLayoutError(
                'detector outputs are not NMS-ed boxes/scores/labels; '
                f'found {describe_tensors(outputs)}'
            )
    prediction = _unbatched(outputs[0]) if outputs else []
    if len(prediction) != 2:
        raise UnknownLayoutError(
            "cannot tell the detector's output layout: "
            f'found {describe_tensors(outputs)}; expected {EXPECTED} '
            '(set detector_layout if the shapes are right)'
        )
    name = (
        requested if requested != 'auto' else _yolo_guess(prediction[0], prediction[1], num_labels)
    )
    if name is None:
        raise UnknownLayoutError(
            'cannot tell YOLOv5 [1, N, 5+C] from YOLOv8/11 [1, 4+C, N] '
            f'for {describe_tensors(outputs[:1])}; '
            'set detector_layout or give a labels file'
        )
    return DetectionLayout(
        name, {'prediction': 0}, _check_yolo(name, prediction, num_labels, outputs)
    )
