"""ONNX segmenters and our own TSJNet heads exported to ONNX.

The segmenters have logits and class-id outputs; class maps and detections come back in camera
pixels and match the PyTorch heads.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from onnx_models import SQUARE_CAMERAS, SquareSegmenter, export, write_labels
from torch import nn
from torchvision.ops import box_convert

from tsjnet_ros.core.model.heads.config import HeadsConfig
from tsjnet_ros.core.model.heads.detection import distances_to_boxes
from tsjnet_ros.core.model.heads.task_heads import TaskHeads
from tsjnet_ros.core.model.postprocess import (
    decode_detections,
    segmentation_class_map,
    to_detection_list,
)
from tsjnet_ros.core.perception.onnx_detector import OnnxDetector
from tsjnet_ros.core.perception.onnx_segmenter import OnnxSegmenter


@pytest.fixture(scope='module')
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp('segmenters')
    return {
        'logits': export(
            SquareSegmenter(), torch.zeros(1, 3, 640, 640), root / 'logits.onnx', ['out']
        ),
        'ids': export(
            SquareSegmenter(ids=True), torch.zeros(1, 3, 512, 640), root / 'ids.onnx', ['classes']
        ),
        'free': export(
            SquareSegmenter(),
            torch.zeros(1, 3, 64, 64),
            root / 'free.onnx',
            ['out'],
            dynamic_size=True,
        ),
        'labels': write_labels(root / 'labels.txt', ['background', 'padding', 'target']),
    }


def square_image(size, box):
    image = np.zeros(size + (3,), np.uint8)
    x1, y1, x2, y2 = box
    image[y1:y2, x1:x2] = 255
    return image


@pytest.mark.parametrize('kind', ['logits', 'ids', 'free'])
@pytest.mark.parametrize('size, box', SQUARE_CAMERAS)
def test_class_map_in_camera_pixels_without_padding(models, kind, size, box):
    segmenter = OnnxSegmenter(models[kind], models['labels'], device='cpu')
    assert segmenter.kind == ('ids' if kind == 'ids' else 'logits')
    assert segmenter.class_names == ['background', 'padding', 'target']
    classes = segmenter.segment(square_image(size, box))
    assert classes.shape == size and classes.dtype == np.uint8
    truth = np.zeros(size, bool)
    x1, y1, x2, y2 = box
    truth[y1:y2, x1:x2] = True
    found = classes == 2
    iou = (found & truth).sum() / (found | truth).sum()
    assert iou > 0.9
    # the letterbox grey (class 1) is cut off; only the edge cells that mix grey and image may
    # show it
    assert (classes == 1).mean() < 0.02


def test_logits_without_labels_number_the_classes_ids_need_labels(models):
    assert OnnxSegmenter(models['logits'], device='cpu').class_names == ['0', '1', '2']
    with pytest.raises(ValueError, match='give a labels file'):
        OnnxSegmenter(models['ids'], device='cpu')


def test_refuses_outputs_it_cannot_read_and_mismatched_labels(models, tmp_path):
    class Boxes(nn.Module):
        def forward(self, x):
            return x.mean(dim=(2, 3))  # [1, 3]

    path = export(Boxes(), torch.zeros(1, 3, 64, 64), tmp_path / 'vector.onnx', ['scores'])
    with pytest.raises(ValueError, match=r'scores \[1, 3\] float'):
        OnnxSegmenter(path, device='cpu')
    with pytest.raises(ValueError, match='labels name 2 classes but the segmenter outputs 3'):
        OnnxSegmenter(
            models['logits'], write_labels(tmp_path / 'two.txt', ['a', 'b']), device='cpu'
        )


# -- our own heads, exported ------------------------------------------------------------------
class HeadsSegmentation(nn.Module):
    def __init__(self, heads: TaskHeads) -> None:
        super().__init__()
        self.heads = heads

    def forward(self, fused):
        return self.heads(fused).segmentation_logits


class HeadsAsYolov8(nn.Module):
    """The FCOS head's boxes and scores in the YOLOv8 layout [1, 4 + C, N].

    The boxes and scores are those :func:`decode_detections` forms.
    """

    def __init__(self, heads: TaskHeads) -> None:
        super().__init__()
        self.heads = heads

    def forward(self, fused):
        cls, dist, ctr, points, _ = self.heads(fused).detection.flatten()
        scores = torch.sqrt(torch.sigmoid(cls) * torch.sigmoid(ctr)[..., None])
        boxes = box_convert(distances_to_boxes(points, dist), 'xyxy', 'cxcywh')
        return torch.cat([boxes, scores], dim=-1).transpose(1, 2)


@pytest.fixture(scope='module')
def heads():
    torch.manual_seed(0)
    config = HeadsConfig(detection_classes=('person',))
    heads = TaskHeads(config).eval()
    with (
        torch.no_grad()
    ):  # spread the untrained detector's scores, so near-ties do not decide the comparison
        for module in heads.detection.modules():
            if isinstance(module, nn.Conv2d):
                module.weight.normal_(0.0, 0.2)
    return heads


def fused_image(size=(256, 320)):
    rng = np.random.default_rng(0)
    image = (rng.random(size) * 60).astype(np.uint8)
    image[60:140, 100:180] = 230
    return image


def test_our_segmentation_head_exported_matches_pytorch(heads, tmp_path):
    image = fused_image()
    path = export(
        HeadsSegmentation(heads),
        torch.zeros(1, 1, *image.shape),
        tmp_path / 'seg_head.onnx',
        ['logits'],
    )
    segmenter = OnnxSegmenter(path, device='cpu')
    assert len(segmenter.class_names) == len(heads.config.segmentation_classes)
    with torch.inference_mode():
        logits = heads(torch.from_numpy(image / 255.0).float()[None, None]).segmentation_logits
    expected = segmentation_class_map(logits, image.shape)[0].numpy()
    assert (segmenter.segment(image) == expected).mean() > 0.999


def test_our_detection_head_exported_matches_pytorch_decoding(heads, tmp_path):
    image = fused_image()
    path = export(
        HeadsAsYolov8(heads),
        torch.zeros(1, 1, *image.shape),
        tmp_path / 'det_head.onnx',
        ['output0'],
    )
    with torch.inference_mode():
        prediction = heads(torch.from_numpy(image / 255.0).float()[None, None]).detection
        scores = torch.sqrt(
            torch.sigmoid(torch.cat([c.flatten() for c in prediction.cls_logits]))
            * torch.sigmoid(torch.cat([c.flatten() for c in prediction.centerness]))
        )
        threshold = float(
            scores.quantile(0.9)
        )  # ~170 candidates: both decoders keep them all before NMS
        decoded = decode_detections(prediction, threshold, 0.6, max_detections=1000)[0]
    expected = to_detection_list(decoded, ['person'], image.shape, image.shape)
    detector = OnnxDetector(
        path,
        layout='auto',
        score_threshold=threshold,
        nms_iou=0.6,
        max_detections=1000,
        device='cpu',
    )
    assert detector.layout.name == 'yolov8' and detector.class_names == ['0']
    found = detector.detect(image)
    assert len(found) == len(expected) > 0

    # compare the sets: the order of equal scores may differ
    def rows(detections):
        return np.array(sorted((*np.round(d.box_xyxy, 2), d.score) for d in detections))

    np.testing.assert_allclose(rows(found), rows(expected), atol=1e-3)
