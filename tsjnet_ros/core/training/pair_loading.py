"""Turning dataset samples into training pairs: network-unit luminance + mapped annotations.

Training sees what inference sees: IR in [0, 1] (8-bit / 255, 16-bit by a per-image
percentile stretch, as the pipeline's default scaler does), visible as the full-range BT.601
luminance. Box classes are mapped by name onto the run's detection class table, so sets that
spell classes differently (M3FD "People", LLVIP "person") train one head.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tsjnet_ros.core.datasets import PairDataset, Sample
from tsjnet_ros.core.image.color import InfraredScaler, luminance_and_chroma
from tsjnet_ros.core.image.resize import resize_image
from tsjnet_ros.core.training.config import SourceConfig

logger = logging.getLogger('tsjnet_ros.training')


@dataclass
class TrainingPair:
    """One pair in network units.

    ``boxes``/``labels`` None when the set has no boxes; ``segmentation`` None when it has no
    label map for this pair.
    """

    name: str
    source: str
    ir: np.ndarray
    visible: np.ndarray
    boxes: np.ndarray | None
    labels: np.ndarray | None
    segmentation: np.ndarray | None


def ir_to_unit(ir: np.ndarray) -> np.ndarray:
    """HxW uint8/uint16 IR -> float32 [0, 1] the way inference scales a single frame."""
    if ir.dtype == np.uint16:
        return InfraredScaler(mode='percentile', momentum=0.0)(ir).astype(np.float32)
    if ir.dtype == np.uint8:
        return ir.astype(np.float32) / 255.0
    raise TypeError(f'IR must be uint8 or uint16, got {ir.dtype}')


def visible_to_unit(visible: np.ndarray) -> np.ndarray:
    """HxW grey or HxWx3 RGB uint8 -> float32 [0, 1] luminance."""
    if visible.dtype != np.uint8:
        raise TypeError(f'visible must be uint8, got {visible.dtype}')
    return luminance_and_chroma(visible)[0].astype(np.float32)


def canonical_class(name: str, aliases: dict[str, str]) -> str:
    """Lower-case class name after alias mapping (``People`` -> ``person``)."""
    key = name.strip().lower()
    lowered = {k.lower(): v.lower() for k, v in aliases.items()}
    return lowered.get(key, key)


def detection_classes_from(datasets: Sequence[PairDataset], aliases: dict[str, str]) -> list[str]:
    """Union of the datasets' box classes in first-seen order (after alias mapping)."""
    table: list[str] = []
    for dataset in datasets:
        for name in dataset.class_names:
            canon = canonical_class(name, aliases)
            if canon not in table:
                table.append(canon)
    if not table:
        raise ValueError(
            'no data source has box annotations; name detection_classes in the config'
        )
    return table


def open_source(source: SourceConfig) -> PairDataset:
    root = Path(source.root)
    if not root.is_dir():
        raise FileNotFoundError(f'data source folder not found: {root}')
    dataset = PairDataset(
        root, layout=source.layout, split=source.split, box_source=source.box_source
    )
    if len(dataset) == 0:
        raise ValueError(f'data source {root} holds no IR/visible pairs')
    unknown = sorted(set(source.exclude) - set(dataset.names))
    if unknown:
        raise ValueError(f'data source {root}: excluded pair(s) not found: {", ".join(unknown)}')
    return dataset


def _class_lookup(
    class_names: Sequence[str], table: Sequence[str], aliases: dict[str, str]
) -> np.ndarray:
    index = {name.lower(): i for i, name in enumerate(table)}
    return np.asarray(
        [index.get(canonical_class(n, aliases), -1) for n in class_names], dtype=np.int64
    )


def _downscale(sample: Sample, ir: np.ndarray, visible: np.ndarray, max_side: int | None):
    h, w = ir.shape
    factor = 1.0 if max_side is None else min(1.0, max_side / max(h, w))
    boxes, seg = sample.boxes, sample.segmentation
    if factor < 1.0:
        size = (max(1, round(w * factor)), max(1, round(h * factor)))
        ir = resize_image(ir, size[::-1])
        visible = resize_image(visible, size[::-1])
        if boxes is not None:
            boxes = boxes * np.array([size[0] / w, size[1] / h] * 2, dtype=np.float32)
        if seg is not None:
            seg = resize_image(seg, size[::-1], 'nearest')
    return ir, visible, boxes, seg


def load_training_pairs(
    source: SourceConfig,
    dataset: PairDataset,
    detection_classes: Sequence[str],
    aliases: dict[str, str],
) -> list[TrainingPair]:
    """All pairs of one source (minus ``exclude``), converted and downscaled once."""
    lookup = (
        _class_lookup(dataset.class_names, detection_classes, aliases)
        if dataset.has_boxes
        else None
    )
    dropped = 0
    pairs = []
    for name in dataset.names:
        if name in source.exclude:
            continue
        sample = dataset[name]
        ir, visible, boxes, seg = _downscale(
            sample, ir_to_unit(sample.ir), visible_to_unit(sample.visible), source.max_side
        )
        labels = None
        if boxes is not None and lookup is not None:
            mapped = lookup[sample.labels] if len(sample.labels) else np.zeros(0, dtype=np.int64)
            keep = mapped >= 0
            dropped += int((~keep).sum())
            boxes, labels = boxes[keep].astype(np.float32), mapped[keep]
        pairs.append(TrainingPair(name, source.root, ir, visible, boxes, labels, seg))
    if dropped:
        logger.warning(
            '%s: dropped %d box(es) of classes outside %s',
            source.root,
            dropped,
            list(detection_classes),
        )
    return pairs
