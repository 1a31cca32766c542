"""Weak segmentation targets derived from detection boxes.

Most IR/visible sets carry boxes but no label maps. A box says "an object of class c is
in here" but not which pixels, so only the ellipse inscribed in the (shrunk) box is labelled
with c, the rest of the box and a thin ring around it are ignored, and everything else is
background. This trains the segmentation head on what the boxes can actually vouch for.
"""

from __future__ import annotations

import numpy as np

IGNORE_LABEL = 255


def boxes_to_weak_mask(
    boxes: np.ndarray,
    segmentation_ids: np.ndarray,
    shape: tuple[int, int],
    background: int = 0,
    core_fraction: float = 0.8,
    margin: int = 4,
    ignore: int = IGNORE_LABEL,
) -> np.ndarray:
    """HxW uint8 class map from (N, 4) x1y1x2y2 ``boxes`` and their (N,) segmentation ids.

    A negative id (a detection class the segmentation table lacks) ignores its whole box.
    Larger boxes are drawn first so a small object in front of a large one keeps its label.
    """
    height, width = int(shape[0]), int(shape[1])
    if height < 1 or width < 1:
        raise ValueError(f'mask shape must be positive (H, W), got {shape}')
    if not 0.0 < core_fraction <= 1.0:
        raise ValueError(f'core_fraction must be in (0, 1], got {core_fraction}')
    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    ids = np.asarray(segmentation_ids).reshape(-1)
    if len(ids) != len(boxes):
        raise ValueError(f'got {len(boxes)} boxes but {len(ids)} segmentation ids')
    if ids.size and ids.max() > 254:
        raise ValueError(f'segmentation ids must be <= 254, got {int(ids.max())}')
    ids = np.where(ids < 0, ignore, ids)
    mask = np.full((height, width), background, dtype=np.uint8)
    if not len(boxes):
        return mask
    # Ignore rings first, so a neighbouring box's label is not overwritten by them later.
    for x1, y1, x2, y2 in boxes:
        r0, r1 = max(0, int(np.floor(y1)) - margin), min(height, int(np.ceil(y2)) + margin)
        c0, c1 = max(0, int(np.floor(x1)) - margin), min(width, int(np.ceil(x2)) + margin)
        mask[r0:r1, c0:c1] = ignore
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    for index in np.argsort(-areas, kind='stable'):
        x1, y1, x2, y2 = boxes[index]
        r0, r1 = max(0, int(np.floor(y1))), min(height, int(np.ceil(y2)))
        c0, c1 = max(0, int(np.floor(x1))), min(width, int(np.ceil(x2)))
        if r1 <= r0 or c1 <= c0:
            continue
        yy = (np.arange(r0, r1, dtype=np.float32) + 0.5)[:, None]
        xx = (np.arange(c0, c1, dtype=np.float32) + 0.5)[None, :]
        ry = max((y2 - y1) * core_fraction / 2.0, 0.5)
        rx = max((x2 - x1) * core_fraction / 2.0, 0.5)
        inside = ((xx - (x1 + x2) / 2.0) / rx) ** 2 + ((yy - (y1 + y2) / 2.0) / ry) ** 2 <= 1.0
        window = mask[r0:r1, c0:c1]
        window[inside] = ids[index]
    return mask


def segmentation_ids_for(
    detection_classes: list[str] | tuple[str, ...],
    segmentation_classes: list[str] | tuple[str, ...],
    class_map: dict[str, str],
) -> np.ndarray:
    """Return, per detection class, its segmentation class id.

    The id is found via ``class_map`` or the same name, or is -1 when the segmentation table
    has no such class.
    """
    lookup = {name.lower(): i for i, name in enumerate(segmentation_classes)}
    ids = []
    for name in detection_classes:
        target = class_map.get(name, name)
        ids.append(lookup.get(target.lower(), -1))
    return np.asarray(ids, dtype=np.int64)
