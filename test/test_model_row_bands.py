"""Row-band execution: bands of row-local layers and banded ResNeSt stages equal whole maps."""

import pytest
import torch
from small_models import SMALL_TSJNET
from torch import nn

from tsjnet_ros.core.model import create_model
from tsjnet_ros.core.model.blocks.resnest import ResNeStBottleneck, resnest_stage
from tsjnet_ros.core.model.blocks.resnest_banded import BandedResNeStStage, can_band
from tsjnet_ros.core.model.inference_form import inference_copy
from tsjnet_ros.core.model.pointwise_conv import PointwiseConv2d
from tsjnet_ros.core.model.row_bands import bands, halo, row_radius, run_on_rows
from tsjnet_ros.core.model.separable_max_pool import SeparableMaxPool2d
from tsjnet_ros.core.model.winograd_conv import WinogradConv2d


def _randomise_norms(model: nn.Module) -> None:
    gen = torch.Generator().manual_seed(1)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=gen) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 0.5)


def test_row_radius_of_known_layers():
    assert row_radius(nn.Conv2d(4, 4, 3, padding=1)) == 1
    assert row_radius(nn.Conv2d(4, 4, 5, padding=4, dilation=2)) == 4
    assert row_radius(WinogradConv2d(nn.Conv2d(4, 4, 3, padding=1))) == 1
    assert row_radius(SeparableMaxPool2d(nn.MaxPool2d(5, 1, 2))) == 2
    assert row_radius(PointwiseConv2d(nn.Conv2d(4, 4, 1))) == 0
    chain = nn.Sequential(nn.Conv2d(4, 4, 3, padding=1), nn.ReLU6(), nn.Conv2d(4, 2, 3, padding=1))
    assert row_radius(chain) == 2
    # Strided, unpadded, 'same'-string and resampling layers are not row-local here.
    for layer in (
        nn.Conv2d(4, 4, 3, stride=2, padding=1),
        nn.Conv2d(4, 4, 3),
        nn.Conv2d(4, 4, 3, padding='same'),
        nn.Conv2d(4, 4, (3, 5), padding=(1, 0)),  # narrows the map
        nn.Conv2d(4, 4, (3, 4), padding=(1, 2)),
        nn.MaxPool2d(3, 1, 1),
        nn.Upsample(scale_factor=2),
        nn.Sequential(nn.ReLU(), nn.AdaptiveAvgPool2d(1)),
    ):
        assert row_radius(layer) is None, layer


def test_bands_and_halo_cover_the_image():
    assert bands(10, 4) == [(0, 4), (4, 8), (8, 10)]
    assert bands(3, 8) == [(0, 3)]
    assert halo(4, 8, 2, 10) == (2, 10) and halo(0, 4, 3, 10) == (0, 7)
    with pytest.raises(ValueError, match='rows'):
        bands(10, 0)


@pytest.mark.parametrize('rows', [1, 3, 7, 19])
def test_a_chain_run_band_by_band_equals_the_whole_map(rows):
    torch.manual_seed(0)
    chain = nn.Sequential(
        nn.Conv2d(3, 5, 3, padding=1),
        nn.ReLU(),
        SeparableMaxPool2d(nn.MaxPool2d(3, 1, 1)),
        nn.Conv2d(5, 2, 5, padding=2),
    ).eval()
    radius = row_radius(chain)
    x = torch.randn(2, 3, 19, 11)
    with torch.inference_mode():
        whole = chain(x)
        parts = []
        for top, bottom in bands(19, rows):
            first, last = halo(top, bottom, radius, 19)
            parts.append(run_on_rows(chain, x[:, :, first:last], first, top, bottom))
    torch.testing.assert_close(torch.cat(parts, dim=2), whole, atol=1e-6, rtol=1e-6)


def _fused_stage(in_chs, planes, num_blocks, shortcut_pool, radix=2, cardinality=1):
    stage = resnest_stage(
        in_chs,
        planes,
        num_blocks,
        radix=radix,
        cardinality=cardinality,
        shortcut_pool=shortcut_pool,
    )
    _randomise_norms(stage)
    tail = nn.Sequential(
        nn.Conv2d(planes * 4, 6, 3, padding=1), nn.ReLU6(), nn.Conv2d(6, 3, 3, padding=1)
    )
    fast = inference_copy(nn.Sequential(stage, tail).eval(), channels_last=False)
    return list(fast[0]), fast[1]


@pytest.mark.parametrize(
    'in_chs, num_blocks, shortcut_pool, batch, radix, cardinality',
    [
        (6, 2, True, 1, 2, 1),
        (6, 1, False, 1, 2, 1),
        (16, 3, False, 2, 2, 1),
        (6, 3, True, 2, 2, 1),
        (6, 2, True, 1, 1, 1),
        (6, 2, True, 1, 2, 2),
    ],
)
@pytest.mark.parametrize('band_rows', [8, 13])
def test_banded_stage_equals_whole_map_execution(
    in_chs, num_blocks, shortcut_pool, batch, radix, cardinality, band_rows, monkeypatch
):
    torch.manual_seed(0)
    blocks, tail = _fused_stage(in_chs, 4, num_blocks, shortcut_pool, radix, cardinality)
    # band_bytes for exactly band_rows rows of the 16-channel block output, 11 wide
    banded = BandedResNeStStage(blocks, tail, band_bytes=band_rows * 4 * batch * 16 * 11)
    x = torch.randn(batch, in_chs, 37, 11)
    assert banded.band_rows(x) == band_rows
    attended = []
    original = BandedResNeStStage._attend

    def spy(self, index, *args):
        attended.append(index)
        return original(self, index, *args)

    monkeypatch.setattr(BandedResNeStStage, '_attend', spy)
    with torch.inference_mode():
        expected = tail(nn.Sequential(*blocks)(x))
        torch.testing.assert_close(banded(x), expected, atol=1e-5, rtol=1e-5)
        assert attended == list(range(num_blocks))  # the banded path ran
        channels_last = x.contiguous(memory_format=torch.channels_last)
        torch.testing.assert_close(banded(channels_last), expected, atol=1e-5, rtol=1e-5)


def test_banded_stage_runs_maps_of_one_band_whole(monkeypatch):
    blocks, tail = _fused_stage(6, 4, 2, True)
    banded = BandedResNeStStage(blocks, tail, band_bytes=1)
    assert banded.band_rows(torch.empty(1, 6, 5, 7)) == 8  # never fewer than 8 rows
    monkeypatch.setattr(BandedResNeStStage, '_attend', None)  # the banded path would fail
    x = torch.randn(1, 6, 8, 7)
    with torch.inference_mode():
        torch.testing.assert_close(banded(x), tail(nn.Sequential(*blocks)(x)))


def test_only_row_local_fused_stages_can_be_banded():
    blocks, tail = _fused_stage(6, 4, 2, True)
    assert can_band(blocks, tail)
    assert not can_band(blocks, nn.Sequential(tail, nn.Upsample(scale_factor=2)))
    assert not can_band([], tail)
    plain = ResNeStBottleneck(16, 4).eval()  # not the fused inference form
    assert not can_band([plain], tail)
    with pytest.raises(ValueError, match='row-local'):
        BandedResNeStStage([plain], tail)


def test_banded_inference_copy_of_tsjnet_matches_the_whole_map_copy():
    torch.manual_seed(0)
    model = create_model('tsjnet_official', **SMALL_TSJNET).eval()
    _randomise_norms(model)
    whole = inference_copy(model, channels_last=False)
    banded = inference_copy(model, channels_last=False, band_bytes=1)  # 8-row bands
    stages = [m for m in banded.modules() if isinstance(m, BandedResNeStStage)]
    assert len(stages) == 2  # the shared encoder's body + neck, the decoder's stage + head
    assert not any(isinstance(m, BandedResNeStStage) for m in whole.modules())
    ir, vis = torch.rand(1, 1, 40, 24), torch.rand(1, 1, 40, 24)
    with torch.inference_mode():
        expected, out = whole(ir, vis), banded(ir, vis)
    torch.testing.assert_close(out.fused, expected.fused, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(out.attention_maps, expected.attention_maps, atol=1e-5, rtol=1e-5)


def test_pipeline_cpu_band_mb_bands_the_stages_and_keeps_the_output(tmp_path):
    from tsjnet_ros.core.model.checkpoint import create_untrained_checkpoint
    from tsjnet_ros.core.runtime.pipeline import FusionPipeline

    path = create_untrained_checkpoint(
        tmp_path / 'official.pt', 'tsjnet_official', fusion_config=dict(SMALL_TSJNET)
    )
    whole = FusionPipeline.from_checkpoint(path, device='cpu', warmup=False)
    banded = FusionPipeline.from_checkpoint(path, device='cpu', warmup=False, cpu_band_mb=1)
    assert not any(isinstance(m, BandedResNeStStage) for m in whole.system.modules())
    assert sum(isinstance(m, BandedResNeStStage) for m in banded.system.modules()) == 2
    gen = torch.Generator().manual_seed(0)
    # 1 MiB bands of the 32-channel stage output, 64 wide: 128 rows, so two bands here
    ir = (torch.rand(192, 64, generator=gen) * 255).to(torch.uint8).numpy()
    vis = (torch.rand(192, 64, generator=gen) * 255).to(torch.uint8).numpy()
    a, b = whole(ir, vis).fused.astype(int), banded(ir, vis).fused.astype(int)
    assert abs(a - b).max() <= 1
    with pytest.raises(ValueError, match='cpu_band_mb'):
        FusionPipeline.from_checkpoint(path, device='cpu', warmup=False, cpu_band_mb=-1)


def test_pipeline_says_whether_cpu_band_mb_applies(tmp_path, caplog):
    import logging

    from tsjnet_ros.core.model.checkpoint import create_untrained_checkpoint
    from tsjnet_ros.core.runtime.pipeline import FusionPipeline

    official = create_untrained_checkpoint(
        tmp_path / 'official.pt', 'tsjnet_official', fusion_config=dict(SMALL_TSJNET)
    )
    rt = create_untrained_checkpoint(tmp_path / 'rt.pt', 'tsjnet_rt')
    with caplog.at_level(logging.INFO, logger='tsjnet_ros'):
        FusionPipeline.from_checkpoint(official, device='cpu', warmup=False, cpu_band_mb=1)
    assert 'cpu_band_mb 1: 2 ResNeSt stage(s) run in row bands' in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger='tsjnet_ros'):
        FusionPipeline.from_checkpoint(rt, device='cpu', warmup=False, cpu_band_mb=1)
    assert 'cpu_band_mb 1 is ignored: tsjnet_rt has no full-resolution ResNeSt stage' in (
        caplog.text
    )
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger='tsjnet_ros'):
        FusionPipeline.from_checkpoint(
            official, device='cpu', warmup=False, cpu_band_mb=1, precision='bf16'
        )
    assert 'cpu_band_mb 1 is ignored: row bands are part of the CPU fp32 inference form' in (
        caplog.text
    )
