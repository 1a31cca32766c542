"""Periodic grid texture: spectral peaks at the frequencies of a p-pixel block pattern.

A decoder that upsamples in fixed 2x2 or 4x4 blocks (pixel shuffle, transposed convs)
can print a faint grid into flat and bright regions. Such a pattern with period p puts
energy at the spatial frequencies (i/p, j/p) cycles per pixel. The score of an image is
the largest ratio, over those frequencies, of the spectral energy there to the median
energy of the surrounding spectrum; natural images score about 1-3. Comparing a fused
image's score with its sources' tells a grid that neither camera has.
"""

from __future__ import annotations

import numpy as np

DEFAULT_PERIODS = (2, 4, 8)


def grid_peak_ratio(
    image: np.ndarray, periods: tuple[int, ...] = DEFAULT_PERIODS, radius: int = 6
) -> float:
    """Largest peak-to-background ratio of the power spectrum at block-grid frequencies.

    ``image``: HxW (grey levels, any range). The image is mean-removed and Hann-windowed;
    for each grid frequency the peak is the largest power within 1 bin, the background
    the median power in a (2 * radius + 1)^2 window around it without the central 3x3.
    Raises ValueError for images smaller than 2 * max(periods) pixels a side.
    """
    img = np.asarray(image, np.float64)
    if img.ndim != 2 or min(img.shape) < 2 * max(periods):
        raise ValueError(
            f'need an HxW image of at least {2 * max(periods)} px a side, got {img.shape}'
        )
    h, w = img.shape
    window = np.outer(np.hanning(h), np.hanning(w))
    power = np.abs(np.fft.fft2((img - img.mean()) * window)) ** 2
    best = 0.0
    for p in periods:
        for i in range(p):
            for j in range(p):
                if i == 0 and j == 0:
                    continue
                cy, cx = round(i * h / p) % h, round(j * w / p) % w
                ys = np.arange(cy - radius, cy + radius + 1) % h
                xs = np.arange(cx - radius, cx + radius + 1) % w
                patch = power[np.ix_(ys, xs)]
                centre = patch[radius - 1 : radius + 2, radius - 1 : radius + 2]
                ring = np.delete(
                    patch.ravel(),
                    [
                        (radius + dy) * (2 * radius + 1) + radius + dx
                        for dy in (-1, 0, 1)
                        for dx in (-1, 0, 1)
                    ],
                )
                background = float(np.median(ring))
                if background > 0:
                    best = max(best, float(centre.max()) / background)
    return best
