"""IR-to-visible registration: a planar homography that maps IR pixels onto visible pixels.

Thermal and colour cameras on one rig are side by side, with different lenses and often
different aspect ratios, so their images are not pixel-aligned; resizing one onto the other
stretches the scene. For a scene far away compared with the baseline (or a plane), a 3x3
homography H with ``[x_vis, y_vis, 1]^T ~ H [x_ir, y_ir, 1]^T`` aligns them (Hartley &
Zisserman, *Multiple View Geometry*, ch. 4). It is estimated from matched points (corners
of a heated checkerboard seen by both cameras) with OpenCV's ``findHomography`` and stored
in YAML with the image sizes it was estimated at, so it still applies to resized streams.

YAML: ``homography`` (3 rows of 3), ``ir_size`` and ``visible_size`` ([width, height]).
Point pairs: CSV with a header ``ir_x,ir_y,visible_x,visible_y``, or YAML ``pairs:`` a list
of ``[ir_x, ir_y, visible_x, visible_y]``.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import yaml


@dataclass
class Registration:
    """Homography from IR to visible pixel coordinates, with the image sizes it holds for.

    ``homography`` maps IR pixel coordinates to visible ones at ``ir_size`` and
    ``visible_size`` ((width, height) each).
    """

    homography: np.ndarray
    ir_size: tuple[int, int]
    visible_size: tuple[int, int]

    def __post_init__(self) -> None:
        h = np.asarray(self.homography, dtype=np.float64)
        if h.shape != (3, 3) or not np.isfinite(h).all() or abs(np.linalg.det(h)) < 1e-12:
            raise ValueError(
                f'homography must be an invertible 3x3 matrix, got {self.homography!r}'
            )
        self.homography = h / h[2, 2] if h[2, 2] else h
        self.ir_size = _size(self.ir_size, 'ir_size')
        self.visible_size = _size(self.visible_size, 'visible_size')

    @classmethod
    def load(cls, path: str | Path) -> Registration:
        """Read the YAML; :class:`ValueError` names a missing or malformed key."""
        data = yaml.safe_load(Path(path).read_text()) or {}
        missing = [k for k in ('homography', 'ir_size', 'visible_size') if k not in data]
        if missing:
            raise ValueError(f'{path}: registration needs {", ".join(missing)}')
        return cls(
            np.array(data['homography'], dtype=np.float64), data['ir_size'], data['visible_size']
        )

    def save(self, path: str | Path, comment: str = '') -> None:
        text = ''.join(f'# {line}\n' for line in comment.splitlines())
        text += yaml.safe_dump(
            {
                'homography': [[float(v) for v in row] for row in self.homography],
                'ir_size': list(self.ir_size),
                'visible_size': list(self.visible_size),
            },
            sort_keys=False,
        )
        Path(path).write_text(text)

    def homography_for(
        self, ir_shape: tuple[int, ...], visible_shape: tuple[int, ...]
    ) -> np.ndarray:
        """Return H for images of these (H, W, ...) shapes.

        It is the stored one with both pixel grids rescaled.
        """
        to_ir = np.diag([self.ir_size[0] / ir_shape[1], self.ir_size[1] / ir_shape[0], 1.0])
        from_vis = np.diag(
            [visible_shape[1] / self.visible_size[0], visible_shape[0] / self.visible_size[1], 1.0]
        )
        return from_vis @ self.homography @ to_ir

    def warp(
        self, ir: np.ndarray, visible: np.ndarray, onto: str
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return (ir, visible) both in the pixels of the camera named by ``onto``.

        ``visible``: IR warped by H; ``ir``: visible warped by H^-1. Pixels with no source
        are 0.
        """
        h = self.homography_for(ir.shape, visible.shape)
        if onto == 'visible':
            return cv2.warpPerspective(
                ir, h, (visible.shape[1], visible.shape[0]), flags=cv2.INTER_LINEAR
            ), visible
        return ir, cv2.warpPerspective(
            visible, np.linalg.inv(h), (ir.shape[1], ir.shape[0]), flags=cv2.INTER_LINEAR
        )


@dataclass
class HomographyFit:
    registration: Registration
    inliers: int
    rms_error: float  # pixels in the visible image, over the inliers


def estimate_registration(
    ir_points: np.ndarray,
    visible_points: np.ndarray,
    ir_size: tuple[int, int],
    visible_size: tuple[int, int],
    ransac_threshold: float = 3.0,
) -> HomographyFit:
    """Fit H to N >= 4 matched points (Nx2 each).

    RANSAC with ``ransac_threshold`` visible pixels rejects mismatched pairs (0: plain least
    squares over all points).
    """
    src = np.asarray(ir_points, np.float64).reshape(-1, 2)
    dst = np.asarray(visible_points, np.float64).reshape(-1, 2)
    if len(src) != len(dst) or len(src) < 4:
        raise ValueError(
            f'need at least 4 matched point pairs, got {len(src)} IR and {len(dst)} visible points'
        )
    method = cv2.RANSAC if ransac_threshold > 0 else 0
    h, mask = cv2.findHomography(
        src, dst, method, ransac_threshold if ransac_threshold > 0 else 3.0
    )
    if h is None:
        raise ValueError('no homography fits these points (are they collinear or duplicated?)')
    inliers = mask.ravel().astype(bool) if mask is not None else np.ones(len(src), bool)
    projected = cv2.perspectiveTransform(src[None], h)[0]
    rms = float(np.sqrt(np.mean(np.sum((projected - dst)[inliers] ** 2, axis=1))))
    return HomographyFit(Registration(h, ir_size, visible_size), int(inliers.sum()), rms)


def load_point_pairs(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """(IR points, visible points), Nx2 each, from a CSV or YAML file (module docstring)."""
    path = Path(path)
    if path.suffix.lower() == '.csv':
        with path.open(newline='') as f:
            rows = [
                [float(r[k]) for k in ('ir_x', 'ir_y', 'visible_x', 'visible_y')]
                for r in csv.DictReader(f)
            ]
    else:
        rows = [
            [float(v) for v in pair]
            for pair in (yaml.safe_load(path.read_text()) or {}).get('pairs', [])
        ]
    table = np.array(rows, np.float64).reshape(-1, 4)
    return table[:, :2], table[:, 2:]


def _size(value: object, name: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in value)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise ValueError(f'{name} must be [width, height], got {value!r}') from None
    if width <= 0 or height <= 0:
        raise ValueError(f'{name} must be positive, got {value!r}')
    return width, height
