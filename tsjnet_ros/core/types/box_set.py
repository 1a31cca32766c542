"""The boxes of one image: ground truth read from a dataset or a bag, or a detector's output.

Dataset readers (YOLO, Pascal VOC), the bag maker and reader, and the evaluation all pass
boxes as this one type, so a box set read from a folder can be written to a bag and scored
without conversion.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tsjnet_ros.core.types.detection import Detection


@dataclass
class BoxSet:
    """Boxes of one image in pixels, as parallel arrays.

    ``boxes``: (N, 4) float64 x1, y1, x2, y2 (continuous pixel coordinates);
    ``class_ids``: (N,) int64 indices into the source's class table;
    ``scores``: (N,) float64 confidences, all 1 for ground truth (None -> ones);
    ``difficult``: (N,) bool, boxes the metrics ignore (Pascal VOC "difficult"; None -> none).
    Raises ValueError when the arrays differ in length.
    """

    boxes: np.ndarray
    class_ids: np.ndarray
    scores: np.ndarray | None = None
    difficult: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.boxes = np.asarray(self.boxes, dtype=np.float64).reshape(-1, 4)
        self.class_ids = np.asarray(self.class_ids, dtype=np.int64).reshape(-1)
        count = len(self.boxes)
        self.scores = (
            np.ones(count)
            if self.scores is None
            else np.asarray(self.scores, dtype=np.float64).reshape(-1)
        )
        self.difficult = (
            np.zeros(count, bool)
            if self.difficult is None
            else np.asarray(self.difficult, dtype=bool).reshape(-1)
        )
        if not count == len(self.class_ids) == len(self.scores) == len(self.difficult):
            raise ValueError(
                f'need equally many boxes ({count}), class ids ({len(self.class_ids)}), '
                f'scores ({len(self.scores)}) and difficult flags ({len(self.difficult)})'
            )

    @classmethod
    def empty(cls) -> BoxSet:
        """No boxes (an image without objects)."""
        return cls(np.zeros((0, 4)), np.zeros(0, np.int64))

    def __len__(self) -> int:
        return len(self.boxes)

    def as_detections(self, class_names: Sequence[str] = ()) -> list[Detection]:
        """Return one :class:`Detection` per box, with its score.

        The class name comes from ``class_names``, or is the id as text where the table has no
        entry for it.
        """
        return [
            Detection(
                int(c),
                class_names[c] if 0 <= c < len(class_names) else str(int(c)),
                float(s),
                tuple(map(float, b)),
            )
            for b, c, s in zip(self.boxes, self.class_ids, self.scores)
        ]
