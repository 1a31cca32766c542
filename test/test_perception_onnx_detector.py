"""ONNX detectors of each export layout on images of several camera sizes.

The detectors are exported here from tiny torch modules; boxes must come back in camera pixels
where the square was drawn.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from onnx_models import (
    CLASS,
    OBJECTNESS,
    SQUARE_CAMERAS,
    SQUARE_SCORE,
    SquareDetector,
    export,
    write_labels,
)

from tsjnet_ros.core.perception.detection_layouts import UnknownLayoutError, resolve_layout
from tsjnet_ros.core.perception.onnx_detector import OnnxDetector
from tsjnet_ros.core.perception.onnx_model import TensorInfo

NAMES = ['person', 'car', 'bicycle']
OUTPUT_NAMES = {'yolov5': ['output0'], 'yolov8': ['output0'], 'nms': ['boxes', 'scores', 'labels']}
EXPECTED_SCORE = {'yolov5': OBJECTNESS * SQUARE_SCORE, 'yolov8': SQUARE_SCORE, 'nms': SQUARE_SCORE}


@pytest.fixture(scope='module')
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp('detectors')
    paths = {
        layout: export(
            SquareDetector(layout),
            torch.zeros(1, 3, 640, 640),
            root / f'{layout}.onnx',
            OUTPUT_NAMES[layout],
        )
        for layout in OUTPUT_NAMES
    }
    paths['free_size'] = export(
        SquareDetector('yolov8'),
        torch.zeros(1, 3, 64, 64),
        root / 'free.onnx',
        ['output0'],
        dynamic_size=True,
    )
    paths['labels'] = write_labels(root / 'labels.txt', NAMES)
    return paths


def camera_image(size, box, color=True):
    image = np.zeros(size + ((3,) if color else ()), np.uint8)
    x1, y1, x2, y2 = box
    image[y1:y2, x1:x2] = 255
    return image


def tolerance(size, net=(640, 640)):
    """One network pixel in camera pixels, plus one for the resize's edge blur."""
    return max(size[0] / net[0], size[1] / net[1]) + 1.0


@pytest.mark.parametrize('layout', list(OUTPUT_NAMES))
@pytest.mark.parametrize('size, box', SQUARE_CAMERAS)
def test_box_in_camera_pixels_for_every_layout_and_camera_size(models, layout, size, box):
    detector = OnnxDetector(
        models[layout], models['labels'], score_threshold=0.3, nms_iou=0.5, device='cpu'
    )
    assert detector.layout.name == layout
    detections = detector.detect(camera_image(size, box))
    # YOLO: the shifted copy is suppressed by NMS; NMS-ed outputs keep it (the model's own NMS
    # kept it); the far box and the empty candidates are under the threshold
    assert len(detections) == (2 if layout == 'nms' else 1)
    best = detections[0]
    assert (best.class_id, best.class_name) == (CLASS, NAMES[CLASS])
    assert best.score == pytest.approx(EXPECTED_SCORE[layout], abs=1e-6)
    np.testing.assert_allclose(best.box_xyxy, box, atol=tolerance(size))


def test_nms_layout_is_not_suppressed_again_but_thresholded(models):
    detector = OnnxDetector(models['nms'], models['labels'], score_threshold=0.3, device='cpu')
    detections = detector.detect(camera_image((480, 640), (100, 120, 300, 260)))
    assert [round(d.score, 3) for d in detections] == [
        0.8,
        0.5,
    ]  # the model's own NMS output, 0.01 and 0 dropped
    detector.score_threshold = 0.6
    assert len(detector.detect(camera_image((480, 640), (100, 120, 300, 260)))) == 1
    detector.max_detections = 1
    detector.score_threshold = 0.3
    assert len(detector.detect(camera_image((480, 640), (100, 120, 300, 260)))) == 1


def test_thresholds_change_between_frames(models):
    detector = OnnxDetector(
        models['yolov8'], models['labels'], score_threshold=0.3, nms_iou=0.99, device='cpu'
    )
    image = camera_image((480, 640), (100, 120, 300, 260))
    assert len(detector.detect(image)) == 2  # the shifted copy overlaps by ~0.96 IoU, kept at 0.99
    detector.nms_iou = 0.5
    assert len(detector.detect(image)) == 1
    detector.score_threshold = 0.9
    assert detector.detect(image) == []


@pytest.mark.parametrize(
    'input_size, size, box',
    [
        ((384, 640), (720, 1280), (400, 100, 700, 300)),
        (None, (470, 630), (50, 60, 250, 200)),  # free size: camera padded to 480x640, no scaling
        (None, (1080, 1920), (960, 540, 1500, 1000)),
    ],
)
def test_free_size_model_with_and_without_input_size(models, input_size, size, box):
    detector = OnnxDetector(
        models['free_size'], models['labels'], input_size=input_size, device='cpu'
    )
    assert detector.model.input_size == (tuple(input_size) if input_size else None)
    best = detector.detect(camera_image(size, box))[0]
    net = input_size or size
    np.testing.assert_allclose(best.box_xyxy, box, atol=tolerance(size, net))


def test_mono_image_and_class_names_without_labels(models):
    detector = OnnxDetector(models['yolov8'], device='cpu')
    assert detector.class_names == ['0', '1', '2']
    best = detector.detect(camera_image((480, 640), (100, 120, 300, 260), color=False))[0]
    assert best.class_name == '1'


def test_labels_from_yaml_and_model_metadata(models, tmp_path):
    import onnx

    yaml_labels = tmp_path / 'data.yaml'
    yaml_labels.write_text('names:\n  0: person\n  1: car\n  2: bicycle\n')
    assert OnnxDetector(models['yolov8'], yaml_labels, device='cpu').class_names == NAMES
    model = onnx.load(str(models['yolov8']))
    onnx.helper.set_model_props(
        model, {'names': "{0: 'a', 1: 'b', 2: 'c'}"}
    )  # as Ultralytics writes it
    with_names = tmp_path / 'named.onnx'
    onnx.save(model, str(with_names))
    assert OnnxDetector(with_names, device='cpu').class_names == ['a', 'b', 'c']


def test_refusals_name_the_cause(models, tmp_path):
    with pytest.raises(ValueError, match='labels name 2 classes but the yolov8 output has 3'):
        OnnxDetector(
            models['yolov8'], write_labels(tmp_path / 'two.txt', ['a', 'b']), device='cpu'
        )
    with pytest.raises(UnknownLayoutError, match='names no classes; give a labels file'):
        OnnxDetector(models['nms'], device='cpu')
    with pytest.raises(ValueError, match='does not exist'):
        OnnxDetector(tmp_path / 'missing.onnx')
    broken = tmp_path / 'broken.onnx'
    broken.write_bytes(b'not a model')
    with pytest.raises(ValueError, match='cannot load ONNX model'):
        OnnxDetector(broken)
    with pytest.raises(ValueError, match='fixed input size 640x640'):
        OnnxDetector(models['yolov8'], input_size=(320, 320), device='cpu')


class FourDimensional(torch.nn.Module):
    def forward(self, x):
        return torch.nn.functional.avg_pool2d(x, 8)  # [1, 3, 80, 80]: no detector layout


def test_unknown_layout_is_refused_with_the_shapes(tmp_path):
    path = export(
        FourDimensional(), torch.zeros(1, 3, 640, 640), tmp_path / 'pool.onnx', ['features']
    )
    with pytest.raises(UnknownLayoutError, match=r'features \[1, 3, 80, 80\] float'):
        OnnxDetector(path, device='cpu')


def info(name, shape, kind='float'):
    return TensorInfo(name, tuple(shape), f'tensor({kind})')


@pytest.mark.parametrize(
    'outputs, labels, expected',
    [
        ([info('output0', [1, 84, 8400])], None, ('yolov8', 80)),  # YOLOv8/11 COCO
        ([info('output0', [1, 25200, 85])], None, ('yolov5', 80)),  # YOLOv5 COCO
        ([info('output0', [1, 6, 'anchors'])], None, ('yolov8', 2)),  # free candidate axis
        ([info('output', ['batch', 'n', 7])], None, ('yolov5', 2)),
        ([info('output0', [1, 3, 7])], 2, ('yolov5', 2)),  # labels decide against "longer axis"
        (
            [
                info('det_boxes', [1, 100, 4]),
                info('det_scores', [1, 100]),
                info('det_classes', [1, 100], 'int32'),
                info('num_dets', [1, 1], 'int32'),
            ],
            None,
            ('nms', None),
        ),
        (
            [info('b', ['k', 4]), info('s', ['k']), info('l', ['k'], 'int64')],
            None,
            ('nms', None),
        ),  # torchvision-style
    ],
)
def test_layout_from_output_shapes(outputs, labels, expected):
    layout = resolve_layout(outputs, 'auto', labels)
    assert (layout.name, layout.num_classes) == expected


def test_layout_refusals_name_the_shapes():
    with pytest.raises(UnknownLayoutError, match=r'out \[1, 8, 8\]'):
        resolve_layout([info('out', [1, 8, 8])])  # square: YOLOv5 or YOLOv8 cannot be told
    assert resolve_layout([info('out', [1, 8, 8])], 'yolov8').num_classes == 4
    with pytest.raises(UnknownLayoutError, match=r'logits \[1, 21, 64, 64\]'):
        resolve_layout([info('logits', [1, 21, 64, 64])])
    with pytest.raises(UnknownLayoutError, match='not NMS-ed'):
        resolve_layout([info('output0', [1, 84, 8400])], 'nms')
    with pytest.raises(ValueError, match='must be one of'):
        resolve_layout([info('output0', [1, 84, 8400])], 'ssd')


def test_empty_inverted_and_padding_only_boxes_are_dropped(models):
    detector = OnnxDetector(models['yolov8'], models['labels'], device='cpu')
    # no bright pixel: the tiny model reports an inverted box (x2 < x1) with a high score
    assert detector.detect(np.zeros((480, 640, 3), np.uint8)) == []
    # a 1280x720 image fills rows 140..500 of the 640x640 input; a box in the grey band above
    # maps to zero height in the camera image
    from tsjnet_ros.core.perception.letterbox import Letterbox

    assert (
        Letterbox.fit((720, 1280), (640, 640)).boxes_to_source(np.array([[10, 20, 50, 100]]))[0][3]
        == 0
    )
