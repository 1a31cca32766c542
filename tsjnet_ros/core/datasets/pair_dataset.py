"""IR/visible pair datasets (MSRS, M3FD, LLVIP, RoadScene, TNO or a plain folder of pairs).

Used by evaluation and training alike: index or iterate to get :class:`Sample` objects,
loaded lazily from disk.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from tsjnet_ros.core.datasets.box_annotations import (
    read_class_list,
    read_voc,
    read_yolo,
    voc_object_names,
)
from tsjnet_ros.core.datasets.image_io import read_ir, read_segmentation, read_visible
from tsjnet_ros.core.datasets.layout import resolve_layout
from tsjnet_ros.core.datasets.sample import Sample
from tsjnet_ros.core.types.box_set import BoxSet

MSRS_SEGMENTATION_CLASSES = (
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


class PairDataset:
    """Registered IR/visible pairs under ``root``; see :mod:`layout` for the folder layouts.

    ``layout``: "auto" (default), "folders", "flat", or a dataset name ("msrs", "llvip",
    "m3fd", "pairs"/"roadscene"/"tno" = images only). ``split``: a split folder such as
    "test". ``box_source``: which YOLO box set to read when ``labels/`` has one sub-folder
    per modality (default "fused", then "vi", then "ir"). ``class_names``: overrides the
    class list otherwise read from ``classes.txt``, collected from the VOC files, or numbered
    from the YOLO ids. ``segmentation_class_names`` defaults to the 9 MSRS classes.
    """

    def __init__(
        self,
        root: str | Path,
        layout: str = 'auto',
        split: str | None = None,
        box_source: str | None = None,
        class_names: Sequence[str] | None = None,
        segmentation_class_names: Sequence[str] | None = None,
    ) -> None:
        self.root = Path(root)
        self._resolved = resolve_layout(self.root, layout, split, box_source)
        self.layout = self._resolved.kind
        self.names = sorted(self._resolved.pairs)
        self.unmatched = self._resolved.unmatched
        self.box_format = (
            'yolo' if self._resolved.yolo_dir else 'voc' if self._resolved.voc_dir else None
        )
        self.class_names = self._class_names(class_names)
        self.segmentation_class_names = list(segmentation_class_names or MSRS_SEGMENTATION_CLASSES)

    # -- class list ---------------------------------------------------------------------
    def _class_names(self, given: Sequence[str] | None) -> list[str]:
        if given is not None:
            return [str(n) for n in given]
        if self.box_format is None:
            return []
        if self._resolved.class_list_file is not None:
            return read_class_list(self._resolved.class_list_file)
        if self.box_format == 'voc':
            found: set[str] = set()
            for name in self.names:
                path = self._annotation_path(name)
                if path is not None and path.exists():
                    found.update(voc_object_names(path))
            return sorted(found)
        highest = -1
        for name in self.names:
            path = self._annotation_path(name)
            if path is not None and path.exists():
                for line in path.read_text().splitlines():
                    if line.split():
                        highest = max(highest, int(float(line.split()[0])))
        return [str(i) for i in range(highest + 1)]

    def _annotation_path(self, name: str) -> Path | None:
        if self._resolved.yolo_dir is not None:
            return self._resolved.yolo_dir / f'{name}.txt'
        if self._resolved.voc_dir is not None:
            return self._resolved.voc_dir / f'{name}.xml'
        return None

    # -- access -------------------------------------------------------------------------
    @property
    def has_boxes(self) -> bool:
        return self.box_format is not None

    @property
    def has_segmentation(self) -> bool:
        return self._resolved.segmentation_dir is not None

    @property
    def label_description(self) -> str:
        """Name the label files this dataset reads, e.g. "YOLO boxes in msrs/labels/fused".

        Reports name them so a reader knows what the ground truth was.
        """
        parts = []
        if self._resolved.yolo_dir is not None:
            parts.append(f'YOLO boxes in {self._resolved.yolo_dir}')
        elif self._resolved.voc_dir is not None:
            parts.append(f'Pascal VOC boxes in {self._resolved.voc_dir}')
        if self._resolved.segmentation_dir is not None:
            parts.append(f'class maps in {self._resolved.segmentation_dir}')
        return '; '.join(parts) or 'no labels'

    def __len__(self) -> int:
        return len(self.names)

    def __iter__(self) -> Iterator[Sample]:
        for index in range(len(self)):
            yield self[index]

    def __getitem__(self, index: int | str) -> Sample:
        if isinstance(index, str):
            if index not in self._resolved.pairs:
                raise KeyError(f'no pair named {index!r} in {self.root}')
            name = index
        else:
            name = self.names[index]
        ir_path, vis_path = self._resolved.pairs[name]
        ir = read_ir(ir_path)
        visible = read_visible(vis_path)
        if ir.shape[:2] != visible.shape[:2]:
            raise ValueError(
                f'pair {name!r}: IR {ir.shape[1]}x{ir.shape[0]} and visible '
                f'{visible.shape[1]}x{visible.shape[0]} differ in size'
            )
        sample = Sample(
            name=name,
            ir=ir,
            visible=visible,
            class_names=list(self.class_names),
            ir_path=ir_path,
            visible_path=vis_path,
        )
        if self.box_format is not None:
            boxes = self._read_boxes(name, ir.shape[1], ir.shape[0])
            if boxes.class_ids.size and boxes.class_ids.max() >= len(self.class_names):
                raise ValueError(
                    f'pair {name!r}: class id {int(boxes.class_ids.max())} has no name in '
                    f'{self.class_names}'
                )
            sample.boxes, sample.labels, sample.difficult = (
                boxes.boxes.astype(np.float32),
                boxes.class_ids,
                boxes.difficult,
            )
        if self._resolved.segmentation_dir is not None:
            sample.segmentation = self._read_segmentation(name, ir.shape)
        return sample

    def _read_boxes(self, name: str, width: int, height: int) -> BoxSet:
        path = self._annotation_path(name)
        if self.box_format == 'yolo':
            return read_yolo(path, width, height)
        return read_voc(path, self.class_names)

    def _read_segmentation(self, name: str, shape: tuple[int, ...]) -> np.ndarray | None:
        folder = self._resolved.segmentation_dir
        candidates = sorted(folder.glob(f'{name}.*')) if folder else []
        if not candidates:
            return None
        label = read_segmentation(candidates[0])
        if label.shape != shape[:2]:
            raise ValueError(
                f'pair {name!r}: segmentation label {label.shape[::-1]} does not match the image '
                f'size {shape[1::-1]}'
            )
        return label
