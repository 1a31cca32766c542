"""Edge-preservation metric Q^AB/F (Xydeas & Petrovic 2000).

Sobel responses (3x3, zero padding, same size) give each image an edge strength
g = sqrt(sx^2 + sy^2) and orientation alpha = arctan(sy / sx) (pi/2 where sx = 0). For a
source A and the fused image F, per pixel:

    G^AF = min(gA, gF) / max(gA, gF)          (0 where both are 0)
    A^AF = 1 - |alpha_A - alpha_F| / (pi/2)
    Q^AF = Tg / (1 + exp(kg (G^AF - Dg))) * Ta / (1 + exp(ka (A^AF - Da)))

with Tg = 0.9994, kg = -15, Dg = 0.5, Ta = 0.9879, ka = -22, Da = 0.8, and

    Qabf = sum(Q^AF gA + Q^BF gB) / sum(gA + gB)      (weights g^L with L = 1).

Range [0, 1) -- the sigmoid constants cap a perfect copy at about 0.975 -- higher is better.
"""

from __future__ import annotations

import cv2
import numpy as np

from tsjnet_ros.core.metrics.image_input import as_gray_set

_TG, _KG, _DG = 0.9994, -15.0, 0.5
_TA, _KA, _DA = 0.9879, -22.0, 0.8
_ZERO_TOLERANCE = 1e-9
_SOBEL_X = np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
_SOBEL_Y = np.array([[-1.0, -2.0, -1.0], [0.0, 0.0, 0.0], [1.0, 2.0, 1.0]])


def sobel_strength_orientation(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sobel edge strength and orientation in (-pi/2, pi/2], zero padding at the border."""
    sx = cv2.filter2D(image, cv2.CV_64F, _SOBEL_X, borderType=cv2.BORDER_CONSTANT)
    sy = cv2.filter2D(image, cv2.CV_64F, _SOBEL_Y, borderType=cv2.BORDER_CONSTANT)
    strength = np.sqrt(sx * sx + sy * sy)
    # |sx| below the float noise of 0..255 sums counts as zero, so the orientation of a
    # vertical edge does not flip between +-pi/2 on rounding error
    vertical = np.abs(sx) < _ZERO_TOLERANCE
    orientation = np.where(vertical, np.pi / 2, np.arctan(sy / np.where(vertical, 1.0, sx)))
    return strength, orientation


def _edge_preservation(
    g_src: np.ndarray, a_src: np.ndarray, g_fused: np.ndarray, a_fused: np.ndarray
) -> np.ndarray:
    larger = np.maximum(g_src, g_fused)
    smaller = np.minimum(g_src, g_fused)
    strength_ratio = np.divide(smaller, larger, out=np.zeros_like(larger), where=larger > 0)
    orientation_match = 1.0 - np.abs(a_src - a_fused) / (np.pi / 2)
    q_strength = _TG / (1.0 + np.exp(_KG * (strength_ratio - _DG)))
    q_orientation = _TA / (1.0 + np.exp(_KA * (orientation_match - _DA)))
    return q_strength * q_orientation


def qabf(ir: np.ndarray, visible: np.ndarray, fused: np.ndarray) -> float:
    """Q^AB/F: how much of the sources' edge information the fused image keeps."""
    a, b, f = as_gray_set(ir, visible, fused)
    g_a, o_a = sobel_strength_orientation(a)
    g_b, o_b = sobel_strength_orientation(b)
    g_f, o_f = sobel_strength_orientation(f)
    weight = np.sum(g_a + g_b)
    if weight == 0:
        return float('nan')  # neither source has an edge: nothing to preserve
    q_a = _edge_preservation(g_a, o_a, g_f, o_f)
    q_b = _edge_preservation(g_b, o_b, g_f, o_f)
    return float(np.sum(q_a * g_a + q_b * g_b) / weight)
