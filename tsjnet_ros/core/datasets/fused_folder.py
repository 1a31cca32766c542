"""A folder of fusion results, one file per input pair, named like the input.

Layout under the output folder (NAME = the input pair's file name without suffix):

- ``fused/NAME.png``: fused luminance, 8-bit grey;
- ``fused_color/NAME.png``: fused colour (the visible image's chroma with the fused luminance);
- ``detections/NAME.txt`` (YOLO: ``class cx cy w h score``, normalised to 0..1, one line per
  box, ``detections/classes.txt`` with the class names) or ``detections.json`` (COCO:
  ``images``, ``categories``, ``annotations`` with ``bbox`` [x, y, w, h] in pixels and
  ``score``), for a backend with a detector;
- ``segmentation/NAME.png``: class id per pixel (8-bit, ``segmentation/classes.txt``) and
  ``segmentation_color/NAME.png`` in the overlay's palette, for a backend that segments.

The YOLO and COCO fields follow the Ultralytics label format and the COCO results format
(cocodataset.org, "Results Format"), so the files load in the usual detection tools.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import cv2

from tsjnet_ros.core.types.detection import Detection
from tsjnet_ros.core.types.fusion_result import FusionResult
from tsjnet_ros.core.viz.overlay import colorize_segmentation

DETECTION_FORMATS = ('yolo', 'coco', 'none')


def yolo_lines(detections: Sequence[Detection], width: int, height: int) -> list[str]:
    """``class cx cy w h score`` per detection, coordinates normalised by the image size."""
    lines = []
    for det in detections:
        x0, y0, x1, y1 = det.box_xyxy
        lines.append(
            f'{det.class_id} {(x0 + x1) / 2 / width:.6f} {(y0 + y1) / 2 / height:.6f} '
            f'{(x1 - x0) / width:.6f} {(y1 - y0) / height:.6f} {det.score:.4f}'
        )
    return lines


class FusedFolderWriter:
    """Writes each pair's :class:`FusionResult` as files (see the module docstring).

    ``detection_classes`` / ``segmentation_classes``: the backend's class tables (empty when
    it has no detector / segmentation head). Raises ValueError for an unknown
    ``detection_format`` and OSError when a file cannot be written.
    """

    def __init__(
        self,
        out: str | Path,
        detection_format: str = 'yolo',
        detection_classes: Sequence[str] = (),
        segmentation_classes: Sequence[str] = (),
    ) -> None:
        if detection_format not in DETECTION_FORMATS:
            raise ValueError(
                f'detection format must be one of {", ".join(DETECTION_FORMATS)}, '
                f'got {detection_format!r}'
            )
        self.out = Path(out)
        self.detection_format = detection_format if detection_classes else 'none'
        self.detection_classes = list(detection_classes)
        self.segmentation_classes = list(segmentation_classes)
        self.written = 0
        self._coco: dict = {
            'images': [],
            'annotations': [],
            'categories': [{'id': i, 'name': n} for i, n in enumerate(self.detection_classes)],
        }
        folders = ['fused', 'fused_color']
        if self.detection_format == 'yolo':
            folders.append('detections')
        if self.segmentation_classes:
            folders += ['segmentation', 'segmentation_color']
        for folder in folders:
            (self.out / folder).mkdir(parents=True, exist_ok=True)
        if self.detection_format == 'yolo':
            (self.out / 'detections' / 'classes.txt').write_text(
                ''.join(f'{n}\n' for n in self.detection_classes)
            )
        if self.segmentation_classes:
            (self.out / 'segmentation' / 'classes.txt').write_text(
                ''.join(f'{n}\n' for n in self.segmentation_classes)
            )

    def write(self, name: str, result: FusionResult) -> None:
        """Write the files of one pair; ``name`` is the input's file name without suffix."""
        height, width = result.fused.shape[:2]
        self._image(self.out / 'fused' / f'{name}.png', result.fused)
        self._image(
            self.out / 'fused_color' / f'{name}.png',
            cv2.cvtColor(result.fused_color, cv2.COLOR_RGB2BGR),
        )
        if self.detection_format == 'yolo':
            lines = yolo_lines(result.detections, width, height)
            (self.out / 'detections' / f'{name}.txt').write_text(
                ''.join(f'{line}\n' for line in lines)
            )
        elif self.detection_format == 'coco':
            image_id = len(self._coco['images']) + 1
            self._coco['images'].append(
                {'id': image_id, 'file_name': f'{name}.png', 'width': width, 'height': height}
            )
            for det in result.detections:
                x0, y0, x1, y1 = (float(v) for v in det.box_xyxy)
                self._coco['annotations'].append(
                    {
                        'id': len(self._coco['annotations']) + 1,
                        'image_id': image_id,
                        'category_id': int(det.class_id),
                        'bbox': [x0, y0, x1 - x0, y1 - y0],
                        'area': (x1 - x0) * (y1 - y0),
                        'score': float(det.score),
                        'iscrowd': 0,
                    }
                )
        if self.segmentation_classes and result.segmentation is not None:
            self._image(self.out / 'segmentation' / f'{name}.png', result.segmentation)
            self._image(
                self.out / 'segmentation_color' / f'{name}.png',
                cv2.cvtColor(colorize_segmentation(result.segmentation), cv2.COLOR_RGB2BGR),
            )
        self.written += 1

    def close(self) -> None:
        """Write what covers every pair (the COCO file)."""
        if self.detection_format == 'coco':
            (self.out / 'detections.json').write_text(json.dumps(self._coco, indent=1))

    @staticmethod
    def _image(path: Path, image) -> None:
        if not cv2.imwrite(str(path), image):
            raise OSError(f'cannot write {path}')
