"""Tiny torch modules exported to ONNX with the output layouts of common detectors and segmenters.

The modules find the bright square in their input (pixels above 0.5; the letterbox grey
114/255 is below) and report it in network-input pixels, so a test can draw a square in
camera pixels and check where the detector or segmenter puts it back.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
from torch import nn

CLASS = 1  # class id the square is reported as
SQUARE_SCORE, OBJECTNESS = 0.8, 0.9
CANDIDATES = 64
# Camera sizes (H, W) with the square drawn at (x1, y1, x2, y2) camera pixels: landscape,
# portrait, HD, full HD, small and odd sizes, so letterboxing is exercised in every direction.
SQUARE_CAMERAS = [
    ((480, 640), (100, 120, 300, 260)),
    ((720, 1280), (400, 100, 700, 300)),
    ((640, 480), (40, 300, 200, 620)),
    ((1080, 1920), (960, 540, 1500, 1000)),
    ((200, 300), (10, 20, 90, 180)),
    ((123, 457), (200, 30, 330, 100)),
]


def export(
    module: nn.Module,
    example: torch.Tensor,
    path: Path,
    output_names: list[str],
    dynamic_size: bool = False,
) -> Path:
    """Export with the TorchScript exporter; dynamo where it is gone.

    TorchScript takes well under a second for these modules, where the dynamo exporter takes
    ~10 s each on a small CPU.
    """
    kwargs = dict(input_names=['images'], output_names=output_names)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            dynamic = {'images': {2: 'height', 3: 'width'}} if dynamic_size else None
            torch.onnx.export(
                module.eval(), (example,), str(path), dynamo=False, dynamic_axes=dynamic, **kwargs
            )
    except (TypeError, RuntimeError, ImportError):
        shapes = (
            ({2: torch.export.Dim('height'), 3: torch.export.Dim('width')},)
            if dynamic_size
            else None
        )
        torch.onnx.export(
            module.eval(), (example,), str(path), dynamo=True, dynamic_shapes=shapes, **kwargs
        )
    return path


def bright_box(x: torch.Tensor) -> torch.Tensor:
    """(1, C, H, W) -> (1, 4) x1y1x2y2 around the pixels whose channel mean is above 0.5."""
    g = x.mean(dim=1)
    mask = g > 0.5
    h, w = g.shape[-2], g.shape[-1]
    ys = torch.arange(h, dtype=torch.float32).view(1, h, 1).expand_as(g)
    xs = torch.arange(w, dtype=torch.float32).view(1, 1, w).expand_as(g)
    big = torch.full_like(g, 1e6)
    x0 = torch.where(mask, xs, big).amin(dim=(1, 2))
    y0 = torch.where(mask, ys, big).amin(dim=(1, 2))
    x1 = torch.where(mask, xs, -big).amax(dim=(1, 2)) + 1
    y1 = torch.where(mask, ys, -big).amax(dim=(1, 2)) + 1
    return torch.stack([x0, y0, x1, y1], dim=1)


class SquareDetector(nn.Module):
    """Detector whose candidates are the square, a weaker copy, a far box and empty ones.

    Candidates: the square (class CLASS, score 0.8), a shifted copy of it with a lower score
    (NMS must drop it), a far box below any threshold (score 0.01), then empty ones up to
    ``CANDIDATES`` (real exports have thousands, the longer axis tells the layout).
    """

    def __init__(self, layout: str, num_classes: int = 3) -> None:
        super().__init__()
        self.layout, self.num_classes = layout, num_classes

    def _scores(self, score: float, like: torch.Tensor) -> torch.Tensor:
        row = [0.05] * self.num_classes
        row[CLASS] = score
        return like.new_tensor(row).view(1, -1)

    def forward(self, x: torch.Tensor):
        box = bright_box(x)
        copy = box + torch.tensor([[2.0, 2.0, 2.0, 2.0]])
        far = torch.tensor([[0.0, 0.0, 8.0, 8.0]]) + box * 0
        empty = torch.zeros(1, CANDIDATES - 3, 4) + box[:, None] * 0
        boxes = torch.cat(
            [torch.stack([box, copy, far], dim=1), empty], dim=1
        )  # (1, N, 4) x1y1x2y2
        if self.layout == 'nms':
            scores = (
                torch.tensor([[SQUARE_SCORE, 0.5, 0.01] + [0.0] * (CANDIDATES - 3)])
                + box[:, :1] * 0
            )
            labels = torch.tensor([[CLASS, CLASS, 0] + [0] * (CANDIDATES - 3)], dtype=torch.int64)
            return boxes, scores, labels
        cxcywh = torch.cat(
            [(boxes[..., :2] + boxes[..., 2:]) / 2, boxes[..., 2:] - boxes[..., :2]], dim=-1
        )
        cls = torch.cat(
            [
                self._scores(SQUARE_SCORE, x),
                self._scores(0.6, x),
                self._scores(0.01, x),
                torch.zeros(CANDIDATES - 3, self.num_classes),
            ],
            dim=0,
        )[None]
        if self.layout == 'yolov8':
            return torch.cat([cxcywh, cls], dim=-1).transpose(1, 2)  # (1, 4 + C, N)
        objectness = torch.full((1, CANDIDATES, 1), OBJECTNESS) + box[:, None, :1] * 0
        return torch.cat([cxcywh, objectness, cls], dim=-1)  # (1, N, 5 + C)


class SquareSegmenter(nn.Module):
    """Segmenter with a stride-4 map: class 2 where bright, 1 on letterbox grey, 0 on black.

    ``ids`` = the argmax inside the model.
    """

    def __init__(self, ids: bool = False) -> None:
        super().__init__()
        self.ids = ids

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = torch.nn.functional.avg_pool2d(x.mean(dim=1, keepdim=True), 4)
        logits = torch.cat(
            [torch.zeros_like(p), 1.0 - (p - 114 / 255).abs() * 50, (p - 0.5) * 20], dim=1
        )
        return logits.argmax(dim=1) if self.ids else logits


def write_labels(path: Path, names: list[str]) -> Path:
    path.write_text('\n'.join(names) + '\n')
    return path
