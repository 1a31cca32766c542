"""Classical pixel-level fusion methods: baselines for evaluation and a model-free fallback.

Also the single-camera baselines (``ir_only``, ``visible_only``): a detector or segmenter
run on them scores each camera alone, the comparison the TSJNet paper makes for fusion.

All three work on luminance and keep the visible chroma, like the neural backend, so their
outputs are directly comparable. 16-bit IR is scaled by the same :class:`InfraredScaler`
(smoothed percentiles by default) that the neural pipeline uses.
"""

from __future__ import annotations

import cv2
import numpy as np

from tsjnet_ros.core.image.color import InfraredScaler, luminance_and_chroma, merge_luminance
from tsjnet_ros.core.types.fusion_result import FusionResult


def _check_pair(ir: np.ndarray, visible: np.ndarray) -> None:
    if ir.shape[:2] != visible.shape[:2]:
        raise ValueError(
            f'IR {ir.shape[1]}x{ir.shape[0]} and visible {visible.shape[1]}x{visible.shape[0]} '
            'differ in size; resize them to a common size first'
        )
    if visible.dtype != np.uint8:
        raise TypeError(f'visible image must be uint8, got {visible.dtype}')
    if visible.ndim not in (2, 3) or (visible.ndim == 3 and visible.shape[2] != 3):
        raise ValueError(f'visible image must be HxW or HxWx3, got shape {visible.shape}')


def _check_brighter_weight(weight: float) -> float:
    if not 0.5 <= weight <= 1.0:
        raise ValueError(
            f'brighter-source weight must be in [0.5, 1] (0.5 = average, 1 = max), got {weight}'
        )
    return float(weight)


def brighter_blend(a: np.ndarray, b: np.ndarray, weight: float) -> np.ndarray:
    """Per-pixel weighted mean giving the brighter source ``weight``.

    0.5 is the average, 1 the max.

    The family between average fusion (the optimum of the two-source MSE, so of PSNR) and
    max fusion (more contrast: higher VIF and Qabf), used to measure that trade-off.
    """
    return (a + b) * 0.5 + (weight - 0.5) * np.abs(a - b)


class PixelFusion:
    """Per-pixel rule on luminance: ``average``, ``max`` or ``blend``.

    ``average`` is the mean of the two, ``max`` the brighter, ``blend`` the brighter source
    weighted by ``brighter_weight`` (between the two).
    """

    detection_classes: list[str] = []
    segmentation_classes: list[str] = []

    def __init__(
        self,
        rule: str = 'average',
        ir_scaler: InfraredScaler | None = None,
        brighter_weight: float | None = None,
    ) -> None:
        if rule not in ('average', 'max', 'blend'):
            raise ValueError(f"unknown pixel rule {rule!r}; expected 'average', 'max' or 'blend'")
        if (rule == 'blend') != (brighter_weight is not None):
            raise ValueError("brighter_weight is given with the 'blend' rule, and only with it")
        self._weight = _check_brighter_weight(brighter_weight) if rule == 'blend' else None
        self.name = rule if rule != 'blend' else f'blend_{self._weight:g}'
        self._rule = rule
        self._ir_scaler = ir_scaler or InfraredScaler()

    def fuse(self, ir: np.ndarray, visible: np.ndarray) -> FusionResult:
        _check_pair(ir, visible)
        y, chroma = luminance_and_chroma(visible)
        ir_f = self._ir_scaler(ir)
        if self._rule == 'average':
            fused = (ir_f + y) * 0.5
        elif self._rule == 'max':
            fused = np.maximum(ir_f, y)
        else:
            fused = brighter_blend(ir_f, y, self._weight)
        return _result(fused, chroma)


class LaplacianPyramidFusion:
    """Laplacian pyramid fusion: max-absolute detail coefficients, averaged base level.

    Keeps the sharper edge of either camera at every scale while the coarse brightness is a
    blend, which is the standard multi-scale baseline in the IR/visible fusion literature.
    ``base_brighter_weight`` moves the base level from the average (0.5) towards the
    brighter source (1.0: max base), trading PSNR for contrast.
    """

    name = 'laplacian_pyramid'
    detection_classes: list[str] = []
    segmentation_classes: list[str] = []

    def __init__(
        self,
        levels: int = 4,
        ir_scaler: InfraredScaler | None = None,
        base_brighter_weight: float = 0.5,
    ) -> None:
        if levels < 1:
            raise ValueError(f'levels must be >= 1, got {levels}')
        self.levels = levels
        self.base_brighter_weight = _check_brighter_weight(base_brighter_weight)
        self._ir_scaler = ir_scaler or InfraredScaler()

    @staticmethod
    def _pyramid(image: np.ndarray, levels: int) -> list[np.ndarray]:
        gaussian = [image]
        for _ in range(levels):
            gaussian.append(cv2.pyrDown(gaussian[-1]))
        laplacian = []
        for fine, coarse in zip(gaussian[:-1], gaussian[1:]):
            up = cv2.pyrUp(coarse, dstsize=(fine.shape[1], fine.shape[0]))
            laplacian.append(fine - up)
        laplacian.append(gaussian[-1])
        return laplacian

    def fuse(self, ir: np.ndarray, visible: np.ndarray) -> FusionResult:
        _check_pair(ir, visible)
        y, chroma = luminance_and_chroma(visible)
        ir_f = self._ir_scaler(ir)
        levels = max(1, min(self.levels, int(np.log2(max(1, min(y.shape)))) - 1))
        pyr_ir = self._pyramid(ir_f, levels)
        pyr_vis = self._pyramid(y, levels)
        fused_pyr = [
            np.where(np.abs(a) >= np.abs(b), a, b) for a, b in zip(pyr_ir[:-1], pyr_vis[:-1])
        ]
        fused_pyr.append(brighter_blend(pyr_ir[-1], pyr_vis[-1], self.base_brighter_weight))
        fused = fused_pyr[-1]
        for detail in reversed(fused_pyr[:-1]):
            fused = cv2.pyrUp(fused, dstsize=(detail.shape[1], detail.shape[0])) + detail
        return _result(fused, chroma)


class SingleSourceFusion:
    """One camera as the "fused" image, with no detections or segmentation of its own.

    ``ir_only`` gives the scaled IR in grey, ``visible_only`` the visible luminance with its own
    colour.
    """

    SOURCES = ('ir_only', 'visible_only')
    detection_classes: list[str] = []
    segmentation_classes: list[str] = []

    def __init__(self, source: str, ir_scaler: InfraredScaler | None = None) -> None:
        if source not in self.SOURCES:
            raise ValueError(f'source must be one of {", ".join(self.SOURCES)}, got {source!r}')
        self.name = source
        self._ir_scaler = ir_scaler or InfraredScaler()

    def fuse(self, ir: np.ndarray, visible: np.ndarray) -> FusionResult:
        _check_pair(ir, visible)
        if self.name == 'visible_only':
            return _result(*luminance_and_chroma(visible))
        return _result(self._ir_scaler(ir), None)


def _result(fused_unit: np.ndarray, chroma: np.ndarray | None) -> FusionResult:
    fused_u8 = np.clip(fused_unit * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return FusionResult(fused=fused_u8, fused_color=merge_luminance(fused_u8, chroma))
