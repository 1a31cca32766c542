"""A detector of one's own, exported to ONNX, run on the fused image.

Configure time: load the model, read the class names (labels file, else the names an
Ultralytics export stores, else the numbers 0..C-1), resolve the output layout
(:mod:`detection_layouts`) and refuse what does not fit. Per frame: letterbox to the
model's input, run, decode (:mod:`detection_decoders`) and map the boxes back to the
camera image.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from tsjnet_ros.core.model.postprocess import DecodedDetections, to_detection_list
from tsjnet_ros.core.perception.detection_decoders import decode_outputs
from tsjnet_ros.core.perception.detection_layouts import UnknownLayoutError, resolve_layout
from tsjnet_ros.core.perception.labels import labels_from_metadata, read_labels
from tsjnet_ros.core.perception.onnx_model import OnnxImageModel
from tsjnet_ros.core.types.detection import Detection

logger = logging.getLogger('tsjnet_ros')


class OnnxDetector:
    """Detections in ORIGINAL image pixels from an ONNX model (see module docstring).

    ``layout``: ``auto``, ``yolov5``, ``yolov8`` or ``nms``; ``input_size`` (h, w) for
    models with a free input size; ``normalization`` ``unit`` or ``imagenet``.
    ``score_threshold``, ``nms_iou`` and ``max_detections`` may be changed between frames.
    Raises ValueError (UnknownLayoutError for outputs of no known layout) naming the cause.
    """

    def __init__(
        self,
        model: str | Path,
        labels: str | Path | None = None,
        layout: str = 'auto',
        input_size: Sequence[int] | None = None,
        normalization: str = 'unit',
        device: str = 'auto',
        cpu_threads: int = 0,
        score_threshold: float = 0.3,
        nms_iou: float = 0.6,
        max_detections: int = 100,
    ) -> None:
        self.model = OnnxImageModel(model, input_size, normalization, device, cpu_threads)
        names = read_labels(labels) if labels else labels_from_metadata(self.model.metadata)
        self.layout = resolve_layout(self.model.outputs, layout, len(names) if names else None)
        if names is None:
            if self.layout.num_classes is None:
                raise UnknownLayoutError(
                    f'{self.model.path.name} outputs NMS-ed class ids but names no classes; '
                    'give a labels file'
                )
            names = [str(i) for i in range(self.layout.num_classes)]
        self.class_names = list(names)
        self.name = self.model.path.stem
        self.score_threshold = float(score_threshold)
        self.nms_iou = float(nms_iou)
        self.max_detections = int(max_detections)
        logger.info(
            'OnnxDetector: %s, layout %s, %d classes, input %s, providers %s',
            self.model.path.name,
            self.layout.name,
            len(self.class_names),
            'x'.join(map(str, self.model.input_size or ('free',))),
            ', '.join(self.model.providers),
        )

    def __call__(self, image: np.ndarray) -> list[Detection]:
        return self.detect(image)

    def detect(self, image: np.ndarray) -> list[Detection]:
        """Detect objects on ``image`` (H, W) or (H, W, 3) RGB uint8, boxes in its pixels."""
        tensor, letterbox = self.model.prepare(image)
        outputs = self.model.run(tensor)
        decoded = decode_outputs(
            outputs, self.layout, self.score_threshold, self.nms_iou, self.max_detections
        )
        boxes = torch.from_numpy(letterbox.boxes_to_source(decoded.boxes.numpy()))
        inside = (boxes[:, 2] > boxes[:, 0]) & (
            boxes[:, 3] > boxes[:, 1]
        )  # not wholly in the padding
        in_camera = DecodedDetections(
            boxes[inside], decoded.scores[inside], decoded.labels[inside]
        )
        return to_detection_list(
            in_camera, self.class_names, letterbox.source_size, letterbox.source_size
        )
