"""Full-range YCbCr (BT.601, JPEG convention) conversions and stable luminance scaling.

Fusion works on luminance; colour is restored by keeping the visible image's Cb/Cr, which
is what the TSJNet authors do at inference and what users expect from a colour camera.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_RGB_TO_YCBCR = np.array(
    [[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]],
    dtype=np.float32,
)
_YCBCR_TO_RGB = np.array(
    [[1.0, 0.0, 1.402], [1.0, -0.344136, -0.714136], [1.0, 1.772, 0.0]], dtype=np.float32
)


def rgb_to_ycbcr(rgb: np.ndarray) -> np.ndarray:
    """HxWx3 uint8 RGB -> HxWx3 float32 YCbCr, Y in [0, 1], Cb/Cr centred on 0."""
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f'expected HxWx3 RGB, got shape {rgb.shape}')
    return (rgb.astype(np.float32) / 255.0) @ _RGB_TO_YCBCR.T


def ycbcr_to_rgb(ycbcr: np.ndarray) -> np.ndarray:
    """HxWx3 float32 YCbCr (as from :func:`rgb_to_ycbcr`) -> HxWx3 uint8 RGB."""
    rgb = ycbcr @ _YCBCR_TO_RGB.T
    return np.clip(rgb * 255.0 + 0.5, 0, 255).astype(np.uint8)


def luminance_and_chroma(visible: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Split a uint8 visible image into Y in [0, 1] and CbCr (None for a mono camera)."""
    if visible.ndim == 2:
        return visible.astype(np.float32) / 255.0, None
    ycc = rgb_to_ycbcr(visible)
    return ycc[..., 0], ycc[..., 1:]


def merge_luminance(fused_u8: np.ndarray, chroma: np.ndarray | None) -> np.ndarray:
    """Fused uint8 luminance + visible CbCr -> HxWx3 uint8 RGB (grey when chroma is None)."""
    if chroma is None:
        return np.repeat(fused_u8[..., None], 3, axis=2)
    ycc = np.concatenate([fused_u8[..., None].astype(np.float32) / 255.0, chroma], axis=2)
    return ycbcr_to_rgb(ycc)


# --- Stable luminance scaling -------------------------------------------------------------
# A video of fused frames must not flicker, so network output is clamped to [0, 1] and
# multiplied by 255 (no per-frame min-max stretch, unlike the TSJNet reference inference),
# and 16-bit infrared uses a fixed count range or percentiles smoothed across frames.


def unit_to_uint8(image: np.ndarray) -> np.ndarray:
    """Stable output scaling: clamp a float image to [0, 1], times 255, rounded to uint8."""
    return np.clip(np.asarray(image, dtype=np.float32) * 255.0 + 0.5, 0, 255).astype(np.uint8)


@dataclass
class RangeScaler:
    """Map raw camera frames (uint8, uint16 or float) to float32 in [0, 1] by their value range.

    Scaling by the real value range means no input is clipped flat or left in a sliver of the
    16-bit range.

    8-bit frames are divided by 255. 16-bit (radiometric counts, 12-bit machine-vision
    data) and float frames (thermal drivers publishing degrees Celsius or kelvin,
    normalised intensity) use ``mode``:

    * ``"fixed"``: linear map of ``fixed_range`` to [0, 1], clipped. Fully stable; right when
      the range is known (``(0, 65535)`` = plain /65535). It applies to 16-bit frames; float
      frames use ``float_range`` (their units differ from counts) and, without one, the
      percentiles below.
    * ``"percentile"`` (automatic gain control): linear map of the [``low_percentile``,
      ``high_percentile``] values to [0, 1]. Thermal cameras use a narrow band of their
      range, so this keeps contrast; the two percentiles are an exponential moving average
      over frames (weight ``momentum`` on the history, the first frame initialises them) so
      brightness drifts slowly instead of flickering. Call :meth:`reset` when the stream
      changes.

    ``float_range`` set (low, high) maps float frames linearly whatever the mode. NaN and
    -inf become 0, +inf becomes 1. Frames are HxW or HxWxC (one range for all channels).
    """

    mode: str = 'percentile'
    fixed_range: tuple[float, float] = (0.0, 65535.0)
    low_percentile: float = 1.0
    high_percentile: float = 99.0
    momentum: float = 0.9
    float_range: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        if self.mode not in ('fixed', 'percentile'):
            raise ValueError(f"IR 16-bit mode must be 'fixed' or 'percentile', got {self.mode!r}")
        self.fixed_range = _checked_range(self.fixed_range, 'fixed_range')
        if self.float_range is not None:
            self.float_range = _checked_range(self.float_range, 'float_range')
        if not 0.0 <= self.low_percentile < self.high_percentile <= 100.0:
            raise ValueError(
                'IR percentiles must satisfy 0 <= low < high <= 100, got '
                f'{self.low_percentile}, {self.high_percentile}'
            )
        if not 0.0 <= self.momentum < 1.0:
            raise ValueError(f'IR momentum must be in [0, 1), got {self.momentum}')
        self._range: np.ndarray | None = None

    @classmethod
    def fixed(cls, value_range: tuple[float, float]) -> RangeScaler:
        """Return a scaler mapping ``value_range`` to [0, 1] for 16-bit and float frames alike.

        ``value_range`` is in camera units: counts, degrees, ...
        """
        return cls(mode='fixed', fixed_range=value_range, float_range=value_range)

    def reset(self) -> None:
        """Forget the smoothed percentile range (start of a new stream)."""
        self._range = None

    def __call__(self, ir: np.ndarray) -> np.ndarray:
        if not isinstance(ir, np.ndarray):
            raise TypeError(f'infrared image must be a numpy array, got {type(ir).__name__}')
        if ir.ndim != 2 and not (ir.ndim == 3 and ir.shape[2] in (3, 4)):
            raise ValueError(f'image must be HxW (or HxWx3, HxWx4 colour), got shape {ir.shape}')
        if ir.dtype == np.uint8:
            return ir.astype(np.float32) / 255.0
        if ir.dtype == np.uint16:
            lo, hi = self.fixed_range if self.mode == 'fixed' else self._agc(ir)
        elif np.issubdtype(ir.dtype, np.floating):
            lo, hi = self.float_range if self.float_range is not None else self._agc(ir)
        else:
            raise TypeError(f'infrared image dtype must be uint8, uint16 or float, got {ir.dtype}')
        unit = (ir.astype(np.float32) - np.float32(lo)) / np.float32(hi - lo)
        return np.clip(np.nan_to_num(unit, nan=0.0, posinf=1.0, neginf=0.0), 0.0, 1.0)

    def _agc(self, frame: np.ndarray) -> tuple[float, float]:
        """Return the smoothed percentile range, from the frame's finite values."""
        values = frame if frame.dtype == np.uint16 else frame[np.isfinite(frame)]
        if values.size == 0:
            return (
                (0.0, 1.0)
                if self._range is None
                else (float(self._range[0]), float(self._range[1]))
            )
        current = np.percentile(values, [self.low_percentile, self.high_percentile])
        if self._range is None:
            self._range = current.astype(np.float64)
        else:
            self._range = self.momentum * self._range + (1.0 - self.momentum) * current
        lo = float(self._range[0])
        # a flat frame must not divide by zero: at least one count, or a 1e-3 relative span
        # for floats
        floor = 1.0 if frame.dtype == np.uint16 else max(1e-6, 1e-3 * abs(lo))
        return lo, max(float(self._range[1]), lo + floor)


# The name the models and training code use for the infrared side.
InfraredScaler = RangeScaler


def fixed_range_scaler(value_range: object) -> RangeScaler | None:
    """Return the scaler of an ``ir_range`` / ``visible_range`` parameter.

    ``[low, high]`` in camera units (counts, degC, K) gives :meth:`RangeScaler.fixed`;
    ``[0, 0]`` gives None (automatic gain). :class:`ValueError` for anything else (not two
    numbers, high <= low).
    """
    try:
        values: list[float] | None = [float(v) for v in value_range]  # type: ignore[union-attr]
    except (TypeError, ValueError):
        values = None
    if values == [0.0, 0.0]:
        return None
    if values is None or len(values) != 2 or not values[1] > values[0]:
        shown = values if values is not None else value_range
        raise ValueError(
            f'must be [low, high] with high > low, or [0, 0] for automatic gain, got {shown}'
        )
    return RangeScaler.fixed((values[0], values[1]))


def _checked_range(value_range: tuple[float, float], name: str) -> tuple[float, float]:
    lo, hi = (float(v) for v in value_range)
    if not hi > lo:
        raise ValueError(f'IR {name} must be (low, high) with high > low, got {value_range}')
    return lo, hi
