"""`tsjnet-fuse`: a folder of pairs in, fused images, detections and segmentation maps out.

Fused PNGs (grey and colour), detections and segmentation maps are named like the inputs.
"""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from tsjnet_ros.core.datasets.fused_folder import FusedFolderWriter, yolo_lines
from tsjnet_ros.core.types.detection import Detection
from tsjnet_ros.core.types.fusion_result import FusionResult
from tsjnet_ros.tools import fuse

W, H = 96, 64


def _pairs(root, names=('00036N', 'night_2')):
    rng = np.random.default_rng(0)
    (root / 'ir').mkdir(parents=True)
    (root / 'vi').mkdir()
    for name in names:
        cv2.imwrite(
            str(root / 'ir' / f'{name}.png'), rng.integers(0, 256, (H, W)).astype(np.uint8)
        )
        cv2.imwrite(
            str(root / 'vi' / f'{name}.jpg'),
            rng.integers(0, 256, (H, W, 3)).astype(np.uint8),
            [cv2.IMWRITE_JPEG_QUALITY, 100],
        )
    return root


class _Detector:
    """Finds one 'car' box and segments the left half as class 2."""

    name = 'stand_in'
    detection_classes = ['person', 'bicycle', 'car']
    segmentation_classes = ['background', 'person', 'car']

    def fuse(self, ir, visible):
        seg = np.zeros(ir.shape, np.uint8)
        seg[:, : ir.shape[1] // 2] = 2
        return FusionResult(
            ir.copy(),
            np.repeat(ir[..., None], 3, axis=2),
            [Detection(2, 'car', 0.75, (12.0, 8.0, 60.0, 40.0))],
            seg,
        )


def test_average_backend_writes_grey_and_colour_fused_images_named_like_the_inputs(
    tmp_path, capsys
):
    data, out = _pairs(tmp_path / 'pairs'), tmp_path / 'out'
    assert fuse.main([str(data), '--out', str(out), '--backend', 'average', '--no-progress']) == 0
    assert sorted(p.name for p in (out / 'fused').iterdir()) == ['00036N.png', 'night_2.png']
    assert sorted(p.name for p in (out / 'fused_color').iterdir()) == ['00036N.png', 'night_2.png']
    grey = cv2.imread(str(out / 'fused' / '00036N.png'), cv2.IMREAD_UNCHANGED)
    colour = cv2.imread(str(out / 'fused_color' / '00036N.png'), cv2.IMREAD_UNCHANGED)
    assert grey.shape == (H, W) and colour.shape == (H, W, 3)
    ir = cv2.imread(str(data / 'ir' / '00036N.png'), cv2.IMREAD_GRAYSCALE).astype(float)
    vis = cv2.cvtColor(cv2.imread(str(data / 'vi' / '00036N.jpg')), cv2.COLOR_BGR2GRAY).astype(
        float
    )
    assert np.abs(grey - (ir + vis) / 2).mean() < 2.0  # the fused image itself, no overlay
    assert (
        not (out / 'detections').exists() and not (out / 'segmentation').exists()
    )  # average has neither
    assert '2 pairs' in capsys.readouterr().out


@pytest.mark.parametrize('fmt', ['yolo', 'coco'])
def test_detections_and_segmentation_beside_the_fused_images(tmp_path, monkeypatch, fmt):
    import tsjnet_ros.core.fusion as fusion

    monkeypatch.setattr(fusion, 'create_backend', lambda name, **kwargs: _Detector())
    data, out = _pairs(tmp_path / 'pairs'), tmp_path / 'out'
    assert fuse.main([str(data), '--out', str(out), '--detections', fmt, '--no-progress']) == 0
    if fmt == 'yolo':
        line = (out / 'detections' / 'night_2.txt').read_text().split()
        assert line[0] == '2' and [float(v) for v in line[1:]] == pytest.approx(
            [36 / W, 24 / H, 48 / W, 32 / H, 0.75], abs=1e-4
        )
        assert (out / 'detections' / 'classes.txt').read_text().split() == [
            'person',
            'bicycle',
            'car',
        ]
    else:
        coco = json.loads((out / 'detections.json').read_text())
        assert [i['file_name'] for i in coco['images']] == ['00036N.png', 'night_2.png']
        assert coco['categories'][2] == {'id': 2, 'name': 'car'}
        box = coco['annotations'][1]
        assert (
            box['image_id'] == 2
            and box['bbox'] == [12.0, 8.0, 48.0, 32.0]
            and box['score'] == 0.75
        )
    seg = cv2.imread(str(out / 'segmentation' / '00036N.png'), cv2.IMREAD_UNCHANGED)
    assert seg.shape == (H, W) and set(np.unique(seg)) == {0, 2} and (seg[:, : W // 2] == 2).all()
    assert cv2.imread(str(out / 'segmentation_color' / '00036N.png')).shape == (H, W, 3)


def test_bad_inputs_exit_2_with_the_reason(tmp_path, capsys):
    assert fuse.main([str(tmp_path / 'none'), '--out', str(tmp_path / 'o'), '--no-progress']) == 2
    assert 'no such folder' in capsys.readouterr().err
    data = _pairs(tmp_path / 'pairs')
    assert (
        fuse.main([str(data), '--out', str(tmp_path / 'o'), '--backend', 'nope', '--no-progress'])
        == 2
    )
    assert (
        'fusion_backend must be one of average' in capsys.readouterr().err
    )  # checked before loading anything
    with pytest.raises(ValueError, match='detection format'):
        FusedFolderWriter(tmp_path / 'o', 'xml', ['person'])


def test_yolo_lines_are_normalised_centre_size_and_score():
    lines = yolo_lines([Detection(1, 'bicycle', 0.5, (0.0, 0.0, 50.0, 20.0))], 100, 40)
    assert lines == ['1 0.250000 0.250000 0.500000 0.500000 0.5000']
