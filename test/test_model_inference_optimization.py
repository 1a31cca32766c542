"""optimize_for_inference: folded norms and Winograd convs give the same outputs."""

import pytest
import torch
from torch import nn

from tsjnet_ros.core.model import create_model
from tsjnet_ros.core.model.inference_optimization import (
    PointwiseConv2d,
    WinogradConv2d,
    fold_batch_norms,
    fold_conv_batch_norm,
    nnpack_available,
    optimize_for_inference,
)

needs_nnpack = pytest.mark.skipif(not nnpack_available(), reason="this PyTorch build has no NNPACK")

SMALL_TSJNET = dict(
    stem_chs=(8, 8, 16), resnest_planes=8, neck_chs=(16, 16), nat_embed_dim=16, nat_depths=(1, 1, 1, 1),
    nat_heads=(1, 1, 2, 2), nat_head_chs=(16, 16), decoder_reduce_chs=8, decoder_stem_chs=(8, 8, 16),
    decoder_planes=8, decoder_head_chs=16, dsm_attention_groups=4, decoder_attention_groups=4,
)


def _randomise_norm_stats(model: nn.Module, seed: int = 0) -> None:
    gen = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=gen) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
            m.bias.data.copy_(torch.randn(m.num_features, generator=gen) * 0.1)


def test_folded_conv_equals_conv_then_norm():
    conv, norm = nn.Conv2d(4, 6, 3, padding=1, bias=False), nn.BatchNorm2d(6)
    seq = nn.Sequential(conv, norm).eval()
    _randomise_norm_stats(seq)
    x = torch.randn(2, 4, 9, 9)
    torch.testing.assert_close(fold_conv_batch_norm(conv, norm)(x), seq(x), atol=1e-5, rtol=1e-5)
    assert fold_batch_norms(seq) == 1 and isinstance(seq[1], nn.Identity)


@needs_nnpack
@pytest.mark.parametrize("groups, stripe_bytes", [(1, 2**26), (2, 2**26), (1, 1), (2, 4 * 8 * 9 * 28)])
def test_winograd_conv_matches_the_direct_conv(groups, stripe_bytes):
    # Tiny stripe budgets force 8-row (or 9-row) stripes with halos, including a short last one.
    torch.manual_seed(0)
    conv = nn.Conv2d(16, 24, 3, padding=1, groups=groups)
    fast = WinogradConv2d(conv, min_pixels=1, stripe_bytes=stripe_bytes)
    x = torch.randn(1, 16, 20, 28)
    with torch.inference_mode():
        torch.testing.assert_close(fast(x), conv(x), atol=1e-4, rtol=1e-4)
    with pytest.raises(ValueError, match="3x3, stride 1"):
        WinogradConv2d(nn.Conv2d(4, 4, 3, stride=2, padding=1))


def test_winograd_conv_falls_back_for_autograd_and_bf16():
    conv = nn.Conv2d(8, 8, 3, padding=1)
    fast = WinogradConv2d(conv, min_pixels=1)
    x = torch.randn(1, 8, 12, 12, requires_grad=True)
    y = fast(x)
    y.sum().backward()  # the fallback path is differentiable w.r.t. the input
    assert x.grad is not None
    with torch.inference_mode():
        out = fast(x.detach().bfloat16())
    assert out.dtype == torch.bfloat16
    torch.testing.assert_close(out.float(), conv(x).detach(), atol=0.1, rtol=0.05)


@pytest.mark.parametrize("channels_last", [False, True])
def test_optimized_small_tsjnet_matches_the_reference(channels_last):
    torch.manual_seed(0)
    model = create_model("tsjnet", **SMALL_TSJNET).eval()
    _randomise_norm_stats(model)
    fast = optimize_for_inference(model, min_winograd_channels=8, channels_last=channels_last)
    for conv in fast.modules():
        if isinstance(conv, WinogradConv2d):
            conv.min_pixels = 1  # exercise NNPACK even on this small input
    assert not any(isinstance(m, nn.BatchNorm2d) for m in fast.modules())
    assert any(isinstance(m, nn.BatchNorm2d) for m in model.modules())  # original untouched
    # NNPACK needs channels-first maps, so the channels-last copy keeps oneDNN convs.
    assert any(isinstance(m, WinogradConv2d) for m in fast.modules()) == (nnpack_available() and not channels_last)
    assert any(isinstance(m, PointwiseConv2d) for m in fast.modules())
    ir, vis = torch.rand(1, 1, 40, 56), torch.rand(1, 1, 40, 56)
    with torch.inference_mode():
        ref, out = model(ir, vis), fast(ir, vis)
    torch.testing.assert_close(out.fused, ref.fused, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(out.attention_maps, ref.attention_maps, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("layout", [(True, True), (False, False)])
def test_pointwise_conv_matches_conv2d_in_both_layouts(layout):
    channels_last, with_bias = layout
    conv = nn.Conv2d(6, 10, 1, bias=with_bias)
    x = torch.randn(2, 6, 5, 7)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    out = PointwiseConv2d(conv)(x)
    torch.testing.assert_close(out, conv(x), atol=1e-5, rtol=1e-5)
    assert out.is_contiguous(memory_format=torch.channels_last) == channels_last
    with pytest.raises(ValueError, match="1x1"):
        PointwiseConv2d(nn.Conv2d(6, 10, 3))


def test_optimized_rt_matches_the_reference_channels_last():
    torch.manual_seed(0)
    model = create_model("tsjnet_rt").eval()
    assert model.prefers_channels_last
    _randomise_norm_stats(model)
    fast = optimize_for_inference(model)
    assert next(p for p in fast.parameters() if p.dim() == 4).is_contiguous(memory_format=torch.channels_last)
    ir, vis = torch.rand(1, 1, 48, 80), torch.rand(1, 1, 48, 80)
    with torch.inference_mode():
        torch.testing.assert_close(fast(ir, vis).fused, model(ir, vis).fused, atol=1e-4, rtol=1e-4)
    with pytest.raises(ValueError, match="winograd"):
        optimize_for_inference(model, winograd="yes")


@pytest.mark.parametrize("in_chs, channels_last", [(8, False), (16, False), (16, True), (8, True)])
def test_fused_bottleneck_equals_the_block(in_chs, channels_last):
    from tsjnet_ros.core.model.blocks.resnest import ResNeStBottleneck
    from tsjnet_ros.core.model.fast_bottleneck import FusedBottleneck

    torch.manual_seed(0)
    # Second in a Sequential: its input is the previous module's output, so it may consume it.
    block = nn.Sequential(nn.Identity(), ResNeStBottleneck(in_chs, 4, expansion=4)).eval()  # 16 out
    _randomise_norm_stats(block)
    fused = optimize_for_inference(block, channels_last=channels_last)[1]
    assert isinstance(fused, FusedBottleneck) and fused.consume_input
    assert (fused.weight_shortcut is None) == (in_chs == 16)  # identity shortcut when widths match
    x = torch.randn(2, in_chs, 6, 10)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        expected = block(x)
        torch.testing.assert_close(fused(x.clone()), expected, atol=1e-5, rtol=1e-4)
        fused.consume_input = False
        kept = x.clone()
        torch.testing.assert_close(fused(kept), expected, atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(kept, x)  # the caller's tensor is left alone
