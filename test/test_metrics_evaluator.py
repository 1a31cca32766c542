"""One evaluation loop: the PairEvaluator behind tsjnet-eval, bag evaluation and validation."""

import json

import numpy as np
import pytest
import torch

from tsjnet_ros.core.metrics.detection import (
    ImageAnnotations,
    ImageDetections,
    evaluate_detections,
)
from tsjnet_ros.core.metrics.evaluator import PairEvaluator, luminance_inputs, mean_skipping_nan
from tsjnet_ros.core.metrics.fusion_suite import evaluate_fusion
from tsjnet_ros.core.metrics.segmentation import SegmentationScore


def _same(a, b):
    """Equal figures, NaN included (AP of a class without ground truth is NaN)."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def _triple(seed):
    rng = np.random.default_rng(seed)
    ir, vis = rng.integers(0, 256, (2, 32, 40), dtype=np.uint8)
    return ir, vis, ((ir.astype(np.uint16) + vis) // 2).astype(np.uint8)


def test_fusion_scores_per_pair_and_means_skipping_nan():
    evaluator = PairEvaluator(['EN', 'SSIM', 'PSNR'])
    per_pair = [evaluator.add_fusion(*_triple(seed)) for seed in range(3)]
    assert per_pair[1] == evaluate_fusion(*_triple(1), ['EN', 'SSIM', 'PSNR'])
    means = evaluator.fusion_means()
    assert means['EN'] == pytest.approx(np.mean([p['EN'] for p in per_pair]), rel=1e-15)
    assert mean_skipping_nan([1.0, float('nan'), None, 3.0]) == 2.0
    assert mean_skipping_nan([float('inf'), 1.0]) == float('inf')  # a perfect copy's PSNR is kept
    assert np.isnan(mean_skipping_nan([None, float('nan')]))
    assert PairEvaluator().add_fusion(*_triple(0)) == {}


def test_detections_and_segmentation_accumulate_over_pairs():
    evaluator = PairEvaluator(segmentation_classes=['background', 'person'])
    assert (
        evaluator.detection_report(['person']) is None and evaluator.segmentation_report() is None
    )
    predictions = [
        ImageDetections([[0, 0, 10, 10]], [0.9], [0]),
        ImageDetections(np.zeros((0, 4)), [], []),
    ]
    truths = [ImageAnnotations([[0, 0, 10, 10]], [0]), ImageAnnotations([[5, 5, 9, 9]], [1])]
    for p, t in zip(predictions, truths):
        evaluator.add_detections(p, t)
    assert evaluator.highest_class_id() == 1
    report = evaluator.detection_report(['person', 'car'], iou_thresholds=(0.5,))
    assert _same(
        report.as_dict(),
        evaluate_detections(
            predictions, truths, ['person', 'car'], iou_thresholds=(0.5,)
        ).as_dict(),
    )
    assert report.per_class[0].ap50 == pytest.approx(1.0) and report.per_class[1].ap50 == 0.0
    maps = [np.array([[0, 1], [1, 255]], np.uint8), np.array([[1, 1], [0, 0]], np.uint8)]
    preds = [np.array([[0, 1], [0, 1]], np.uint8), np.array([[1, 0], [0, 0]], np.uint8)]
    reference = SegmentationScore(2, ['background', 'person'])
    for p, m in zip(preds, maps):
        evaluator.add_segmentation(p, m)
        reference.update(p, m)
    assert evaluator.segmentation_report() == reference.as_dict()
    with pytest.raises(ValueError):
        evaluator.add_segmentation(np.full((2, 2), 7, np.uint8), maps[0])


def test_luminance_inputs_are_the_backends_8_bit_ir_and_bt601_luma():
    ir16 = np.full((4, 4), 65535, np.uint16)
    rgb = np.zeros((4, 4, 3), np.uint8)
    rgb[..., 1] = 200
    ir8, luma = luminance_inputs(ir16, rgb)
    assert ir8.dtype == np.uint8 and ir8.max() == 255
    assert luma.shape == (4, 4) and int(luma[0, 0]) == round(0.587 * 200)
    grey = rgb[..., 1]
    assert luminance_inputs(ir8, grey)[1] is grey


def test_training_validation_reports_the_evaluators_figures(tmp_path):
    from tsjnet_ros.core.model.checkpoint import create_untrained_checkpoint, load_checkpoint
    from tsjnet_ros.core.model.heads.config import HEADS_PRESETS
    from tsjnet_ros.core.model.postprocess import decode_detections
    from tsjnet_ros.core.training.pair_loading import TrainingPair
    from tsjnet_ros.core.training.validation import detection_report, validate

    ckpt = create_untrained_checkpoint(
        tmp_path / 'm.pt',
        fusion_config={'image_head': 'pyramid_blend', 'work_scale': 0.5},
        heads_config=HEADS_PRESETS['rt'],
    )
    system = load_checkpoint(ckpt).system
    rng = np.random.default_rng(0)
    pairs = [
        TrainingPair(
            f'p{k}',
            'test',
            rng.random((64, 80), np.float32),
            rng.random((64, 80), np.float32),
            np.array([[10.0, 12.0, 30.0, 50.0]], np.float32) if k else None,
            np.array([0]) if k else None,
            None,
        )
        for k in range(3)
    ]
    device = torch.device('cpu')
    figures = validate(system, pairs, device, metrics=('EN', 'SSIM'), score_threshold=0.0)
    system.eval()
    expected = {'EN': [], 'SSIM': []}
    predictions, truths = [], []
    with torch.no_grad():
        for pair in pairs:
            ir, vis = (torch.from_numpy(a)[None, None] for a in (pair.ir, pair.visible))
            fusion = system.fusion(ir, vis)
            fused = fusion.fused.float().clamp(0, 1)[0, 0].numpy()
            scores = evaluate_fusion(
                np.round(pair.ir * 255.0),
                np.round(pair.visible * 255.0),
                np.round(fused * 255.0),
                ['EN', 'SSIM'],
            )
            for key in expected:
                expected[key].append(scores[key])
            if pair.boxes is not None:
                d = decode_detections(system.heads(fusion.fused).detection, 0.0, 0.6)[0]
                predictions.append(
                    ImageDetections(
                        d.boxes.float().numpy(), d.scores.float().numpy(), d.labels.numpy()
                    )
                )
                truths.append(ImageAnnotations(pair.boxes, pair.labels))
    assert set(figures) == {'EN', 'SSIM', 'mAP50'}
    for key, values in expected.items():
        assert figures[key] == pytest.approx(np.mean(values), rel=1e-12)
    reference = evaluate_detections(
        predictions,
        truths,
        list(system.detection_classes),
        iou_thresholds=(0.5,),
        score_threshold=0.3,
    )
    assert figures['mAP50'] == pytest.approx(reference.map50, nan_ok=True)
    report = detection_report(system, pairs, device, score_threshold=0.0)
    assert _same(report.as_dict(), reference.as_dict())
