"""Box annotation readers: YOLO text files and Pascal VOC XML, returned as xyxy pixels.

Boxes come back as a :class:`~tsjnet_ros.core.types.box_set.BoxSet`.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from tsjnet_ros.core.types.box_set import BoxSet


def read_class_list(path: Path) -> list[str]:
    """Class names from a text file: one per line, either ``name`` or ``id name``."""
    names: dict[int, str] = {}
    lines = [ln.strip() for ln in path.read_text().splitlines() if ln.strip()]
    for index, line in enumerate(lines):
        head, _, rest = line.partition(' ')
        if head.isdigit() and rest.strip():
            names[int(head)] = rest.strip()
        else:
            names[index] = line
    if sorted(names) != list(range(len(names))):
        raise ValueError(f'class list {path} must number its classes 0..N-1 without gaps')
    return [names[i] for i in range(len(names))]


def read_yolo(path: Path | None, width: int, height: int) -> BoxSet:
    """YOLO ``class cx cy w h`` lines (normalised to 0..1) -> xyxy pixels.

    A missing file means "no objects". A 6th column (a confidence) is ignored.
    """
    if path is None or not path.exists():
        return BoxSet.empty()
    rows = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) not in (5, 6):
            raise ValueError(
                f"{path}:{number}: expected 'class cx cy w h', got {len(fields)} fields"
            )
        try:
            values = [float(v) for v in fields[:5]]
        except ValueError:
            raise ValueError(f'{path}:{number}: non-numeric field in {line!r}') from None
        if values[0] != int(values[0]) or values[0] < 0:
            raise ValueError(f'{path}:{number}: class id must be a non-negative integer')
        rows.append(values)
    if not rows:
        return BoxSet.empty()
    arr = np.asarray(rows, dtype=np.float64)
    cx, cy, w, h = arr[:, 1] * width, arr[:, 2] * height, arr[:, 3] * width, arr[:, 4] * height
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
    return BoxSet(boxes, arr[:, 0].astype(np.int64))


def voc_object_names(path: Path) -> list[str]:
    """Return the object class names in one VOC XML file (for building a class list)."""
    root = _parse(path)
    return [(obj.findtext('name') or '').strip() for obj in root.iter('object')]


def _parse(path: Path) -> ET.Element:
    try:
        return ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise ValueError(f'cannot parse VOC annotation {path}: {exc}') from None


def read_voc(path: Path | None, class_names: Sequence[str]) -> BoxSet:
    """Pascal VOC objects -> xyxy pixels as written in the file (no 1-pixel shift)."""
    if path is None or not path.exists():
        return BoxSet.empty()
    index = {name: i for i, name in enumerate(class_names)}
    boxes, labels, difficult = [], [], []
    for obj in _parse(path).iter('object'):
        name = (obj.findtext('name') or '').strip()
        if name not in index:
            raise ValueError(
                f'{path}: class {name!r} is not in the class list {list(class_names)}'
            )
        box = obj.find('bndbox')
        if box is None:
            raise ValueError(f'{path}: object {name!r} has no bndbox')
        try:
            coords = [float(box.findtext(tag)) for tag in ('xmin', 'ymin', 'xmax', 'ymax')]
        except (TypeError, ValueError):
            raise ValueError(
                f'{path}: object {name!r} has a missing or non-numeric bndbox'
            ) from None
        boxes.append(coords)
        labels.append(index[name])
        difficult.append((obj.findtext('difficult') or '0').strip() == '1')
    if not boxes:
        return BoxSet.empty()
    return BoxSet(
        np.asarray(boxes), np.asarray(labels, np.int64), difficult=np.asarray(difficult, bool)
    )
