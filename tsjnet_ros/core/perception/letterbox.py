"""Letterbox: fit a camera image into a network's input without distorting it, and map back.

The image is scaled by one factor ``s = min(h / H, w / W)`` (aspect ratio kept), placed in
the middle of the (h, w) input and the rest filled with grey 114 (the geometry of the
YOLOv5/YOLOv8 ``LetterBox`` preprocessing). Results are mapped back by undoing the offset
and the per-axis scale of the resized content, so boxes and class maps land in ORIGINAL
camera pixels for any camera size and aspect ratio.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tsjnet_ros.core.image.resize import resize_image

PAD_VALUE = 114  # grey used by the YOLO family's letterbox


@dataclass(frozen=True)
class Letterbox:
    """Geometry of one letterbox: a camera image scaled and padded into the network input.

    ``source_size`` (H, W) camera image into ``target_size`` (h, w) network input; the image
    occupies ``resized_size`` (rh, rw) at ``offset`` (top, left).
    """

    source_size: tuple[int, int]
    target_size: tuple[int, int]
    resized_size: tuple[int, int]
    offset: tuple[int, int]

    @classmethod
    def fit(
        cls, source_size: tuple[int, int], target_size: tuple[int, int], scale_up: bool = True
    ) -> Letterbox:
        """Fit with the largest uniform scale (at most 1 without ``scale_up``).

        Padding is split evenly (the odd pixel at the bottom/right).
        """
        sh, sw = (int(v) for v in source_size)
        th, tw = (int(v) for v in target_size)
        if min(sh, sw, th, tw) <= 0:
            raise ValueError(f'image sizes must be positive, got {source_size} -> {target_size}')
        scale = min(th / sh, tw / sw, float('inf') if scale_up else 1.0)
        rh, rw = min(th, max(1, round(sh * scale))), min(tw, max(1, round(sw * scale)))
        return cls((sh, sw), (th, tw), (rh, rw), ((th - rh) // 2, (tw - rw) // 2))

    def apply(self, image: np.ndarray, pad_value: int = PAD_VALUE) -> np.ndarray:
        """Letterbox ``image`` (H, W) or (H, W, C) uint8 at ``source_size``.

        Returns the (h, w[, C]) network input.
        """
        if image.shape[:2] != self.source_size:
            raise ValueError(
                f'image is {image.shape[1]}x{image.shape[0]}, letterbox expects '
                f'{self.source_size[1]}x{self.source_size[0]}'
            )
        rh, rw = self.resized_size
        image = resize_image(image, (rh, rw))
        if (rh, rw) == self.target_size:
            return np.ascontiguousarray(image)
        out = np.full(self.target_size + image.shape[2:], pad_value, dtype=image.dtype)
        top, left = self.offset
        out[top : top + rh, left : left + rw] = image
        return out

    def boxes_to_source(self, boxes: np.ndarray) -> np.ndarray:
        """(K, 4) x1y1x2y2 boxes in network-input pixels -> source pixels, clipped to the image.

        x_src = (x - left) * W / rw and y_src = (y - top) * H / rh.
        """
        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        (sh, sw), (rh, rw), (top, left) = self.source_size, self.resized_size, self.offset
        out = (boxes - [left, top, left, top]) * [sw / rw, sh / rh, sw / rw, sh / rh]
        out[:, 0::2] = out[:, 0::2].clip(0, sw)
        out[:, 1::2] = out[:, 1::2].clip(0, sh)
        return out

    def content_window(self, map_size: tuple[int, int]) -> tuple[slice, slice]:
        """Return the rows and columns of a (mh, mw) output map that cover the image.

        The map is the input's grid at any stride; the window leaves out the padding.
        """
        mh, mw = map_size
        th, tw = self.target_size
        (rh, rw), (top, left) = self.resized_size, self.offset
        y0, x0 = round(top * mh / th), round(left * mw / tw)
        y1, x1 = (
            max(y0 + 1, round((top + rh) * mh / th)),
            max(x0 + 1, round((left + rw) * mw / tw)),
        )
        return slice(y0, min(y1, mh)), slice(x0, min(x1, mw))
