"""One detected object, as every detector in the package reports it.

The TSJNet detection head, the ONNX detectors on the fused image and the dataset readers all
hand these to the metrics, the overlay and the message builders, in the pixels of the camera
image the result is published in.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Detection:
    """One detected object, box in ORIGINAL camera pixels (x_min, y_min, x_max, y_max).

    ``class_id`` indexes the detector's class table (``class_name`` is its entry); ``score``
    is the detector's confidence in [0, 1].
    """

    class_id: int
    class_name: str
    score: float
    box_xyxy: tuple[float, float, float, float]
