"""A semantic segmenter of one's own, exported to ONNX, run on the fused image.

Outputs understood: ``[1, C, h, w]`` float logits (argmax after a bilinear resize, as
for the TSJNet head) or ``[1, h, w]`` (or ``[1, 1, h, w]``) integer class ids (nearest
resize). ``h, w`` may be any stride of the model input: the letterbox padding is cut
off at that resolution, then the map is resized to the camera image.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import torch

from tsjnet_ros.core.model.postprocess import segmentation_class_map
from tsjnet_ros.core.perception.labels import labels_from_metadata, read_labels
from tsjnet_ros.core.perception.onnx_model import OnnxImageModel, describe_tensors

logger = logging.getLogger('tsjnet_ros')
MAX_CLASSES = 256  # class maps are mono8 images


class OnnxSegmenter:
    """Class map (H, W) uint8 in ORIGINAL image pixels from an ONNX model (module docstring).

    The class table: ``labels`` file, else the model's metadata ``names``, else 0..C-1 for
    logits. Raises ValueError at construction for outputs it cannot read, naming them.
    """

    def __init__(
        self,
        model: str | Path,
        labels: str | Path | None = None,
        input_size: Sequence[int] | None = None,
        normalization: str = 'unit',
        device: str = 'auto',
        cpu_threads: int = 0,
    ) -> None:
        self.model = OnnxImageModel(model, input_size, normalization, device, cpu_threads)
        output = self.model.outputs[0]
        dims = output.dims()
        integer = 'int' in output.type
        if len(dims) == 4 and dims[0] in (1, None) and not (integer and dims[1] == 1):
            self.kind, num_classes = 'logits', dims[1]
        elif (len(dims) == 3 and dims[0] in (1, None)) or (
            len(dims) == 4 and integer and dims[1] == 1
        ):
            self.kind, num_classes = 'ids', None
        else:
            raise ValueError(
                "cannot read the segmenter's output: "
                f'found {describe_tensors(self.model.outputs)}; '
                'expected [1, C, h, w] logits or [1, h, w] class ids'
            )
        names = read_labels(labels) if labels else labels_from_metadata(self.model.metadata)
        if names is None:
            if num_classes is None:
                raise ValueError(
                    f'{self.model.path.name} does not tell its class count ({output.describe()}); '
                    'give a labels file'
                )
            names = [str(i) for i in range(num_classes)]
        if num_classes is not None and len(names) != num_classes:
            raise ValueError(
                f'the labels name {len(names)} classes but the segmenter outputs {num_classes} '
                f'({output.describe()})'
            )
        if len(names) > MAX_CLASSES:
            raise ValueError(
                f'{len(names)} segmentation classes do not fit a mono8 class map '
                f'(at most {MAX_CLASSES})'
            )
        self.class_names = list(names)
        self.name = self.model.path.stem
        logger.info(
            'OnnxSegmenter: %s, %s output, %d classes, providers %s',
            self.model.path.name,
            self.kind,
            len(self.class_names),
            ', '.join(self.model.providers),
        )

    def __call__(self, image: np.ndarray) -> np.ndarray:
        return self.segment(image)

    def segment(self, image: np.ndarray) -> np.ndarray:
        """Class ids (H, W) uint8 for ``image`` (H, W) or (H, W, 3) RGB uint8."""
        tensor, letterbox = self.model.prepare(image)
        out = np.asarray(self.model.run(tensor)[0])
        if out.shape[0] != 1:
            raise ValueError(f'expected a batch of one image, got output shape {list(out.shape)}')
        rows, cols = letterbox.content_window(out.shape[-2:])
        if self.kind == 'logits':
            logits = torch.from_numpy(
                np.ascontiguousarray(out[:, :, rows, cols], dtype=np.float32)
            )
            return segmentation_class_map(logits, letterbox.source_size)[0].numpy()
        ids = out.reshape(out.shape[-2:])[rows, cols]
        outside = ids[(ids < 0) | (ids >= len(self.class_names))]
        if outside.size:
            raise ValueError(
                f'class id {int(outside[0])} '
                f'is outside the table of {len(self.class_names)} classes'
            )
        h, w = letterbox.source_size
        return cv2.resize(ids.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST)
