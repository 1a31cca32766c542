"""One's own ONNX detector scored on fused vs IR-only vs visible-only input.

tsjnet-eval in one command, tsjnet-bag evaluate with the same options, settings read from the
node's YAML.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from onnx_models import SquareDetector, SquareSegmenter, export, write_labels

from tsjnet_ros.core.perception.fused_image_models import FusedImageModels
from tsjnet_ros.core.runtime.stream_settings import StreamSettings
from tsjnet_ros.tools import bag, evaluate

W, H = 160, 120
# class 1 of the detector is "person", the dataset's class 0
DETECTOR_NAMES = ['car', 'person', 'bicycle']


@pytest.fixture(scope='module')
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp('eval_models')
    return {
        'detector': export(
            SquareDetector('yolov8'), torch.zeros(1, 3, 640, 640), root / 'det.onnx', ['output0']
        ),
        'labels': write_labels(root / 'labels.txt', DETECTOR_NAMES),
        'segmenter': export(
            SquareSegmenter(), torch.zeros(1, 3, 128, 160), root / 'seg.onnx', ['out']
        ),
    }


def pair_folder(root: Path, count: int = 3) -> Path:
    """Write pairs with a warm target only the IR camera sees; visible is dim noise."""
    rng = np.random.default_rng(0)
    for sub in ('ir', 'vi', 'labels'):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for i in range(count):
        x1, y1, x2, y2 = 30 + 10 * i, 20 + 5 * i, 90 + 10 * i, 70 + 5 * i
        ir = rng.integers(0, 100, (H, W)).astype(np.uint8)
        ir[y1:y2, x1:x2] = 250
        vis = rng.integers(0, 100, (H, W, 3)).astype(np.uint8)
        cv2.imwrite(str(root / 'ir' / f'p{i}.png'), ir)
        cv2.imwrite(str(root / 'vi' / f'p{i}.png'), vis)
        (root / 'labels' / f'p{i}.txt').write_text(
            f'0 {(x1 + x2) / 2 / W} {(y1 + y2) / 2 / H} {(x2 - x1) / W} {(y2 - y1) / H}\n'
        )
    (root / 'labels' / 'classes.txt').write_text('person\n')
    return root


def test_tsjnet_eval_scores_one_detector_on_fused_ir_only_and_visible_only(tmp_path, models):
    data = pair_folder(tmp_path / 'night')
    out = tmp_path / 'out'
    code = evaluate.main(
        [
            str(data),
            '--method',
            'max',
            '--method',
            'ir_only',
            '--method',
            'visible_only',
            '--detector-model',
            str(models['detector']),
            '--detector-labels',
            str(models['labels']),
            '--device',
            'cpu',
            '--metrics',
            'EN',
            '--contact-sheet',
            '0',
            '--out',
            str(out),
            '--no-progress',
        ]
    )
    assert code == 0
    report = json.loads((out / 'metrics.json').read_text())
    methods = report['datasets']['night']['methods']
    assert methods['max']['detection']['mAP50'] == pytest.approx(1.0)
    assert methods['ir_only']['detection']['mAP50'] == pytest.approx(1.0)
    assert methods['visible_only']['detection']['mAP50'] == pytest.approx(
        0.0
    )  # the target is not visible
    assert report['settings']['detector_model'] == str(models['detector'])


def test_tsjnet_eval_refuses_a_model_of_unknown_layout(tmp_path, models, capsys):
    data = pair_folder(tmp_path / 'night', count=1)
    code = evaluate.main(
        [
            str(data),
            '--detector-model',
            str(models['segmenter']),
            '--device',
            'cpu',
            '--out',
            str(tmp_path / 'out'),
            '--no-progress',
        ]
    )
    assert code == 2
    assert 'out [1, 3, 32, 40] float' in capsys.readouterr().err


def test_bag_settings_from_the_node_yaml_build_the_same_models(tmp_path, models):
    params = tmp_path / 'fusion.yaml'
    params.write_text(
        '/**/fusion_node:\n  ros__parameters:\n    fusion_backend: ir_only\n'
        '    score_threshold: 0.5\n'
        f'    detector_backend: onnx\n    detector_model: {models["detector"]}\n'
        f'    detector_labels: {models["labels"]}\n    segmentation_backend: onnx\n'
        f'    segmentation_model: {models["segmenter"]}\n'
        '    segmentation_input_size: [128, 160]\n    device: cpu\n'
    )
    settings = StreamSettings.from_parameter_file(params)
    assert settings.tasks.segmentation_input_size == (128, 160) and settings.score_threshold == 0.5
    backend = settings.build_backend()
    assert isinstance(backend, FusedImageModels)
    assert backend.detection_classes == DETECTOR_NAMES and backend.segmentation_classes == [
        '0',
        '1',
        '2',
    ]
    assert backend.detector.score_threshold == 0.5
    plain = settings.with_overrides(detector_backend='tsjnet', segmentation_backend='tsjnet')
    assert plain.build_backend().name == 'ir_only'


def test_tsjnet_bag_evaluate_with_an_onnx_detector(tmp_path, models):
    path = tmp_path / 'bag'
    assert (
        bag.main(
            [
                'make',
                '--out',
                str(path),
                '--duration',
                '0.2',
                '--width',
                '160',
                '--height',
                '120',
                '--no-progress',
            ]
        )
        == 0
    )
    out = tmp_path / 'report'
    code = bag.main(
        [
            'evaluate',
            str(path),
            '--out',
            str(out),
            '--no-out-bag',
            '--metrics',
            'none',
            '--contact-sheet',
            '0',
            '--backend',
            'ir_only',
            '--device',
            'cpu',
            '--detector-model',
            str(models['detector']),
            '--detector-labels',
            str(models['labels']),
            '--no-progress',
        ]
    )
    assert code == 0
    summary = json.loads((out / 'report.json').read_text())['summary']
    assert (
        summary['backend'] == 'ir_only+det'
        and summary['pairs']['processed'] == summary['pairs']['expected'] > 0
    )
    assert summary['settings']['tasks']['detector_model'] == str(models['detector'])
    # scored against the bag's ground truth by class name: the detector's "person" is the bag's
    # "person"
    person = summary['detection']['per_class']['person']
    assert person['detections'] == summary['pairs']['processed'] and person['ground_truth'] > 0
