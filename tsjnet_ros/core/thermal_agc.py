"""Automatic gain control for 16-bit thermal images.

Radiometric cameras deliver 16-bit counts that occupy a narrow, scene-dependent band, so
dividing by 65535 gives an almost black image. Percentile AGC maps the [low, high]
percentiles of each frame to [0, 255]; the limits are smoothed over time so the output
does not flicker when a hot object enters or leaves the view.
"""

from __future__ import annotations

import numpy as np


class PercentileAGC:
    """uint16 -> uint8 with temporally smoothed percentile limits.

    ``smoothing`` is the weight of the previous limits (0 = per-frame, no memory).
    The histogram is computed on a strided subsample, so cost stays low at any size.
    """

    def __init__(self, low: float = 1.0, high: float = 99.0, smoothing: float = 0.8, min_range: int = 64) -> None:
        if not 0.0 <= low < high <= 100.0:
            raise ValueError(f"need 0 <= low < high <= 100, got low={low} high={high}")
        if not 0.0 <= smoothing < 1.0:
            raise ValueError(f"smoothing must be in [0, 1), got {smoothing}")
        self.low, self.high, self.smoothing, self.min_range = low, high, smoothing, min_range
        self._limits: tuple[float, float] | None = None

    def reset(self) -> None:
        self._limits = None

    def __call__(self, image: np.ndarray) -> np.ndarray:
        if image.dtype != np.uint16:
            raise TypeError(f"PercentileAGC expects uint16, got {image.dtype}")
        step = max(1, int(np.sqrt(image.size / 65536)))
        lo, hi = np.percentile(image[::step, ::step], (self.low, self.high))
        if self._limits is not None:
            a = self.smoothing
            lo = a * self._limits[0] + (1 - a) * lo
            hi = a * self._limits[1] + (1 - a) * hi
        self._limits = (float(lo), float(hi))
        span = max(hi - lo, self.min_range)
        scaled = (image.astype(np.float32) - lo) * (255.0 / span)
        return np.clip(scaled + 0.5, 0, 255).astype(np.uint8)
