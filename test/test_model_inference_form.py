"""inference_copy: the CPU inference form (fused blocks, Winograd convs) gives the same outputs."""

from dataclasses import replace

import pytest
import torch
from small_models import SMALL_TSJNET
from torch import nn

from tsjnet_ros.core.model import create_model
from tsjnet_ros.core.model.blocks.conv_norm_act import ConvNormAct
from tsjnet_ros.core.model.blocks.resnest import ResNeStBottleneck
from tsjnet_ros.core.model.blocks.resnest_fused import FusedResNeStBottleneck
from tsjnet_ros.core.model.inference_form import inference_copy
from tsjnet_ros.core.model.pointwise_conv import PointwiseConv2d
from tsjnet_ros.core.model.separable_max_pool import SeparableMaxPool2d
from tsjnet_ros.core.model.subpixel_conv import SubPixelConvTranspose2d
from tsjnet_ros.core.model.winograd_conv import WinogradConv2d, nnpack_available

needs_nnpack = pytest.mark.skipif(
    not nnpack_available(), reason='this PyTorch build has no NNPACK'
)


def _randomise_norm_stats(model: nn.Module, seed: int = 0) -> None:
    gen = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=gen) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
            m.bias.data.copy_(torch.randn(m.num_features, generator=gen) * 0.1)


@pytest.mark.parametrize(
    'norm_layer, act_layer',
    [
        ('batchnorm2d', 'relu'),
        ('batchnorm2d', None),
        ('identity', 'gelu'),
        ('groupnorm', 'relu'),
        (None, None),
    ],
)
def test_fused_conv_norm_act_equals_the_block(norm_layer, act_layer):
    block = ConvNormAct(
        4, 8, 3, bias=norm_layer is None, norm_layer=norm_layer, act_layer=act_layer, dilation=2
    )
    _randomise_norm_stats(block)
    block.eval()
    fused = block.fuse()
    assert not any(isinstance(m, (nn.BatchNorm2d, nn.Identity)) for m in fused.modules())
    assert any(isinstance(m, nn.GroupNorm) for m in fused.modules()) == (norm_layer == 'groupnorm')
    x = torch.randn(2, 4, 9, 11)
    with torch.no_grad():
        torch.testing.assert_close(fused(x), block(x), atol=1e-5, rtol=1e-5)


def test_inference_copy_leaves_the_model_as_it_was():
    model = nn.Sequential(ConvNormAct(3, 6, 3), ResNeStBottleneck(6, 2, expansion=4)).train()
    _randomise_norm_stats(model)
    fast = inference_copy(model, channels_last=False, winograd=False)
    assert not fast.training and not any(p.requires_grad for p in fast.parameters())
    assert not any(isinstance(m, nn.BatchNorm2d) for m in fast.modules())
    assert model.training and all(p.requires_grad for p in model.parameters())
    assert sum(isinstance(m, nn.BatchNorm2d) for m in model.modules()) == 7
    x = torch.randn(2, 3, 10, 12)
    with torch.no_grad():
        torch.testing.assert_close(fast(x), model.eval()(x), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize('bias', [True, False])
def test_pointwise_conv_equals_the_conv_in_either_layout(bias):
    conv = nn.Conv2d(6, 10, 1, bias=bias)
    pointwise = PointwiseConv2d(conv)
    x = torch.randn(2, 6, 7, 9)
    with torch.no_grad():
        expected = conv(x)
        torch.testing.assert_close(pointwise(x), expected, atol=1e-5, rtol=1e-5)
        channels_last = x.contiguous(memory_format=torch.channels_last)
        torch.testing.assert_close(pointwise(channels_last), expected, atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match='1x1'):
        PointwiseConv2d(nn.Conv2d(6, 10, 1, groups=2))


@pytest.mark.parametrize('in_chs, shortcut_pool', [(6, False), (6, True), (8, False)])
def test_fused_bottleneck_equals_the_block(in_chs, shortcut_pool):
    block = ResNeStBottleneck(in_chs, 2, expansion=4, shortcut_pool=shortcut_pool)
    _randomise_norm_stats(block)
    block.train()
    fused = block.fuse()
    assert isinstance(fused, FusedResNeStBottleneck) and block.training  # block untouched
    x = torch.randn(2, in_chs, 9, 11)
    with torch.inference_mode():
        expected = block.eval()(x)
        torch.testing.assert_close(fused(x), expected, atol=1e-5, rtol=1e-5)
        channels_last = x.contiguous(memory_format=torch.channels_last)
        torch.testing.assert_close(fused(channels_last), expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize('kernel', [1, 3, 5])
@pytest.mark.parametrize('shape', [(2, 3, 9, 11), (1, 4, 1, 7), (1, 2, 2, 1)])
def test_separable_max_pool_is_bit_identical(kernel, shape):
    pool = nn.MaxPool2d(kernel, 1, kernel // 2)
    x = torch.randn(shape)
    x[..., 0, 0] = float('-inf')  # -inf inputs stay -inf, as in max_pool2d
    for layout in (torch.contiguous_format, torch.channels_last):
        y = x.contiguous(memory_format=layout)
        assert torch.equal(SeparableMaxPool2d(pool)(y), pool(y))


@pytest.mark.parametrize(
    'pool',
    [nn.MaxPool2d(2), nn.MaxPool2d(3, 2, 1), nn.MaxPool2d(3, 1, 0), nn.MaxPool2d(3, 1, 1, 2)],
)
def test_separable_max_pool_refuses_other_pools(pool):
    with pytest.raises(ValueError, match='stride-1'):
        SeparableMaxPool2d(pool)


def test_channels_first_copy_pools_separably_only_where_it_is_exact():
    model = nn.Sequential(nn.MaxPool2d(3, 1, 1), nn.MaxPool2d(2)).eval()
    first = inference_copy(model, channels_last=False, winograd=False)
    assert isinstance(first[0], SeparableMaxPool2d) and type(first[1]) is nn.MaxPool2d
    assert type(inference_copy(model, channels_last=True)[0]) is nn.MaxPool2d


@pytest.mark.parametrize('kernel, bias', [(2, True), (3, False)])
def test_subpixel_conv_equals_the_transposed_conv(kernel, bias):
    conv = nn.ConvTranspose2d(5, 7, kernel, kernel, bias=bias)
    x = torch.randn(2, 5, 6, 9)
    with torch.inference_mode():
        torch.testing.assert_close(SubPixelConvTranspose2d(conv)(x), conv(x))
    for other in (nn.ConvTranspose2d(5, 7, 3, 2), nn.ConvTranspose2d(4, 4, 2, 2, groups=2)):
        with pytest.raises(ValueError, match='kernel == stride'):
            SubPixelConvTranspose2d(other)
    fast = inference_copy(nn.Sequential(conv), channels_last=False)
    assert isinstance(fast[0], SubPixelConvTranspose2d)
    assert type(inference_copy(nn.Sequential(conv), channels_last=True)[0]) is nn.ConvTranspose2d


def test_identity_bottlenecks_after_a_sibling_overwrite_their_input():
    stage = nn.Sequential(ResNeStBottleneck(6, 2), ResNeStBottleneck(8, 2)).eval()
    _randomise_norm_stats(stage)
    fast = inference_copy(stage, channels_last=False)
    # the first block's input belongs to the caller; the second's is the first's output
    assert [block.overwrite_input for block in fast] == [False, True]
    x = torch.randn(1, 6, 9, 11)
    with torch.inference_mode():
        kept = x.clone()
        torch.testing.assert_close(fast(x), stage(x), atol=1e-5, rtol=1e-5)
        assert torch.equal(x, kept)
        alone = fast[1]
        middle = torch.randn(1, 8, 9, 11)
        out = alone(middle)
        assert out.data_ptr() == middle.data_ptr()  # written into its input's memory
    # after anything but a bottleneck the input may be the caller's own tensor
    after_identity = inference_copy(
        nn.Sequential(nn.Identity(), ResNeStBottleneck(8, 2)).eval(), channels_last=False
    )
    assert not after_identity[1].overwrite_input


def test_channels_first_copy_runs_1x1_convs_as_matrix_products():
    model = nn.Sequential(ConvNormAct(3, 6, 1), ConvNormAct(6, 6, 3)).eval()
    first = inference_copy(model, channels_last=False, winograd=False)
    assert isinstance(first[0][0], PointwiseConv2d) and type(first[1][0]) is nn.Conv2d
    last = inference_copy(model, channels_last=True)
    assert not any(isinstance(m, PointwiseConv2d) for m in last.modules())


@needs_nnpack
@pytest.mark.parametrize(
    'groups, stripe_bytes', [(1, 2**26), (2, 2**26), (1, 1), (2, 4 * 8 * 9 * 28)]
)
def test_winograd_conv_matches_the_direct_conv(groups, stripe_bytes):
    # Tiny stripe budgets force 8-row (or 9-row) stripes with halos, including a short last one.
    torch.manual_seed(0)
    conv = nn.Conv2d(16, 24, 3, padding=1, groups=groups)
    fast = WinogradConv2d(conv, min_pixels=1, stripe_bytes=stripe_bytes)
    x = torch.randn(1, 16, 20, 28)
    with torch.inference_mode():
        torch.testing.assert_close(fast(x), conv(x), atol=1e-4, rtol=1e-4)
    with pytest.raises(ValueError, match='3x3, stride 1'):
        WinogradConv2d(nn.Conv2d(4, 4, 3, stride=2, padding=1))


def test_winograd_conv_falls_back_for_autograd_bf16_and_channels_last():
    conv = nn.Conv2d(8, 8, 3, padding=1)
    fast = WinogradConv2d(conv, min_pixels=1)
    x = torch.randn(1, 8, 12, 12, requires_grad=True)
    y = fast(x)
    y.sum().backward()  # the fallback path is differentiable w.r.t. the input
    assert x.grad is not None
    with torch.inference_mode():
        out = fast(x.detach().bfloat16())
        assert not fast.use_nnpack(x.detach().contiguous(memory_format=torch.channels_last))
    assert out.dtype == torch.bfloat16
    torch.testing.assert_close(out.float(), conv(x).detach(), atol=0.1, rtol=0.05)


@pytest.mark.parametrize('channels_last', [False, True])
def test_small_tsjnet_inference_form_matches_the_reference(channels_last):
    torch.manual_seed(0)
    model = create_model('tsjnet', **SMALL_TSJNET).eval()
    _randomise_norm_stats(model)
    fast = inference_copy(model, channels_last=channels_last, min_winograd_channels=8)
    for conv in fast.modules():
        if isinstance(conv, WinogradConv2d):
            conv.min_pixels = 1  # exercise NNPACK even on this small input
    assert not any(isinstance(m, nn.BatchNorm2d) for m in fast.modules())
    # NNPACK needs channels-first maps, so the channels-last copy keeps oneDNN convs.
    assert any(isinstance(m, WinogradConv2d) for m in fast.modules()) == (
        nnpack_available() and not channels_last
    )
    ir, vis = torch.rand(1, 1, 40, 56), torch.rand(1, 1, 40, 56)
    with torch.inference_mode():
        ref, out = model(ir, vis), fast(ir, vis)
    torch.testing.assert_close(out.fused, ref.fused, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(out.attention_maps, ref.attention_maps, atol=1e-4, rtol=1e-4)


def test_rt_inference_form_is_channels_last_and_matches_the_reference():
    torch.manual_seed(0)
    model = create_model('tsjnet_rt').eval()
    assert model.prefers_channels_last
    _randomise_norm_stats(model)
    fast = inference_copy(model)
    assert next(p for p in fast.parameters() if p.dim() == 4).is_contiguous(
        memory_format=torch.channels_last
    )
    assert not any(isinstance(m, WinogradConv2d) for m in fast.modules())
    ir, vis = torch.rand(1, 1, 48, 80), torch.rand(1, 1, 48, 80)
    with torch.inference_mode():
        torch.testing.assert_close(fast(ir, vis).fused, model(ir, vis).fused, atol=1e-4, rtol=1e-4)
    if not nnpack_available():
        with pytest.raises(RuntimeError, match='NNPACK'):
            inference_copy(model, winograd=True)


def test_light_heads_run_channels_last_and_match_the_reference():
    from tsjnet_ros.core.model.heads import HEADS_PRESETS, TaskHeads

    torch.manual_seed(0)
    heads = TaskHeads(HEADS_PRESETS['rt']).eval()
    _randomise_norm_stats(heads)
    fast = inference_copy(heads)
    conv = next(p for p in fast.parameters() if p.dim() == 4 and p.shape[-1] > 1)
    assert conv.is_contiguous(memory_format=torch.channels_last)
    dense = TaskHeads(replace(HEADS_PRESETS['rt'], depthwise=False))
    assert not dense.prefers_channels_last  # dense 3x3 convs stay channels-first, for NNPACK
    fused = torch.rand(1, 1, 64, 96)
    with torch.inference_mode():
        want, got = heads(fused), fast(fused)
    torch.testing.assert_close(
        got.segmentation_logits, want.segmentation_logits, atol=1e-4, rtol=1e-4
    )
    torch.testing.assert_close(
        got.detection.cls_logits[0], want.detection.cls_logits[0], atol=1e-4, rtol=1e-4
    )
