"""The training loop.

Stages (fusion alone, then joint with the task heads), optimiser and learning-rate schedule,
AMP on CUDA, gradient clipping, resumable checkpoints, validation with the metrics library,
CSV logs, and DistributedDataParallel when run under torchrun.
"""

from __future__ import annotations

import copy
import functools
import logging
import math
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.optim.lr_scheduler import LambdaLR
from torch.optim.swa_utils import AveragedModel
from torch.utils.data import DataLoader
from tqdm import tqdm

from tsjnet_ros.core.model.checkpoint import (
    Normalization,
    build_system,
    read_checkpoint,
    save_checkpoint,
)
from tsjnet_ros.core.model.fusion_net import FusionOutput
from tsjnet_ros.core.model.heads.config import HEADS_PRESETS, HeadsConfig, heads_config_for
from tsjnet_ros.core.model.heads.detection import DetectionHeadOutput
from tsjnet_ros.core.model.heads.system import SystemOutput, TSJNetSystem
from tsjnet_ros.core.model.losses import JointLoss, LossWeights
from tsjnet_ros.core.training.augmentation import IGNORE_LABEL, PairAugmentation
from tsjnet_ros.core.training.batch_plan import epoch_batches
from tsjnet_ros.core.training.config import StageConfig, TrainConfig
from tsjnet_ros.core.training.distributed import (
    DistributedContext,
    average_across_processes,
    barrier,
    init_distributed,
    wrap_model,
)
from tsjnet_ros.core.training.pair_loading import (
    TrainingPair,
    detection_classes_from,
    load_training_pairs,
    open_source,
)
from tsjnet_ros.core.training.run_log import TrainingLog
from tsjnet_ros.core.training.training_set import PairTrainingSet, TrainingBatch, collate_items
from tsjnet_ros.core.training.validation import load_validation_pairs, validate
from tsjnet_ros.core.training.weak_masks import segmentation_ids_for

logger = logging.getLogger('tsjnet_ros.training')

LOSS_TERMS = [
    'total',
    'intensity',
    'gradient',
    'ssim',
    'fidelity',
    'diversity',
    'reconstruction',
    'segmentation',
    'detection',
]
FUSION_TERMS = (
    'intensity',
    'gradient',
    'ssim',
    'fidelity',
    'diversity',
    'reconstruction_visible',
    'reconstruction_ir',
)
STATE_FILE = 'training_state.pt'
LATEST_CHECKPOINT = 'checkpoint_latest.pt'


class SystemStep(nn.Module):
    """What one training forward runs, as a module DDP can wrap.

    The full system on the fused image, or (``input_mode`` ir/visible) the task heads
    directly on one modality.
    """

    def __init__(self, system: TSJNetSystem, input_mode: str) -> None:
        super().__init__()
        self.system = system
        self.input_mode = input_mode

    def forward(
        self,
        ir: torch.Tensor,
        visible: torch.Tensor,
        run_heads: bool,
        reconstruct: bool,
        train_fusion: bool = True,
    ) -> SystemOutput:
        if self.input_mode == 'fused' and not train_fusion:
            with torch.no_grad():  # a frozen fusion network only feeds the heads
                fusion = self.system.fusion(ir, visible)
            heads = self.system.heads(fusion.fused) if run_heads else None
            return SystemOutput(
                fusion, heads and heads.segmentation_logits, heads and heads.detection
            )
        if self.input_mode == 'fused':
            return self.system(ir, visible, run_heads=run_heads, reconstruct=reconstruct)
        image = ir if self.input_mode == 'ir' else visible
        heads = self.system.heads(image)
        return SystemOutput(FusionOutput(image, None), heads.segmentation_logits, heads.detection)


def _select_detection(prediction: DetectionHeadOutput, index: list[int]) -> DetectionHeadOutput:
    pick = torch.as_tensor(index, device=prediction.cls_logits[0].device)
    return DetectionHeadOutput(
        [c.index_select(0, pick) for c in prediction.cls_logits],
        [d.index_select(0, pick) for d in prediction.box_distances],
        [c.index_select(0, pick) for c in prediction.centerness],
        prediction.strides,
        prediction.scale,
        prediction.image_size,
    )


def _has_labels(segmentation: torch.Tensor | None) -> bool:
    return segmentation is not None and bool((segmentation != IGNORE_LABEL).any())


def _zero_like_outputs(out: SystemOutput) -> torch.Tensor:
    parts = [out.segmentation_logits.sum()] if out.segmentation_logits is not None else []
    if out.detection is not None:
        parts += [
            t.sum()
            for t in (
                *out.detection.cls_logits,
                *out.detection.box_distances,
                *out.detection.centerness,
            )
        ]
    return torch.stack(parts).sum() * 0.0


def ema_average(decay: float, ramp_steps: float = 2000.0):
    """Return the EMA update for ``AveragedModel``.

    Weight ``decay * (1 - exp(-n / ramp_steps))`` on the average after n updates, so early
    averages follow the fast-changing weights (as YOLOv5's ModelEMA).
    """

    def average(
        averaged: torch.Tensor, current: torch.Tensor, num_averaged: torch.Tensor
    ) -> torch.Tensor:
        d = decay * (1.0 - math.exp(-float(num_averaged) / ramp_steps))
        return averaged * d + current * (1.0 - d)

    return average


def stage_at(stages: list[StageConfig], step: int) -> tuple[StageConfig, int]:
    """Return the stage that global ``step`` (0-based) falls in, and the step within it."""
    start = 0
    for stage in stages:
        if step < start + stage.steps:
            return stage, step - start
        start += stage.steps
    return stages[-1], stages[-1].steps - 1


def lr_schedule(
    optimizer: torch.optim.Optimizer, config: TrainConfig, last_step: int = -1
) -> LambdaLR:
    """Return Torch's :class:`LambdaLR` following the configured stages.

    It is set to the rate of step ``last_step + 1`` (``-1``: a new run).

    Per stage: a linear warm-up over ``warmup_steps`` to the stage's ``lr`` (or
    ``optimizer.lr``), then cosine decay to ``min_lr_ratio`` of it at the stage's end
    (SGDR, Loshchilov & Hutter 2017, without restarts inside a stage). The group named
    ``fusion`` gets ``fusion_lr_scale`` of that rate. Call ``step()`` after each step.
    """
    base = config.optimizer.lr

    def factor(step: int, fusion: bool) -> float:
        stage, local = stage_at(config.stages, step)
        peak = (stage.lr if stage.lr is not None else base) / base
        if local < stage.warmup_steps:
            shape = (local + 1) / stage.warmup_steps
        else:
            t = min(1.0, (local - stage.warmup_steps) / max(1, stage.steps - stage.warmup_steps))
            low = config.optimizer.min_lr_ratio
            shape = low + (1.0 - low) * 0.5 * (1.0 + math.cos(math.pi * t))
        return peak * shape * (stage.fusion_lr_scale if fusion else 1.0)

    for group in optimizer.param_groups:
        group['initial_lr'] = base
    lambdas = [
        functools.partial(factor, fusion=group.get('name') == 'fusion')
        for group in optimizer.param_groups
    ]
    return LambdaLR(optimizer, lambdas, last_epoch=last_step)


def resolve_heads_config(config: TrainConfig, detection_classes: list[str]) -> HeadsConfig:
    if config.heads_preset is None:
        heads = heads_config_for(config.variant)
    elif config.heads_preset in HEADS_PRESETS:
        heads = HEADS_PRESETS[config.heads_preset]
    else:
        raise ValueError(
            f'unknown heads_preset {config.heads_preset!r}; known: {", ".join(HEADS_PRESETS)}'
        )
    if config.heads_overrides:
        heads = HeadsConfig.from_dict({**heads.to_dict(), **config.heads_overrides})
    return heads.with_classes(
        detection_classes, config.segmentation_classes or heads.segmentation_classes
    )


@dataclass
class TrainResult:
    """Summary of a finished run (on the main process)."""

    steps: int
    first_losses: dict[str, float] = field(default_factory=dict)
    last_losses: dict[str, float] = field(default_factory=dict)
    validation: dict[str, float] = field(default_factory=dict)
    export_path: Path | None = None
    run_dir: Path | None = None


class Trainer:
    """Builds data, system and optimiser from a :class:`TrainConfig` and runs :meth:`fit`.

    ``resume``: continue from ``output_dir/training_state.pt`` when it exists.
    """

    def __init__(
        self, config: TrainConfig, context: DistributedContext | None = None, resume: bool = True
    ) -> None:
        self.config = config
        self.context = context or init_distributed(config.device)
        self.device = self.context.device
        self.run_dir = Path(config.output_dir)
        self.resume = resume
        if config.threads:
            torch.set_num_threads(int(config.threads))
        torch.manual_seed(config.seed + self.context.rank)

        datasets = [open_source(s) for s in config.data.sources]
        aliases = config.data.class_aliases
        det_classes = list(config.detection_classes or detection_classes_from(datasets, aliases))
        self.heads_config = resolve_heads_config(config, det_classes)
        pairs: list[TrainingPair] = []
        repeats: list[int] = []
        for source, dataset in zip(config.data.sources, datasets):
            loaded = load_training_pairs(source, dataset, det_classes, aliases)
            pairs += loaded
            repeats += [source.repeat] * len(loaded)
        if not pairs:
            raise ValueError('the data sources hold no pairs once exclusions are applied')
        seg_classes = list(self.heads_config.segmentation_classes)
        weak = config.data.weak_masks
        background = [c.lower() for c in seg_classes]
        if weak.enabled and weak.background_class.lower() not in background:
            raise ValueError(
                f'weak_masks.background_class {weak.background_class!r} is not in {seg_classes}'
            )
        self.train_set = PairTrainingSet(
            pairs,
            PairAugmentation(config.data.augmentation, config.data.crop_size),
            config.seed,
            repeats,
            weak,
            segmentation_ids_for(det_classes, seg_classes, weak.class_map),
            background.index(weak.background_class.lower()) if weak.enabled else 0,
        )
        self.data_summary = [
            {
                'root': s.root,
                'pairs': sum(1 for p in pairs if p.source == s.root),
                'boxes': d.has_boxes,
                'segmentation_labels': d.has_segmentation,
                'repeat': s.repeat,
                'excluded': list(s.exclude),
            }
            for s, d in zip(config.data.sources, datasets)
        ]
        self.weak_masks_used = bool(
            weak.enabled and any(p.segmentation is None and p.boxes is not None for p in pairs)
        )
        self.val_pairs = (
            load_validation_pairs(config.validation, det_classes, aliases)
            if self.context.is_main
            else []
        )

        self.system = build_system(
            config.variant, config.fusion_config, self.heads_config, seed=config.seed
        )
        if config.init_checkpoint and not (resume and (self.run_dir / STATE_FILE).is_file()):
            self._load_init(Path(config.init_checkpoint), config.init_parts)
        self.system.to(self.device)
        self.step_module = wrap_model(SystemStep(self.system, config.input_mode), self.context)
        fusion_params = [p for p in self.system.fusion.parameters() if p.requires_grad]
        heads_params = [p for p in self.system.heads.parameters() if p.requires_grad]
        groups = [{'params': heads_params, 'name': 'heads'}]
        if config.input_mode == 'fused':
            groups.insert(0, {'params': fusion_params, 'name': 'fusion'})
        opt = config.optimizer
        optimizer_cls = torch.optim.AdamW if opt.name == 'adamw' else torch.optim.Adam
        self.optimizer = optimizer_cls(
            groups, lr=opt.lr, betas=opt.betas, weight_decay=opt.weight_decay
        )
        self.use_amp = bool(config.amp and self.device.type == 'cuda')
        self.scaler = torch.amp.GradScaler('cuda', enabled=self.use_amp)
        self.ema = None
        if config.ema_decay:
            self.ema = AveragedModel(
                self.system, avg_fn=ema_average(config.ema_decay), use_buffers=True
            )
        self.step = 0
        self.epoch = 0
        self.batch_in_epoch = 0
        if resume and (self.run_dir / STATE_FILE).is_file():
            self._load_state(self.run_dir / STATE_FILE)
        self.scheduler = lr_schedule(self.optimizer, config, self.step - 1)

    # -- setup helpers --------------------------------------------------------------------
    def _loss_for(self, stage: StageConfig) -> JointLoss:
        weights = {**self.config.loss_weights, **stage.loss_weights}
        if self.config.input_mode != 'fused':
            weights.update({name: 0.0 for name in FUSION_TERMS})
        return JointLoss(
            LossWeights.from_dict(weights),
            self.heads_config.scale_ranges,
            self.heads_config.center_radius,
        )

    def _load_init(self, path: Path, parts: list[str]) -> None:
        """Copy the ``parts`` of a checkpoint's weights into the new system (shapes must match)."""
        stored = read_checkpoint(path)['state_dict']
        own = self.system.state_dict()
        prefixes = tuple(f'{part}.' for part in parts)
        wanted = {k for k in own if k.startswith(prefixes)}
        missing = sorted(k for k in wanted if k not in stored)
        mismatched = sorted(k for k in wanted if k in stored and stored[k].shape != own[k].shape)
        if missing or mismatched:
            raise ValueError(
                f'init_checkpoint {path} does not fit the configured {"/".join(parts)}: '
                f'{len(missing)} missing, {len(mismatched)} of other shape '
                f'(e.g. {(missing + mismatched)[:3]})'
            )
        self.system.load_state_dict({k: stored[k].to(own[k].dtype) for k in wanted}, strict=False)
        logger.info('initialised %s from %s (%d tensors)', ' and '.join(parts), path, len(wanted))

    # -- state ------------------------------------------------------------------------------
    def _save_state(self) -> None:
        state = {
            'step': self.step,
            'epoch': self.epoch,
            'batch_in_epoch': self.batch_in_epoch,
            'model': self.system.state_dict(),
            'optimizer': self.optimizer.state_dict(),
            'scaler': self.scaler.state_dict(),
            'torch_rng': torch.get_rng_state(),
            'config': self.config.to_dict(),
        }
        if self.ema is not None:
            state['ema'] = self.ema.state_dict()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.run_dir / (STATE_FILE + '.partial')
        torch.save(state, tmp)
        tmp.replace(self.run_dir / STATE_FILE)
        self.export(self.run_dir / LATEST_CHECKPOINT)

    def _load_state(self, path: Path) -> None:
        state = torch.load(path, map_location='cpu', weights_only=True)
        self.system.load_state_dict(state['model'])
        self.optimizer.load_state_dict(state['optimizer'])
        self.scaler.load_state_dict(state['scaler'])
        if self.ema is not None and 'ema' in state:
            self.ema.load_state_dict(state['ema'])
        self.step, self.epoch, self.batch_in_epoch = (
            state['step'],
            state['epoch'],
            state['batch_in_epoch'],
        )
        if self.context.is_main:
            torch.set_rng_state(state['torch_rng'])
        else:
            torch.manual_seed(self.config.seed + self.context.rank + 7919 * self.step)
        logger.info('resumed from %s at step %d', path, self.step)

    def export(self, path: Path, extra: dict[str, Any] | None = None) -> Path:
        """Write the system as a deployable checkpoint.

        The EMA weights are written when ``ema_decay`` is set; fp16 weights when
        ``export_half``.
        """
        system = copy.deepcopy(self.deployed_system).cpu().eval()
        if self.config.export_half:
            system = system.half()
        metadata = {
            'trained': True,
            'steps': self.step,
            'input_mode': self.config.input_mode,
            'stages': [
                {'name': s.name, 'steps': s.steps, 'heads': s.heads} for s in self.config.stages
            ],
            'data': self.data_summary,
            'weak_segmentation_masks': self.weak_masks_used,
            'seed': self.config.seed,
            'crop_size': list(self.config.data.crop_size),
            'batch_size': self.config.data.batch_size,
            'world_size': self.context.world_size,
            'weights_dtype': 'float16' if self.config.export_half else 'float32',
        }
        metadata.update(extra or {})
        return save_checkpoint(system, path, Normalization(), metadata)

    @property
    def deployed_system(self) -> TSJNetSystem:
        """What validation scores and export writes.

        The EMA weights when kept, else the live ones.
        """
        return self.system if self.ema is None else self.ema.module

    # -- training ---------------------------------------------------------------------------
    def train_step(
        self, batch: TrainingBatch, stage: StageConfig, loss_fn: JointLoss
    ) -> dict[str, float]:
        """One optimiser step; returns the (unweighted-by-process) loss terms."""
        self.step_module.train()
        train_fusion = stage.fusion_lr_scale > 0
        if not train_fusion:
            self.system.fusion.eval()  # frozen: its normalisation statistics stay as trained
        batch = batch.to(self.device)
        w = loss_fn.weights
        reconstruct = (
            train_fusion
            and self.config.input_mode == 'fused'
            and bool(w.reconstruction_ir or w.reconstruction_visible)
        )
        with torch.autocast(self.device.type, dtype=torch.float16, enabled=self.use_amp):
            out = self.step_module(batch.ir, batch.visible, stage.heads, reconstruct, train_fusion)
        segmentation = batch.segmentation if stage.heads and w.segmentation else None
        targets = None
        if stage.heads and w.detection:
            index = [i for i, t in enumerate(batch.targets) if t is not None]
            if index:
                targets = [batch.targets[i] for i in index]
                if len(index) < batch.ir.shape[0]:
                    out = replace(out, detection=_select_detection(out.detection, index))
        if self.config.input_mode != 'fused' and targets is None and not _has_labels(segmentation):
            # Heads-only run on a batch without labels: a zero loss keeps every process in step.
            terms = {'total': _zero_like_outputs(out)}
        else:
            terms = loss_fn(out, batch.ir, batch.visible, segmentation, targets)
        total = terms['total']
        self.optimizer.zero_grad(set_to_none=True)
        if not torch.isfinite(total):
            logger.warning('step %d: non-finite loss %s, update skipped', self.step, float(total))
        else:
            self.scaler.scale(total).backward()
            if self.config.optimizer.grad_clip:
                self.scaler.unscale_(self.optimizer)
                nn.utils.clip_grad_norm_(self.system.parameters(), self.config.optimizer.grad_clip)
            self.scaler.step(self.optimizer)
            self.scaler.update()
            if self.ema is not None:
                self.ema.update_parameters(self.system)
        return {k: float(v.detach()) for k, v in terms.items()}

    def _run_validation(self, log: TrainingLog | None) -> dict[str, float]:
        if not self.val_pairs:
            return {}
        val = self.config.validation
        metrics = validate(
            self.deployed_system,
            self.val_pairs,
            self.device,
            self.config.input_mode,
            val.metrics,
            val.score_threshold,
        )
        if log is not None:
            log.log_validation({'step': self.step, **metrics})
        logger.info(
            'step %d validation: %s', self.step, {k: round(v, 4) for k, v in metrics.items()}
        )
        return metrics

    def fit(self, stop_after: int | None = None) -> TrainResult:
        """Train to the configured number of steps (from wherever a resumed run stands).

        ``stop_after``: stop (with a saved state, as if interrupted) once this global step is
        reached; the schedule still follows the full configured length.
        """
        config, ctx = self.config, self.context
        total = config.total_steps
        end = total if stop_after is None else min(total, int(stop_after))
        log = None
        if ctx.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            log = TrainingLog(self.run_dir, LOSS_TERMS, ['mAP50', *config.validation.metrics])
        result = TrainResult(steps=self.step, run_dir=self.run_dir)
        losses_by_stage = {s.name: self._loss_for(s) for s in config.stages}
        progress = tqdm(
            total=total,
            initial=self.step,
            disable=not (ctx.is_main and config.progress),
            desc='train',
            dynamic_ncols=True,
            file=sys.stderr,
        )
        window: dict[str, list[float]] = {}
        started = time.perf_counter()
        try:
            while self.step < end:
                self.train_set.set_epoch(self.epoch)
                plan = epoch_batches(
                    len(self.train_set),
                    config.data.batch_size,
                    config.seed,
                    self.epoch,
                    ctx.rank,
                    ctx.world_size,
                )
                # Own generator: a new loader must not draw from the global RNG (drop-path uses
                # it), or a resumed run would diverge from an uninterrupted one.
                loader = DataLoader(
                    self.train_set,
                    batch_sampler=plan[self.batch_in_epoch :],
                    collate_fn=collate_items,
                    num_workers=config.data.num_workers,
                    generator=torch.Generator().manual_seed(config.seed + self.epoch),
                )
                for batch in loader:
                    stage, _ = stage_at(config.stages, self.step)
                    lr = self.optimizer.param_groups[-1]['lr']  # the heads' rate
                    terms = self.train_step(batch, stage, losses_by_stage[stage.name])
                    if not result.first_losses:
                        result.first_losses = dict(terms)
                    for key, value in terms.items():
                        window.setdefault(key, []).append(value)
                    self.step += 1
                    self.scheduler.step()
                    self.batch_in_epoch += 1
                    progress.update(1)
                    if self.step % config.log_every == 0 or self.step in (total, end):
                        means = average_across_processes(
                            {k: float(np.mean(v)) for k, v in window.items()}, ctx
                        )
                        window = {}
                        result.last_losses = means
                        progress.set_postfix(
                            stage=stage.name, loss=f'{means.get("total", float("nan")):.3f}'
                        )
                        if log is not None:
                            log.log_train(
                                {
                                    'step': self.step,
                                    'epoch': self.epoch,
                                    'stage': stage.name,
                                    'lr': lr,
                                    'seconds': time.perf_counter() - started,
                                    **means,
                                }
                            )
                    if ctx.is_main and (
                        self.step % config.checkpoint_every == 0 or self.step in (total, end)
                    ):
                        self._save_state()
                    if (
                        ctx.is_main
                        and config.validation.every
                        and self.step % config.validation.every == 0
                        and self.step < total
                    ):  # the final validation follows the loop
                        result.validation = self._run_validation(log)
                    if self.step >= end:
                        break
                else:
                    self.epoch += 1
                    self.batch_in_epoch = 0
            if ctx.is_main and self.step >= total:
                result.validation = self._run_validation(log) or result.validation
                if config.export_path:
                    extra = {'validation': result.validation, 'final_losses': result.last_losses}
                    result.export_path = self.export(Path(config.export_path), extra)
            barrier(ctx)
        finally:
            progress.close()
            if log is not None:
                log.close()
        result.steps = self.step
        return result
