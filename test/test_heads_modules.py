"""Task heads: output shapes and frames, presets, config validation, MAC budget."""

from dataclasses import replace
from types import SimpleNamespace

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from tsjnet_ros.core.model.checkpoint import build_system
from tsjnet_ros.core.model.heads import (
    HEADS_PRESETS,
    HeadsConfig,
    TaskHeads,
    TSJNetSystem,
    heads_config_for,
)


@pytest.fixture(scope='module')
def light_heads():
    torch.manual_seed(0)
    return TaskHeads(HEADS_PRESETS['light']).eval()


def test_light_heads_shapes_at_odd_size(light_heads):
    with torch.no_grad():
        out = light_heads(torch.rand(2, 1, 72, 100))
    cfg = HEADS_PRESETS['light']
    assert out.segmentation_logits.shape == (2, cfg.num_segmentation_classes, 18, 25)
    det = out.detection
    assert det.strides == (8, 16, 32)
    assert [tuple(c.shape) for c in det.cls_logits] == [(2, 3, 9, 13), (2, 3, 5, 7), (2, 3, 3, 4)]
    assert all(d.shape[1] == 4 and (d > 0).all() for d in det.box_distances)
    assert det.image_size == (72, 100) and det.scale == (1.0, 1.0)


def test_input_scale_maps_back_to_fused_pixels():
    heads = TaskHeads(replace(HEADS_PRESETS['light'], input_scale=0.5)).eval()
    with torch.no_grad():
        out = heads(torch.rand(1, 1, 128, 192))
    assert out.detection.scale == (2.0, 2.0)
    assert out.segmentation_logits.shape[-2:] == (16, 24)  # quarter of the 64x96 head input


def test_heads_reject_non_mono_input(light_heads):
    with pytest.raises(ValueError, match=r'\(B, 1, H, W\)'):
        light_heads(torch.rand(1, 3, 64, 64))


def test_config_validation_and_round_trip():
    cfg = HEADS_PRESETS['light'].with_classes(detection_classes=['People', 'Car', 'Bus'])
    assert HeadsConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match='unknown heads config keys: backbon'):
        HeadsConfig.from_dict({'backbon': 'resnet18'})
    with pytest.raises(ValueError, match='finer level'):
        HeadsConfig(low_level=3, aspp_level=2)
    with pytest.raises(ValueError, match='at least one class'):
        HeadsConfig(detection_classes=())
    with pytest.raises(ValueError, match='cannot build timm backbone'):
        TaskHeads(HeadsConfig(backbone='no_such_net'))
    assert heads_config_for('tsjnet').backbone == 'resnet50'
    assert heads_config_for('tsjnet_rt') == HEADS_PRESETS['light']


def test_light_heads_fit_the_mac_budget(light_heads):
    """Shared backbone + segmentation + detection must stay <= 2 GMAC per 480x640 frame."""
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        light_heads(torch.rand(1, 1, 480, 640))
    gmac = counter.get_total_flops() / 2e9
    assert 0.5 < gmac <= 2.0


def test_realtime_system_fits_five_gmac():
    """tsjnet_rt fusion + both task heads: at most 5 GMAC per 480x640 pair (the budget)."""
    from tsjnet_ros.core.model.mac_count import count_macs

    system = build_system('tsjnet_rt', seed=0).eval()
    x = torch.rand(1, 1, 480, 640)
    report = count_macs(system, x, x)
    assert report.per_module['heads'] <= 2.0e9
    assert report.gmac <= 5.0


def test_large_preset_builds_and_runs_small():
    heads = TaskHeads(HEADS_PRESETS['large']).eval()
    assert sum(p.numel() for p in heads.parameters()) > 20e6  # normal-size task networks
    with torch.no_grad():
        out = heads(torch.rand(1, 1, 64, 64))
    assert out.segmentation_logits.shape == (1, 9, 16, 16)


class MaxFusion(nn.Module):
    def __init__(self):
        super().__init__()
        self.gain = nn.Parameter(torch.ones(()))

    def forward(self, ir, visible):
        fused = (torch.maximum(ir, visible) * self.gain).clamp(0, 1)
        return SimpleNamespace(
            fused=fused, attention_maps=None, ir_reconstruction=None, visible_reconstruction=None
        )


def test_system_runs_heads_on_the_fused_image():
    system = TSJNetSystem(MaxFusion(), HEADS_PRESETS['light'], 'stand_in').eval()
    ir, vis = torch.rand(1, 1, 64, 64), torch.rand(1, 1, 64, 64)
    with torch.no_grad():
        out = system(ir, vis)
        again = system.heads(torch.maximum(ir, vis))
        fused_only = system(ir, vis, run_heads=False)
    assert torch.equal(out.fused, torch.maximum(ir, vis))
    assert torch.allclose(out.segmentation_logits, again.segmentation_logits)
    assert fused_only.segmentation_logits is None and fused_only.detection is None
    with pytest.raises(TypeError, match='nn.Module'):
        TSJNetSystem(lambda a, b: a, HEADS_PRESETS['light'], 'x')
