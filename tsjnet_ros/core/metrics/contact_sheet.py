"""A contact sheet: one row per pair, columns IR | visible | each fusion method, for eyeballing."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from tsjnet_ros.core.image.resize import resize_image

_HEADER_HEIGHT = 28
_FONT = cv2.FONT_HERSHEY_SIMPLEX


def _to_rgb(image: np.ndarray) -> np.ndarray:
    if image.dtype == np.uint16:
        image = (image >> 8).astype(np.uint8)
    if image.dtype != np.uint8:
        raise TypeError(f'contact sheet tiles must be uint8 or uint16, got {image.dtype}')
    if image.ndim == 2:
        return np.repeat(image[..., None], 3, axis=2)
    if image.ndim == 3 and image.shape[2] == 3:
        return image
    raise ValueError(f'contact sheet tiles must be HxW or HxWx3, got shape {image.shape}')


def _label(canvas: np.ndarray, text: str, origin: tuple[int, int], scale: float = 0.5) -> None:
    cv2.putText(canvas, text, origin, _FONT, scale, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(canvas, text, origin, _FONT, scale, (255, 255, 255), 1, cv2.LINE_AA)


def make_contact_sheet(
    rows: Sequence[tuple[str, Sequence[np.ndarray]]],
    column_titles: Sequence[str],
    tile_width: int = 256,
) -> np.ndarray:
    """Compose ``rows`` of (pair name, tiles) into one HxWx3 uint8 RGB image.

    Every tile of a row is scaled to ``tile_width`` keeping its aspect ratio, so rows of
    differently sized pairs get different heights. A header row carries the column titles.
    """
    if not rows:
        raise ValueError('a contact sheet needs at least one row')
    columns = len(column_titles)
    if tile_width < 16:
        raise ValueError(f'tile_width must be >= 16, got {tile_width}')
    width = columns * tile_width
    header = np.zeros((_HEADER_HEIGHT, width, 3), np.uint8)
    for c, title in enumerate(column_titles):
        _label(header, title[:28], (c * tile_width + 6, _HEADER_HEIGHT - 9))
    blocks = [header]
    for name, tiles in rows:
        if len(tiles) != columns:
            raise ValueError(f'row {name!r} has {len(tiles)} tiles for {columns} columns')
        h, w = tiles[0].shape[:2]
        tile_height = max(1, round(tile_width * h / w))
        scaled = [resize_image(_to_rgb(t), (tile_height, tile_width)) for t in tiles]
        row = np.concatenate(scaled, axis=1)
        _label(row, name, (6, tile_height - 8), 0.45)
        blocks.append(row)
    return np.concatenate(blocks, axis=0)


def save_contact_sheet(
    path: Path,
    rows: Sequence[tuple[str, Sequence[np.ndarray]]],
    column_titles: Sequence[str],
    tile_width: int = 256,
) -> Path:
    """:func:`make_contact_sheet` written to ``path`` (PNG); returns ``path``."""
    sheet = make_contact_sheet(rows, column_titles, tile_width)
    cv2.imwrite(str(path), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
    return path
