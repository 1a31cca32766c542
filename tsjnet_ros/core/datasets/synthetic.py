"""Synthetic registered IR/visible camera pair: the built-in default input.

A night street: the visible camera sees a dim, noisy, textured scene where people and
cars are barely visible; the thermal camera sees a cool, smooth background where the same
targets are bright. Targets move, and each camera renders the scene at its own capture
time, so two cameras at different rates see consistent motion. Ground-truth boxes come
with every frame, which makes it usable for detection checks and sample bags.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

CLASS_NAMES = ('person', 'bicycle', 'car')  # same ids as the MSRS detection labels


@dataclass(frozen=True)
class Target:
    """A moving warm object; position follows a triangle wave so motion is periodic."""

    class_id: int
    width: int
    height: int
    x0: float
    y0: float
    vx: float  # pixels per second
    vy: float
    heat: float  # IR brightness in [0, 1]
    shade: float  # visible brightness in [0, 1]

    def box_at(self, t: float, frame_w: int, frame_h: int) -> tuple[int, int, int, int]:
        span_x = max(1, frame_w - self.width)
        span_y = max(1, frame_h - self.height)
        x = _bounce(self.x0 + self.vx * t, span_x)
        y = _bounce(self.y0 + self.vy * t, span_y)
        return int(x), int(y), int(x) + self.width, int(y) + self.height


def _bounce(position: float, span: int) -> float:
    period = 2 * span
    p = position % period
    return p if p <= span else period - p


@dataclass
class SyntheticFrame:
    """One rendered pair: ``ir`` HxW (uint8 or uint16), ``visible`` HxWx3 RGB uint8."""

    ir: np.ndarray
    visible: np.ndarray
    boxes_xyxy: np.ndarray  # (N, 4) float32 pixels
    class_ids: np.ndarray  # (N,) int64


class SyntheticScene:
    """Renders the IR/visible pair at any time ``t`` (seconds); deterministic for a seed."""

    def __init__(
        self,
        width: int = 640,
        height: int = 480,
        num_targets: int = 5,
        seed: int = 0,
        ir_bits: int = 8,
        noise: float = 0.03,
    ) -> None:
        if width < 32 or height < 32:
            raise ValueError(f'synthetic scene needs at least 32x32 pixels, got {width}x{height}')
        if ir_bits not in (8, 16):
            raise ValueError(f'ir_bits must be 8 or 16, got {ir_bits}')
        self.width, self.height, self.ir_bits, self.noise = width, height, ir_bits, noise
        rng = np.random.default_rng(seed)
        self._ir_background, self._vis_background = self._backgrounds(rng)
        self.targets = [self._random_target(rng) for _ in range(num_targets)]
        # a small bank of noise fields, cycled, so rendering stays cheap at camera rates
        self._noise_bank = rng.normal(0.0, 1.0, size=(8, height, width)).astype(np.float32)
        # visible frames are mostly static background: pre-render its noisy 8-bit versions
        self._vis_bank = [
            np.clip((self._vis_background + noise * n[..., None]) * 255.0 + 0.5, 0, 255).astype(
                np.uint8
            )
            for n in self._noise_bank
        ]

    def _backgrounds(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        h, w = self.height, self.width
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        # thermal: cool sky, slightly warmer road, smooth
        ir = 0.18 + 0.12 * (yy / h) + 0.02 * np.sin(xx / 37.0)
        # visible: dark street with building blocks, windows and road markings
        vis = np.full((h, w, 3), 0.10, np.float32)
        horizon = int(h * 0.45)
        vis[horizon:] = (0.16, 0.16, 0.17)
        for _ in range(max(3, w // 90)):
            x0 = int(rng.integers(0, w - 20))
            bw, bh = int(rng.integers(40, 120)), int(rng.integers(h // 6, horizon))
            tone = rng.uniform(0.12, 0.3)
            vis[horizon - bh : horizon, x0 : x0 + bw] = (tone, tone * 0.95, tone * 0.9)
            for _ in range(int(rng.integers(2, 8))):
                wx = x0 + int(rng.integers(0, max(1, bw - 8)))
                wy = horizon - bh + int(rng.integers(0, max(1, bh - 8)))
                vis[wy : wy + 6, wx : wx + 5] = (0.55, 0.5, 0.3)  # lit windows
        vis[int(h * 0.75) : int(h * 0.75) + 3, ::40] = (0.6, 0.6, 0.6)
        texture = rng.normal(0.0, 0.02, size=(h, w, 1)).astype(np.float32)
        return ir.astype(np.float32), np.clip(vis + texture, 0, 1)

    def _random_target(self, rng: np.random.Generator) -> Target:
        class_id = int(rng.choice([0, 0, 1, 2]))
        scale = self.height / 480.0
        size = {0: (22, 60), 1: (40, 36), 2: (90, 45)}[class_id]
        width, height = max(4, int(size[0] * scale)), max(4, int(size[1] * scale))
        speed = {0: 25.0, 1: 60.0, 2: 120.0}[class_id] * scale
        return Target(
            class_id=class_id,
            width=width,
            height=height,
            x0=float(rng.uniform(0, self.width - width)),
            y0=float(rng.uniform(self.height * 0.45, self.height - height)),
            vx=float(rng.choice([-1, 1]) * speed),
            vy=float(rng.uniform(-0.1, 0.1) * speed),
            heat=float(rng.uniform(0.75, 0.95)),
            shade=float(rng.uniform(0.12, 0.22)),
        )

    def boxes_at(self, t: float) -> tuple[np.ndarray, np.ndarray]:
        """Ground truth at time ``t``: (N, 4) float32 xyxy pixel boxes and (N,) class ids."""
        boxes = [target.box_at(t, self.width, self.height) for target in self.targets]
        classes = [target.class_id for target in self.targets]
        return np.asarray(boxes, np.float32).reshape(-1, 4), np.asarray(classes, np.int64)

    def _noise(self, t: float, offset: int) -> np.ndarray:
        return self._noise_bank[(int(t * 1000) + offset) % len(self._noise_bank)]

    def render_ir(self, t: float) -> np.ndarray:
        """Render the thermal camera's frame at ``t``: HxW uint8 or uint16 (``ir_bits``)."""
        ir = self._ir_background.copy()
        for target in self.targets:
            x0, y0, x1, y1 = target.box_at(t, self.width, self.height)
            if target.class_id == 2:  # car: warm body, hot wheel/exhaust
                cv2.rectangle(ir, (x0, y0), (x1 - 1, y1 - 1), target.heat * 0.8, -1)
                cv2.circle(
                    ir, (x0 + (x1 - x0) // 6, y1 - 3), max(2, (y1 - y0) // 6), target.heat, -1
                )
            else:
                cv2.ellipse(
                    ir, _centre(x0, y0, x1, y1), _axes(x0, y0, x1, y1), 0, 0, 360, target.heat, -1
                )
        ir = cv2.GaussianBlur(ir, (5, 5), 1.2) + self.noise * 0.5 * self._noise(t, 0)
        ir_max = 255 if self.ir_bits == 8 else 65535
        return np.clip(ir * ir_max + 0.5, 0, ir_max).astype(
            np.uint8 if self.ir_bits == 8 else np.uint16
        )

    def render_visible(self, t: float) -> np.ndarray:
        """Render the colour camera's frame at ``t``: HxWx3 uint8 RGB."""
        vis = self._vis_bank[(int(t * 1000) + 3) % len(self._vis_bank)].copy()
        for target in self.targets:
            x0, y0, x1, y1 = target.box_at(t, self.width, self.height)
            shade = (int(target.shade * 255),) * 3
            if target.class_id == 2:
                cv2.rectangle(vis, (x0, y0), (x1 - 1, y1 - 1), shade, -1)
            else:
                cv2.ellipse(
                    vis, _centre(x0, y0, x1, y1), _axes(x0, y0, x1, y1), 0, 0, 360, shade, -1
                )
        return vis

    def render(self, t: float) -> SyntheticFrame:
        """Both cameras and the ground truth at time ``t`` seconds."""
        boxes, classes = self.boxes_at(t)
        return SyntheticFrame(
            ir=self.render_ir(t),
            visible=self.render_visible(t),
            boxes_xyxy=boxes,
            class_ids=classes,
        )


def _centre(x0: int, y0: int, x1: int, y1: int) -> tuple[int, int]:
    return (x0 + x1) // 2, (y0 + y1) // 2


def _axes(x0: int, y0: int, x1: int, y1: int) -> tuple[int, int]:
    return max(1, (x1 - x0) // 2), max(1, (y1 - y0) // 2)
