"""Pictures for people: segmentation palette and the debug overlay shown in rviz2.

The overlay is the fused colour image with the segmentation blended in and every
detection drawn as a box with its class name and score.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from tsjnet_ros.core.image.resize import resize_image
from tsjnet_ros.core.types.detection import Detection

# Distinct colours for the first classes (class 0 is "unlabelled" and stays black),
# then a deterministic spread for the rest of the 256 possible ids.
_BASE_COLOURS = [
    (0, 0, 0),
    (64, 0, 128),
    (64, 64, 0),
    (0, 128, 192),
    (0, 0, 192),
    (128, 128, 0),
    (64, 64, 128),
    (192, 128, 128),
    (192, 64, 0),
]


def segmentation_palette(num_classes: int = 256) -> np.ndarray:
    """(num_classes, 3) uint8 RGB colours; the same id always gets the same colour."""
    rng = np.random.default_rng(12345)
    extra = rng.integers(40, 256, size=(max(0, num_classes - len(_BASE_COLOURS)), 3))
    table = np.concatenate([np.array(_BASE_COLOURS, np.int64), extra])[:num_classes]
    return table.astype(np.uint8)


_PALETTE = segmentation_palette()


def colorize_segmentation(class_map: np.ndarray) -> np.ndarray:
    """HxW uint8 class ids -> HxWx3 uint8 RGB."""
    if class_map.dtype != np.uint8 or class_map.ndim != 2:
        raise ValueError(f'class map must be HxW uint8, got {class_map.dtype} {class_map.shape}')
    return _PALETTE[class_map]


def detection_colour(class_id: int) -> tuple[int, int, int]:
    """Return a bright RGB colour per detection class (not the segmentation palette)."""
    hue = (class_id * 47) % 180
    hsv = np.array([[[hue, 230, 255]]], np.uint8)
    r, g, b = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0]
    return int(r), int(g), int(b)


def draw_overlay(
    image_rgb: np.ndarray,
    detections: Sequence[Detection] = (),
    segmentation: np.ndarray | None = None,
    alpha: float = 0.4,
) -> np.ndarray:
    """Fused colour image + translucent segmentation + labelled boxes (new RGB array).

    Pixels of class 0 (unlabelled) are not tinted.
    """
    if image_rgb.ndim != 3 or image_rgb.shape[2] != 3 or image_rgb.dtype != np.uint8:
        raise ValueError(
            f'overlay needs an HxWx3 uint8 image, got {image_rgb.dtype} {image_rgb.shape}'
        )
    out = image_rgb.copy()
    if segmentation is not None:
        if segmentation.shape != image_rgb.shape[:2]:
            raise ValueError(
                f'segmentation {segmentation.shape} does not match image {image_rgb.shape[:2]}'
            )
        labelled = segmentation > 0
        if labelled.any():
            tint = colorize_segmentation(segmentation)
            blended = cv2.addWeighted(out, 1.0 - alpha, tint, alpha, 0.0)
            out[labelled] = blended[labelled]
    h, w = out.shape[:2]
    thickness = max(1, round(min(h, w) / 300))
    font_scale = max(0.35, min(h, w) / 900)
    for det in detections:
        x0, y0, x1, y1 = (int(round(v)) for v in det.box_xyxy)
        x0, x1 = np.clip([x0, x1], 0, w - 1)
        y0, y1 = np.clip([y0, y1], 0, h - 1)
        colour = detection_colour(det.class_id)
        cv2.rectangle(out, (int(x0), int(y0)), (int(x1), int(y1)), colour, thickness)
        label = f'{det.class_name} {det.score:.2f}'
        (tw, th), base = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, font_scale, 1)
        ty = int(y0) - 2 if y0 - th - base - 2 >= 0 else int(y0) + th + base + 2
        cv2.rectangle(out, (int(x0), ty - th - base), (int(x0) + tw + 2, ty + 1), colour, -1)
        cv2.putText(
            out,
            label,
            (int(x0) + 1, ty - base + 1),
            cv2.FONT_HERSHEY_SIMPLEX,
            font_scale,
            (0, 0, 0),
            1,
            cv2.LINE_AA,
        )
    return out


def draw_overlay_at_width(
    image_rgb: np.ndarray,
    detections: Sequence[Detection] = (),
    segmentation: np.ndarray | None = None,
    width: int = 384,
    alpha: float = 0.4,
) -> np.ndarray:
    """Apply :func:`draw_overlay` on the image scaled to ``width`` pixels (aspect kept).

    The boxes are scaled along: labels keep a readable size in a small picture instead of
    shrinking with the image, as they would when a full-size overlay is scaled down.
    """
    h, w = image_rgb.shape[:2]
    scale = width / w
    size = (width, max(1, round(h * scale)))
    image = resize_image(image_rgb, size[::-1])
    seg = None if segmentation is None else resize_image(segmentation, size[::-1], 'nearest')
    scaled = [
        Detection(d.class_id, d.class_name, d.score, tuple(v * scale for v in d.box_xyxy))
        for d in detections
    ]
    return draw_overlay(image, scaled, seg, alpha)
