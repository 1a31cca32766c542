"""Scoring a system on held-out pairs with the project's metrics library during training.

Fusion metrics (on 8-bit luminance, like ``tsjnet-eval``) for the fused image, and
detection mAP@0.5 where the pairs have boxes, accumulated by the
:class:`~tsjnet_ros.core.metrics.evaluator.PairEvaluator` the evaluation tools use. In the
single-modality comparison runs the heads see the raw IR or visible image and only mAP is
reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from tsjnet_ros.core.datasets import PairDataset
from tsjnet_ros.core.metrics.detection import DetectionReport, ImageAnnotations, ImageDetections
from tsjnet_ros.core.metrics.evaluator import PairEvaluator
from tsjnet_ros.core.model.heads.system import TSJNetSystem
from tsjnet_ros.core.model.postprocess import decode_detections
from tsjnet_ros.core.training.config import SourceConfig, ValidationConfig
from tsjnet_ros.core.training.pair_loading import TrainingPair, load_training_pairs


def load_validation_pairs(
    config: ValidationConfig,
    detection_classes: Sequence[str],
    aliases: dict[str, str],
) -> list[TrainingPair]:
    """Return the configured validation pairs (``names``, else the first ``max_pairs``).

    [] without a root.
    """
    if not config.root:
        return []
    root = Path(config.root)
    if not root.is_dir():
        raise FileNotFoundError(f'validation folder not found: {root}')
    dataset = PairDataset(root, layout=config.layout, box_source=config.box_source)
    names = list(config.names) or dataset.names[: config.max_pairs]
    missing = sorted(set(names) - set(dataset.names))
    if missing:
        raise ValueError(f'validation pair(s) not in {root}: {", ".join(missing)}')
    source = SourceConfig(
        root=str(root),
        layout=config.layout,
        box_source=config.box_source,
        exclude=[n for n in dataset.names if n not in names],
        max_side=config.max_side,
    )
    return load_training_pairs(source, dataset, list(detection_classes), aliases)


def heads_input(system: TSJNetSystem, ir: torch.Tensor, visible: torch.Tensor, input_mode: str):
    """(fusion output or None, image the heads judge) for ``input_mode`` fused/ir/visible."""
    if input_mode == 'fused':
        fusion = system.fusion(ir, visible)
        return fusion, fusion.fused
    if input_mode == 'ir':
        return None, ir
    if input_mode == 'visible':
        return None, visible
    raise ValueError(f'input_mode must be fused, ir or visible, got {input_mode!r}')


@torch.no_grad()
def evaluate_pairs(
    system: TSJNetSystem,
    pairs: Sequence[TrainingPair],
    device: torch.device,
    input_mode: str = 'fused',
    metrics: Sequence[str] = (),
    score_threshold: float = 0.05,
    nms_iou: float = 0.6,
) -> PairEvaluator:
    """Run each pair through the system once and score it in one :class:`PairEvaluator`.

    Fusion metrics (``metrics``, fused mode only) of every pair; detections of every pair
    with boxes, in pair pixels.
    """
    evaluator = PairEvaluator(metrics if input_mode == 'fused' else ())
    was_training = system.training
    system.eval()
    try:
        for pair in pairs:
            if not evaluator.metric_names and pair.boxes is None:
                continue
            ir = torch.from_numpy(pair.ir)[None, None].to(device)
            visible = torch.from_numpy(pair.visible)[None, None].to(device)
            fusion, image = heads_input(system, ir, visible, input_mode)
            if evaluator.metric_names:
                fused = fusion.fused.float().clamp(0, 1)[0, 0].cpu().numpy()
                evaluator.add_fusion(
                    np.round(pair.ir * 255.0),
                    np.round(pair.visible * 255.0),
                    np.round(fused * 255.0),
                )
            if pair.boxes is not None:
                decoded = decode_detections(
                    system.heads(image).detection, score_threshold, nms_iou
                )[0]
                evaluator.add_detections(
                    ImageDetections(
                        decoded.boxes.float().cpu().numpy(),
                        decoded.scores.float().cpu().numpy(),
                        decoded.labels.cpu().numpy(),
                    ),
                    ImageAnnotations(pair.boxes, pair.labels),
                )
    finally:
        system.train(was_training)
    return evaluator


def _detection_report(
    system: TSJNetSystem, evaluator: PairEvaluator, operating_threshold: float
) -> DetectionReport | None:
    return evaluator.detection_report(
        system.detection_classes, iou_thresholds=(0.5,), score_threshold=operating_threshold
    )


def detection_report(
    system: TSJNetSystem,
    pairs: Sequence[TrainingPair],
    device: torch.device,
    input_mode: str = 'fused',
    score_threshold: float = 0.05,
    operating_threshold: float = 0.3,
) -> DetectionReport | None:
    """Score detections on ``pairs`` at IoU 0.5; None without boxes.

    Per-class AP (detections above ``score_threshold``) and precision/recall of those above
    ``operating_threshold`` (the pipeline's default).
    """
    evaluator = evaluate_pairs(system, pairs, device, input_mode, score_threshold=score_threshold)
    return _detection_report(system, evaluator, operating_threshold)


def validate(
    system: TSJNetSystem,
    pairs: Sequence[TrainingPair],
    device: torch.device,
    input_mode: str = 'fused',
    metrics: Sequence[str] = ('SSIM', 'PSNR', 'VIF', 'Qabf', 'SF', 'CV'),
    score_threshold: float = 0.05,
) -> dict[str, float]:
    """Mean fusion metrics over ``pairs`` (fused mode) and ``mAP50`` over pairs with boxes."""
    if not pairs:
        raise ValueError('validation needs at least one pair')
    evaluator = evaluate_pairs(system, pairs, device, input_mode, metrics, score_threshold)
    result = evaluator.fusion_means()
    report = _detection_report(system, evaluator, operating_threshold=0.3)
    if report is not None:
        result['mAP50'] = report.map50
    return result
