"""What a made bag shows: the synthetic scene, or a folder of registered pairs.

A source answers "what do the cameras see at scene time t" (:meth:`render`), so two
cameras at different rates each sample it at their own capture times. The synthetic
scene moves continuously; a folder of pairs is played as a slide show, each pair held for
one visible-frame period.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from tsjnet_ros.core.datasets import PairDataset
from tsjnet_ros.core.datasets.synthetic import CLASS_NAMES, SyntheticScene
from tsjnet_ros.core.types.box_set import BoxSet


@dataclass
class SourceFrame:
    """One registered pair: IR HxW uint8/uint16, visible HxWx3 RGB, optional ground truth.

    ``boxes`` are in pixels of the (equally sized) images; ``class_map`` is HxW uint8.
    """

    name: str
    ir: np.ndarray
    visible: np.ndarray
    boxes: BoxSet | None = None
    class_map: np.ndarray | None = None


class FrameSource(Protocol):
    description: str
    ground_truth: str  # where the boxes and class maps come from, for reports
    stills: bool  # True: unrelated still pairs shown as a slide show, not a moving scene
    duration: float  # seconds of scene time
    class_names: list[str]
    segmentation_class_names: list[str]

    def render(self, t: float) -> SourceFrame: ...


SYNTHETIC_SEGMENTATION_CLASSES = ['background', *CLASS_NAMES]


class SyntheticSource:
    """The built-in night-street scene; class map ids are 0 background, 1 + object class id."""

    def __init__(
        self,
        duration: float,
        width: int = 640,
        height: int = 480,
        num_targets: int = 5,
        seed: int = 0,
        ir_bits: int = 8,
    ) -> None:
        if duration <= 0:
            raise ValueError(f'duration must be > 0 seconds, got {duration}')
        self.scene = SyntheticScene(
            width=width, height=height, num_targets=num_targets, seed=seed, ir_bits=ir_bits
        )
        self.duration = float(duration)
        self.class_names = list(CLASS_NAMES)
        self.segmentation_class_names = list(SYNTHETIC_SEGMENTATION_CLASSES)
        self.description = f'synthetic {width}x{height}, {num_targets} targets, seed {seed}'
        self.ground_truth = "the synthetic scene's target boxes and class maps"
        self.stills = False
        self._cache: tuple[float, SourceFrame] | None = None

    def render(self, t: float) -> SourceFrame:
        if self._cache is not None and self._cache[0] == t:
            return self._cache[1]
        frame = self.scene.render(t)
        result = SourceFrame(
            name=f't{t:.4f}',
            ir=frame.ir,
            visible=frame.visible,
            boxes=BoxSet(frame.boxes_xyxy, frame.class_ids),
            class_map=self.class_map(t),
        )
        self._cache = (t, result)
        return result

    def class_map(self, t: float) -> np.ndarray:
        """Per-pixel class ids of the targets at time ``t``, drawn with the scene's shapes."""
        scene = self.scene
        label = np.zeros((scene.height, scene.width), np.uint8)
        for target in scene.targets:
            x0, y0, x1, y1 = target.box_at(t, scene.width, scene.height)
            value = int(target.class_id) + 1
            if target.class_id == 2:  # cars are drawn as rectangles, the rest as ellipses
                cv2.rectangle(label, (x0, y0), (x1 - 1, y1 - 1), value, -1)
            else:
                centre = ((x0 + x1) // 2, (y0 + y1) // 2)
                axes = (max(1, (x1 - x0) // 2), max(1, (y1 - y0) // 2))
                cv2.ellipse(label, centre, axes, 0, 0, 360, value, -1)
        return label


class FolderSource:
    """Registered pairs from a dataset folder (MSRS layout and the others PairDataset reads).

    Pair ``i`` is shown during ``[i, i + 1) / frame_rate`` seconds. Boxes and class maps
    come from the dataset's labels when it has them.
    """

    def __init__(
        self,
        root: str | Path,
        frame_rate: float,
        layout: str = 'auto',
        split: str | None = None,
        box_source: str | None = None,
        limit: int | None = None,
    ) -> None:
        if frame_rate <= 0:
            raise ValueError(f'frame_rate must be > 0, got {frame_rate}')
        self.dataset = PairDataset(root, layout=layout, split=split, box_source=box_source)
        count = len(self.dataset) if limit is None else min(limit, len(self.dataset))
        if count == 0:
            raise ValueError(f'no IR/visible pairs found in {root}')
        self.count = count
        self.frame_rate = float(frame_rate)
        self.duration = count / self.frame_rate
        self.class_names = list(self.dataset.class_names)
        self.segmentation_class_names = (
            list(self.dataset.segmentation_class_names) if self.dataset.has_segmentation else []
        )
        self.description = f'{self.dataset.layout} pairs from {Path(root).resolve()}'
        self.ground_truth = self.dataset.label_description
        self.stills = True
        self._cache: tuple[int, SourceFrame] | None = None

    def index_at(self, t: float) -> int:
        return min(self.count - 1, max(0, int(np.floor(t * self.frame_rate + 1e-6))))

    def render(self, t: float) -> SourceFrame:
        index = self.index_at(t)
        if self._cache is not None and self._cache[0] == index:
            return self._cache[1]
        sample = self.dataset[index]
        boxes = (
            BoxSet(sample.boxes, sample.labels, difficult=sample.difficult)
            if sample.boxes is not None
            else None
        )
        frame = SourceFrame(sample.name, sample.ir, sample.visible, boxes, sample.segmentation)
        self._cache = (index, frame)
        return frame
