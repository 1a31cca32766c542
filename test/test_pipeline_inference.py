"""FusionPipeline on numpy frames: formats, stable scaling, colour, batching, errors.

General behaviour runs on an untrained ``tsjnet_rt`` checkpoint; checks that need exact
expected pixels use a max-fusion stand-in, whose output is known in closed form.
"""

import logging
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import torch
from torch import nn

from tsjnet_ros.core.fusion import FusionBackend, create_backend
from tsjnet_ros.core.fusion.neural import NeuralFusionBackend
from tsjnet_ros.core.image.color import rgb_to_ycbcr
from tsjnet_ros.core.model.checkpoint import (
    Normalization,
    build_system,
    create_untrained_checkpoint,
    save_checkpoint,
)
from tsjnet_ros.core.model.heads import HEADS_PRESETS
from tsjnet_ros.core.runtime.pipeline import FusionPipeline, resolve_device
from tsjnet_ros.core.types.detection import Detection
from tsjnet_ros.core.types.fusion_result import FusionResult


class MaxFusion(nn.Module):
    """Stand-in fusion: the per-pixel max, so expected outputs are known exactly."""

    def __init__(self):
        super().__init__()
        self.gain = nn.Parameter(torch.ones(()))

    def forward(self, ir, visible):
        fused = torch.maximum(ir, visible) * self.gain
        return SimpleNamespace(
            fused=fused, attention_maps=None, ir_reconstruction=None, visible_reconstruction=None
        )


def max_builder(variant, config):
    return MaxFusion()


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    system = build_system('max', {}, HEADS_PRESETS['light'], seed=0, fusion_builder=max_builder)
    return save_checkpoint(system, tmp_path_factory.mktemp('ckpt') / 'max.pt')


@pytest.fixture(scope='module')
def pipeline(checkpoint):
    return FusionPipeline.from_checkpoint(
        checkpoint, device='cpu', fusion_builder=max_builder, warmup_size=(64, 64)
    )


@pytest.fixture(scope='module')
def rt_checkpoint(tmp_path_factory):
    return create_untrained_checkpoint(
        tmp_path_factory.mktemp('rt') / 'tsjnet_rt.pt', 'tsjnet_rt', seed=0
    )


@pytest.fixture(scope='module')
def rt_pipeline(rt_checkpoint):
    return FusionPipeline.from_checkpoint(rt_checkpoint, device='cpu', warmup_size=(64, 64))


def random_pair(h=96, w=128, seed=0, rgb=True):
    rng = np.random.default_rng(seed)
    ir = rng.integers(0, 256, (h, w), dtype=np.uint8)
    vis = rng.integers(0, 256, (h, w, 3) if rgb else (h, w), dtype=np.uint8)
    return ir, vis


def test_load_logs_device_and_warms_up(rt_checkpoint, caplog):
    with caplog.at_level(logging.INFO, logger='tsjnet_ros'):
        pipe = FusionPipeline.from_checkpoint(rt_checkpoint, device='auto', warmup_size=(32, 48))
    text = caplog.text
    expected = 'CUDA device' if torch.cuda.is_available() else 'CPU'
    assert f'tsjnet_rt on {expected}' in text and 'precision fp32' in text
    assert 'warm-up at 48x32' in text
    assert pipe.device == resolve_device('auto')


def test_eager_cpu_warms_up_small_and_once(rt_checkpoint, caplog):
    # nothing size-bound to prepare on eager CPU: a full-size pass would only cost time
    with caplog.at_level(logging.INFO, logger='tsjnet_ros'):
        FusionPipeline.from_checkpoint(rt_checkpoint, device='cpu')
    assert [
        r.getMessage().split(' took')[0] for r in caplog.records if 'warm-up' in r.getMessage()
    ] == ['FusionPipeline: warm-up at 64x64']


def test_frame_result_formats(rt_pipeline):
    pipeline = rt_pipeline
    ir, vis = random_pair()
    result = pipeline(ir, vis)
    assert isinstance(result, FusionResult)
    assert result.fused.shape == (96, 128) and result.fused.dtype == np.uint8
    assert result.fused_color.shape == (96, 128, 3) and result.fused_color.dtype == np.uint8
    assert result.segmentation.shape == (96, 128) and result.segmentation.dtype == np.uint8
    assert result.segmentation.max() < len(pipeline.segmentation_classes)
    assert set(result.timings) >= {'preprocess_ms', 'inference_ms', 'postprocess_ms', 'total_ms'}
    assert pipeline.class_names == ['person', 'bicycle', 'car']
    assert (
        pipeline.segmentation_classes[0] == 'unlabelled'
        and len(pipeline.segmentation_classes) == 9
    )
    for det in result.detections:
        assert isinstance(det, Detection) and det.class_name == pipeline.class_names[det.class_id]


def test_fused_luminance_is_stable_not_stretched(pipeline):
    ir, vis = random_pair(rgb=False)
    dim_ir, dim_vis = ir // 8, vis // 8  # a dark scene stays dark: no per-frame min-max
    fused = pipeline(dim_ir, dim_vis).fused
    assert np.array_equal(fused, np.maximum(dim_ir, dim_vis))
    assert fused.max() <= 31


def test_fused_colour_keeps_visible_chroma(pipeline):
    rng = np.random.default_rng(1)
    ir = rng.integers(60, 190, (96, 128), dtype=np.uint8)
    grey = rng.integers(60, 190, (96, 128, 1))
    vis = np.clip(grey + rng.integers(-25, 26, (96, 128, 3)), 0, 255).astype(
        np.uint8
    )  # in-gamut colours
    result = pipeline(ir, vis)
    y_vis = rgb_to_ycbcr(vis)[..., 0] * 255
    assert np.abs(result.fused.astype(int) - np.maximum(ir, np.rint(y_vis)).astype(int)).max() <= 1
    ycc = rgb_to_ycbcr(result.fused_color)
    assert (
        np.abs(ycc[..., 0] * 255 - result.fused).max() < 1.0
    )  # Y of the colour image is the fused image
    assert (
        np.abs(ycc[..., 1:] - rgb_to_ycbcr(vis)[..., 1:]).max() < 0.01
    )  # chroma from the visible camera
    mono = pipeline(ir, vis[..., 1]).fused_color
    assert np.array_equal(mono[..., 0], mono[..., 2])


def test_real_msrs_pair(pipeline, shared_data):
    ir = cv2.imread(str(shared_data / 'msrs/ir/00004N.png'), cv2.IMREAD_UNCHANGED)
    vis = cv2.cvtColor(cv2.imread(str(shared_data / 'msrs/vi/00004N.png')), cv2.COLOR_BGR2RGB)
    result = pipeline(ir, vis)
    assert result.fused.shape == ir.shape and result.fused_color.shape == vis.shape
    luma = np.rint(rgb_to_ycbcr(vis)[..., 0] * 255)
    assert np.abs(result.fused.astype(int) - np.maximum(ir, luma).astype(int)).max() <= 1


def test_batch_matches_single_frames(rt_pipeline):
    pipeline = rt_pipeline
    pairs = [random_pair(seed=s) for s in range(3)]
    batch = pipeline.process_batch([p[0] for p in pairs], [p[1] for p in pairs])
    assert len(batch) == 3 and batch[0].timings['batch_size'] == 3
    for (ir, vis), got in zip(pairs, batch):
        one = pipeline(ir, vis)
        assert (
            np.abs(one.fused.astype(int) - got.fused).max() <= 1
        )  # batched kernels may round differently
        assert np.abs(one.fused_color.astype(int) - got.fused_color).max() <= 2
        assert (one.segmentation != got.segmentation).mean() < 0.01
        assert len(one.detections) == len(got.detections)


def test_inference_size_returns_camera_resolution(rt_checkpoint):
    pipe = FusionPipeline.from_checkpoint(
        rt_checkpoint,
        device='cpu',
        warmup=False,
        normalization=Normalization(inference_size=(64, 96)),
        score_threshold=0.0,
        max_detections=1000,
    )
    ir, vis = random_pair(120, 160, seed=2)
    result = pipe(ir, vis)
    assert result.fused.shape == (120, 160) and result.segmentation.shape == (120, 160)
    boxes = np.array([d.box_xyxy for d in result.detections])
    assert len(boxes) > 0
    assert boxes[:, [0, 2]].min() >= 0 and boxes[:, [0, 2]].max() <= 160
    assert boxes[:, [1, 3]].min() >= 0 and boxes[:, [1, 3]].max() <= 120
    assert boxes[:, 2].max() > 96  # boxes were scaled out of the 96-wide network frame
    # batches of different camera sizes work when the network size is fixed
    mixed = pipe.process_batch([ir, ir[:100, :150]], [vis, vis[:100, :150]])
    assert mixed[1].fused.shape == (100, 150)


def test_sixteen_bit_ir_uses_the_configured_scaling(checkpoint):
    fixed = FusionPipeline.from_checkpoint(
        checkpoint,
        device='cpu',
        fusion_builder=max_builder,
        warmup=False,
        normalization=Normalization(ir_16bit_mode='fixed', ir_16bit_range=(1000, 2020)),
    )
    ir16 = np.full((64, 64), 1000, np.uint16)
    ir16[:, 32:] = 1510  # middle of the range -> 0.5 -> 128
    black = np.zeros((64, 64), np.uint8)
    fused = fixed(ir16, black).fused
    assert fused[0, 0] == 0 and fused[0, 40] == 128
    pct = FusionPipeline.from_checkpoint(
        checkpoint, device='cpu', fusion_builder=max_builder, warmup=False
    )
    ramp = np.tile(
        np.linspace(7000, 9000, 64).astype(np.uint16), (64, 1)
    )  # narrow band of 16 bits
    out = pct(ramp, black).fused
    assert out[0, 0] == 0 and out[0, -1] == 255 and 100 < out[0, 32] < 155


def test_bad_inputs_fail_clearly(rt_pipeline):
    pipeline = rt_pipeline
    ir, vis = random_pair()
    with pytest.raises(ValueError, match='differ in size'):
        pipeline(ir[:50], vis)
    with pytest.raises(TypeError, match='visible image must be uint8'):
        pipeline(ir, vis.astype(np.uint16))
    with pytest.raises(ValueError, match='single-channel'):
        pipeline(vis, vis)
    with pytest.raises(TypeError, match='numpy array'):
        pipeline(ir.tolist(), vis)
    with pytest.raises(ValueError, match='2 infrared and 1 visible'):
        pipeline.process_batch([ir, ir], [vis])
    with pytest.raises(ValueError, match='differ in size'):
        pipeline.process_batch([ir, ir[:64]], [vis, vis[:64]])


def test_device_and_precision_options(checkpoint, rt_checkpoint, caplog):
    with pytest.raises(ValueError, match='precision must be one of'):
        FusionPipeline.from_checkpoint(rt_checkpoint, device='cpu', precision='int8')
    with pytest.raises(ValueError, match='unsupported device|invalid device'):
        resolve_device('tpu')
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match='CUDA is not available'):
            resolve_device('cuda:0')
    with caplog.at_level(logging.WARNING, logger='tsjnet_ros'):
        half = FusionPipeline.from_checkpoint(
            rt_checkpoint, device='cpu', precision='fp16', warmup=False
        )
    assert half.precision == 'fp32' and 'fp16 is not supported on CPU' in caplog.text
    bf16 = FusionPipeline.from_checkpoint(
        checkpoint, device='cpu', precision='bf16', fusion_builder=max_builder, warmup=False
    )
    ir, vis = random_pair(64, 64, seed=3)
    ref = FusionPipeline.from_checkpoint(
        checkpoint, device='cpu', fusion_builder=max_builder, warmup=False
    )
    assert np.abs(bf16(ir, vis).fused.astype(int) - ref(ir, vis).fused.astype(int)).max() <= 2
    rt_bf16 = FusionPipeline.from_checkpoint(
        rt_checkpoint, device='cpu', precision='bf16', warmup=False
    )
    rt_fp32 = FusionPipeline.from_checkpoint(rt_checkpoint, device='cpu', warmup=False)
    assert (
        np.abs(rt_bf16(ir, vis).fused.astype(int) - rt_fp32(ir, vis).fused.astype(int)).mean() < 2
    )


def test_neural_backend_adapter(rt_checkpoint):
    backend = NeuralFusionBackend(rt_checkpoint, device='cpu', warmup=False)
    assert isinstance(backend, FusionBackend)
    assert backend.name == 'tsjnet_rt' and backend.detection_classes == [
        'person',
        'bicycle',
        'car',
    ]
    ir, vis = random_pair(seed=4)
    result = backend.fuse(ir, vis)
    assert isinstance(result, FusionResult)
    frame = backend.pipeline(ir, vis)
    assert np.array_equal(result.fused, frame.fused)
    assert np.array_equal(result.segmentation, frame.segmentation)
    via_registry = create_backend('tsjnet', checkpoint=rt_checkpoint, device='cpu', warmup=False)
    assert np.array_equal(via_registry.fuse(ir, vis).fused, result.fused)
