"""Inference API of the neural system: camera frames in, fused image + detections + classes out.

This is what the ROS node, the evaluation tool and the bag tools call. Everything that
turns raw frames into tensors and tensors back into camera-frame results lives here:

* IR: uint8 /255; uint16 by a fixed count range or smoothed percentiles (see
  :class:`~tsjnet_ros.core.image.color.InfraredScaler`); visible: luminance Y of full-range YCbCr.
* Fused luminance: clamp to [0, 1] times 255, the same mapping for every frame, so video
  does not flicker (the reference inference min-max stretches each frame; we do not,
  unless the normalisation's ``convention`` is ``"authors"``).
* Fused colour: the visible Cb/Cr under the fused Y (grey for a mono visible camera).
* Detections and the segmentation map are returned in ORIGINAL camera pixels.

On CPU in fp32 the pipeline runs the network's inference form (folded norms, Winograd
3x3 convs, the preferred memory layout; see :mod:`~tsjnet_ros.core.model.inference_form`)
and sets PyTorch's intra-op thread
count from the CPUs this process may use (:mod:`~tsjnet_ros.core.runtime.cpu_threads`).
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from tsjnet_ros.core.image.color import InfraredScaler, luminance_and_chroma, merge_luminance
from tsjnet_ros.core.image.resize import resize_image
from tsjnet_ros.core.model.blocks.resnest_banded import BandedResNeStStage
from tsjnet_ros.core.model.checkpoint import FusionBuilder, Normalization, load_checkpoint
from tsjnet_ros.core.model.heads.system import TSJNetSystem
from tsjnet_ros.core.model.inference_form import band_bytes_from_mb, inference_copy
from tsjnet_ros.core.model.postprocess import (
    decode_detections,
    segmentation_class_map,
    to_detection_list,
)
from tsjnet_ros.core.runtime.cpu_threads import choose_cpu_threads
from tsjnet_ros.core.runtime.large_buffers import release_free_heap
from tsjnet_ros.core.types.fusion_result import FusionResult

logger = logging.getLogger('tsjnet_ros')

PRECISIONS = {'fp32': torch.float32, 'bf16': torch.bfloat16, 'fp16': torch.float16}
DEFAULT_WARMUP_SIZE = (480, 640)
CPU_WARMUP_SIZE = (64, 64)  # eager CPU: nothing size-bound to prepare (see warmup)


def resolve_device(device: str | torch.device) -> torch.device:
    """``"auto"`` -> first CUDA device if there is one, else CPU; validates explicit choices."""
    name = str(device)
    if name == 'auto':
        return torch.device('cuda:0' if torch.cuda.is_available() else 'cpu')
    try:
        dev = torch.device(name)
    except RuntimeError as exc:
        raise ValueError(f"invalid device {name!r}; use 'auto', 'cpu' or 'cuda:N'") from exc
    if dev.type == 'cpu':
        return dev
    if dev.type != 'cuda':
        raise ValueError(f"unsupported device {name!r}; use 'auto', 'cpu' or 'cuda:N'")
    if not torch.cuda.is_available():
        raise ValueError(
            f"device {name!r} requested but CUDA is not available; use 'auto' or 'cpu'"
        )
    index = 0 if dev.index is None else dev.index
    if index >= torch.cuda.device_count():
        raise ValueError(
            f'device {name!r} requested but only {torch.cuda.device_count()} CUDA device(s) exist'
        )
    return torch.device('cuda', index)


def _check_visible(visible: Any) -> np.ndarray:
    if not isinstance(visible, np.ndarray):
        raise TypeError(f'visible image must be a numpy array, got {type(visible).__name__}')
    if visible.ndim == 3 and visible.shape[2] == 1:
        visible = visible[..., 0]
    if visible.ndim not in (2, 3) or (visible.ndim == 3 and visible.shape[2] != 3):
        raise ValueError(f'visible image must be HxW mono or HxWx3 RGB, got shape {visible.shape}')
    if visible.dtype != np.uint8:
        raise TypeError(f'visible image must be uint8, got dtype {visible.dtype}')
    return visible


def _check_ir(ir: Any) -> np.ndarray:
    if not isinstance(ir, np.ndarray):
        raise TypeError(f'infrared image must be a numpy array, got {type(ir).__name__}')
    if ir.ndim == 3 and ir.shape[2] == 1:
        ir = ir[..., 0]
    if ir.ndim != 2:
        raise ValueError(
            f'infrared image must be HxW single-channel (8 or 16 bit), got shape {ir.shape}; '
            'convert 3-channel grey files to one channel first'
        )
    return ir


def _authors_visible(luma: np.ndarray) -> np.ndarray:
    """Return the authors' visible input: 8-bit grayscale rounded to integers, over 255."""
    return np.round(luma * 255.0) / 255.0


def _to_uint8(fused: torch.Tensor, size: tuple[int, int], authors: bool) -> np.ndarray:
    """(1, 1, h, w) network output -> HxW uint8 at camera ``size``.

    Clamp and round (stable), or the authors' per-frame min-max stretch, bilinear resize and
    truncation.
    """
    if authors:
        low, high = fused.amin(), fused.amax()
        fused = (fused - low) / (high - low).clamp_min(torch.finfo(fused.dtype).tiny)
    else:
        fused = fused.clamp(0.0, 1.0)
    if tuple(size) != tuple(fused.shape[-2:]):
        fused = F.interpolate(fused, size=size, mode='bilinear', align_corners=False)
    if authors:
        return (fused[0, 0] * 255.0).clamp(0.0, 255.0).to(torch.uint8).cpu().numpy()
    return (fused[0, 0] * 255.0 + 0.5).to(torch.uint8).cpu().numpy()


def _log_band_use(
    system: TSJNetSystem, band_mb: int, optimized: bool, device: torch.device, precision: str
) -> None:
    """Say whether ``cpu_band_mb`` changed anything: it applies to one path and two models."""
    stages = sum(isinstance(m, BandedResNeStStage) for m in system.modules())
    if stages:
        logger.info('cpu_band_mb %d: %d ResNeSt stage(s) run in row bands', band_mb, stages)
    elif not optimized:
        logger.warning(
            'cpu_band_mb %d is ignored: row bands are part of the CPU fp32 inference form, '
            'and this pipeline runs on %s in %s%s',
            band_mb,
            device,
            precision,
            '' if device.type != 'cpu' or precision != 'fp32' else ' without it (optimize off)',
        )
    else:
        logger.warning(
            'cpu_band_mb %d is ignored: %s has no full-resolution ResNeSt stage to band '
            '(tsjnet and tsjnet_official have them)',
            band_mb,
            system.variant,
        )


def _inference_copy(system: TSJNetSystem, band_mb: int = 0) -> TSJNetSystem:
    """Return ``system`` with the inference form of its fusion network and heads.

    ``band_mb`` > 0 runs full-resolution ResNeSt stages in row bands of that size. The
    caller's system is left as it was (the copy shares nothing it would change).
    """
    fast = copy.copy(system)
    fast._modules = dict(system._modules)  # a shallow copy would share the children table
    fast.fusion = inference_copy(system.fusion, band_bytes=band_bytes_from_mb(band_mb))
    if system.heads is not None:
        fast.heads = inference_copy(system.heads)
    return fast


class FusionPipeline:
    """Runs a :class:`TSJNetSystem` on numpy camera frames.

    Build it with :meth:`from_checkpoint`. It is stateful only through the 16-bit IR
    percentile smoothing (call :meth:`reset` between unrelated streams).
    """

    def __init__(
        self,
        system: TSJNetSystem,
        normalization: Normalization | None = None,
        device: str | torch.device = 'auto',
        precision: str = 'fp32',
        compile: bool = False,
        score_threshold: float = 0.3,
        nms_iou: float = 0.6,
        max_detections: int = 100,
        warmup: bool = True,
        warmup_size: tuple[int, int] | None = None,
        optimize: bool = True,
        cpu_threads: int = 0,
        cpu_band_mb: int = 0,
        ir_scaler: InfraredScaler | None = None,
        inference_size: tuple[int, int] | None = None,
    ) -> None:
        if not isinstance(system, TSJNetSystem):
            raise TypeError(f'system must be a TSJNetSystem, got {type(system).__name__}')
        if precision not in PRECISIONS:
            raise ValueError(
                f'precision must be one of {", ".join(PRECISIONS)}, got {precision!r}'
            )
        self.device = resolve_device(device)
        if self.device.type == 'cpu' and precision == 'fp16':
            logger.warning('fp16 is not supported on CPU; running in fp32')
            precision = 'fp32'
        self.precision = precision
        self.normalization = normalization or Normalization()
        if inference_size is not None and any(inference_size):
            # the caller's size (a big camera run smaller) replaces the checkpoint's
            self.normalization = replace(self.normalization, inference_size=tuple(inference_size))
        self.score_threshold = float(score_threshold)
        self.nms_iou = float(nms_iou)
        self.max_detections = int(max_detections)
        self.cpu_threads = None
        if self.device.type == 'cpu':
            self.cpu_threads = choose_cpu_threads(cpu_threads)
            torch.set_num_threads(self.cpu_threads)  # process-wide: PyTorch has one intra-op pool
        self.system = system.to(self.device).eval()
        self.optimized = bool(optimize) and self.device.type == 'cpu' and precision == 'fp32'
        if not isinstance(cpu_band_mb, int) or cpu_band_mb < 0:
            raise ValueError(
                f'cpu_band_mb must be an int >= 0 (0 = whole maps), got {cpu_band_mb!r}'
            )
        if self.optimized:
            self.system = _inference_copy(self.system, cpu_band_mb)
        if cpu_band_mb:
            _log_band_use(self.system, cpu_band_mb, self.optimized, self.device, precision)
        self._forward = torch.compile(self.system) if compile else self.system
        self.compiled = bool(compile)
        # a caller's scaler (a known camera range) replaces the checkpoint's IR settings
        self._ir_scaler = ir_scaler or self.normalization.make_ir_scaler()
        if self.device.type == 'cuda':
            where = f'CUDA device {self.device} ({torch.cuda.get_device_name(self.device)})'
        else:
            where = 'CPU' + ('' if torch.cuda.is_available() else ' (CUDA not available)')
        logger.info(
            'FusionPipeline: %s on %s, precision %s%s%s%s',
            system.variant,
            where,
            precision,
            ', inference-optimized' if self.optimized else '',
            ', torch.compile' if compile else '',
            f', {self.cpu_threads} CPU thread(s)' if self.cpu_threads else '',
        )
        if system.heads is None:
            logger.info(
                'FusionPipeline: %s is fusion-only (the checkpoint has no task heads): '
                'publishing the fused image; detections and segmentation are off',
                system.variant,
            )
        if warmup:
            self.warmup(warmup_size)

    @classmethod
    def from_checkpoint(
        cls,
        path: str | Path,
        device: str = 'auto',
        precision: str = 'fp32',
        compile: bool = False,
        fusion_builder: FusionBuilder | None = None,
        **kwargs: Any,
    ) -> FusionPipeline:
        """Load a checkpoint written by :func:`save_checkpoint` and warm the model up.

        The authors' TSJNet file is accepted too, converted on load into a fusion-only
        ``tsjnet_official``.

        Extra keyword arguments go to the constructor (``score_threshold``, ``nms_iou``,
        ``max_detections``, ``warmup``, ``warmup_size``, ``optimize``, ``cpu_threads`` (0 = auto;
        PyTorch's thread count is process-wide), ``cpu_band_mb`` (0 = whole maps; else the
        row-band size of full-resolution ResNeSt stages: lower peak memory, slower),
        ``normalization`` to override the stored one).
        """
        loaded = load_checkpoint(path, fusion_builder=fusion_builder)
        normalization = kwargs.pop('normalization', None) or loaded.normalization
        pipeline = cls(
            loaded.system,
            normalization,
            device=device,
            precision=precision,
            compile=compile,
            **kwargs,
        )
        del loaded  # with the model it was made from gone, its memory can be handed back
        release_free_heap()  # loading and the inference copy leave their temporaries there
        return pipeline

    @property
    def variant(self) -> str:
        return self.system.variant

    @property
    def class_names(self) -> list[str]:
        """Detection class table (``Detection.class_id`` indexes it)."""
        return list(self.system.detection_classes)

    @property
    def segmentation_classes(self) -> list[str]:
        """Segmentation class table (values of ``FusionResult.segmentation`` index it)."""
        return list(self.system.segmentation_classes)

    def reset(self) -> None:
        """Forget the 16-bit IR range smoothing (start of a new stream)."""
        self._ir_scaler.reset()

    def _autocast(self):
        enabled = self.precision != 'fp32'
        return torch.autocast(self.device.type, dtype=PRECISIONS[self.precision], enabled=enabled)

    def _sync(self) -> None:
        if self.device.type == 'cuda':
            torch.cuda.synchronize(self.device)

    def warmup(self, size: tuple[int, int] | None = None, iterations: int = 2) -> None:
        """Run the model on blank frames so the first real frame pays no start-up cost.

        The costs are the CUDA context, kernel selection and ``torch.compile``, all tied to
        the frame size. Eager CPU inference has none of them, so without ``size`` it runs
        once at :data:`CPU_WARMUP_SIZE` (thread pool and lazy set-up only): a full-size pass
        of the paper model would take most of a minute. IR smoothing is untouched.
        """
        if size is None and self.device.type == 'cpu' and not self.compiled:
            size, iterations = CPU_WARMUP_SIZE, 1
        h, w = size or self.normalization.inference_size or DEFAULT_WARMUP_SIZE
        # Two distinct tensors: passing one object twice would make a compiled model
        # specialise on aliased inputs and recompile for real frames.
        ir = torch.zeros(1, 1, int(h), int(w), device=self.device)
        visible = torch.zeros_like(ir)
        start = time.perf_counter()
        for _ in range(max(1, iterations)):
            self._infer(ir, visible)
        self._sync()
        logger.info(
            'FusionPipeline: warm-up at %dx%d took %.0f ms',
            w,
            h,
            (time.perf_counter() - start) * 1e3,
        )

    def _infer(self, ir: torch.Tensor, visible: torch.Tensor):
        with torch.inference_mode(), self._autocast():
            out = self._forward(ir, visible)
            if out.detection is None:
                return out, None
            detections = decode_detections(
                out.detection,
                self.score_threshold,
                self.nms_iou,
                max_detections=self.max_detections,
            )
        return out, detections

    def __call__(self, ir: np.ndarray, visible: np.ndarray) -> FusionResult:
        return self.process(ir, visible)

    def process(self, ir: np.ndarray, visible: np.ndarray) -> FusionResult:
        """Fuse one registered pair: ``ir`` HxW uint8/uint16, ``visible`` HxW or HxWx3 uint8."""
        return self.process_batch([ir], [visible])[0]

    def process_batch(
        self, irs: Sequence[np.ndarray], visibles: Sequence[np.ndarray]
    ) -> list[FusionResult]:
        """Fuse several pairs in one forward pass.

        All pairs must share one size (or the checkpoint must fix ``inference_size``). Frames
        are taken in order for IR smoothing.
        """
        if len(irs) != len(visibles):
            raise ValueError(f'got {len(irs)} infrared and {len(visibles)} visible frames')
        if len(irs) == 0:
            raise ValueError('process_batch needs at least one pair')
        t0 = time.perf_counter()
        authors = self.normalization.convention == 'authors'
        ir_units, vis_lumas, chromas, sizes = [], [], [], []
        for ir, visible in zip(irs, visibles):
            ir = _check_ir(ir)
            visible = _check_visible(visible)
            if ir.shape[:2] != visible.shape[:2]:
                raise ValueError(
                    f'infrared {ir.shape[1]}x{ir.shape[0]} '
                    f'and visible {visible.shape[1]}x{visible.shape[0]} '
                    'differ in size; register/resize them to one size first'
                )
            luma, chroma = luminance_and_chroma(visible)
            if authors:
                luma = _authors_visible(luma)
            ir_unit = self._ir_scaler(ir)
            net_size = self.normalization.inference_size or ir.shape[:2]
            interpolation = (
                'bilinear' if authors else 'auto'
            )  # the authors' script resizes bilinearly
            ir_units.append(resize_image(ir_unit, net_size, interpolation))
            vis_lumas.append(resize_image(luma, net_size, interpolation))
            chromas.append(chroma)
            sizes.append(ir.shape[:2])
        if len({u.shape for u in ir_units}) != 1:
            raise ValueError(
                f'batch frames differ in size {sorted({u.shape for u in ir_units})}; '
                'batch only same-size pairs or set an inference_size'
            )
        # unsqueeze (not numpy [:, None]) keeps the strides of a contiguous (B, 1, H, W)
        # tensor, so a compiled model does not recompile after the warm-up.
        ir_t = torch.from_numpy(np.stack(ir_units)).unsqueeze(1).to(self.device, non_blocking=True)
        vis_t = (
            torch.from_numpy(np.stack(vis_lumas)).unsqueeze(1).to(self.device, non_blocking=True)
        )
        net_size = tuple(ir_units[0].shape)
        self._sync()
        t1 = time.perf_counter()

        out, decoded = self._infer(ir_t, vis_t)
        self._sync()
        t2 = time.perf_counter()

        results = []
        with torch.inference_mode():
            fused = out.fused.float()
            for i, size in enumerate(sizes):
                fused_u8 = _to_uint8(fused[i : i + 1], tuple(size), authors)
                seg, dets = None, []
                if out.segmentation_logits is not None:
                    seg = (
                        segmentation_class_map(out.segmentation_logits[i : i + 1], size)[0]
                        .cpu()
                        .numpy()
                    )
                if decoded is not None:
                    dets = to_detection_list(decoded[i], self.class_names, net_size, size)
                results.append(
                    FusionResult(fused_u8, merge_luminance(fused_u8, chromas[i]), dets, seg)
                )
        t3 = time.perf_counter()
        timings = {
            'preprocess_ms': (t1 - t0) * 1e3,
            'inference_ms': (t2 - t1) * 1e3,
            'postprocess_ms': (t3 - t2) * 1e3,
            'total_ms': (t3 - t0) * 1e3,
            'batch_size': float(len(results)),
        }
        for r in results:
            r.timings = dict(timings)
        return results
