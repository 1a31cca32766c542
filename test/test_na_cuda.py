"""Neighborhood attention on CUDA: both backends agree and "auto" dispatches to natten."""

import pytest
import torch

from tsjnet_ros.core.model.layers import NeighborhoodAttention2d, neighborhood_attention_2d

try:
    import natten
except ImportError:
    natten = None

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason='no CUDA device')
needs_natten = pytest.mark.skipif(natten is None, reason='natten is not installed')


def _qkv(shape, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(shape, generator=gen).cuda() for _ in range(3)]


@needs_natten
@pytest.mark.parametrize('kernel_size,dilation', [(3, 1), (7, 1), (5, 2)])
def test_torch_backend_equals_natten_on_cuda(kernel_size, dilation):
    query, key, value = _qkv((2, 24, 40, 2, 16), seed=kernel_size)
    leaves = [[t.clone().requires_grad_() for t in (query, key, value)] for _ in range(2)]
    outs = [
        neighborhood_attention_2d(*leaves[0], kernel_size, dilation, backend='torch'),
        natten.na2d(*leaves[1], kernel_size=kernel_size, dilation=dilation),
    ]
    torch.testing.assert_close(outs[0], outs[1], rtol=0, atol=1e-4)
    weight = torch.randn_like(outs[0])
    for out in outs:
        (out * weight).sum().backward()
    for ours, theirs in zip(*leaves):
        torch.testing.assert_close(ours.grad, theirs.grad, rtol=0, atol=1e-4)


@needs_natten
def test_auto_backend_uses_natten_without_rpb_and_ours_with_rpb():
    query, key, value = _qkv((1, 16, 16, 2, 16))
    with torch.no_grad():
        auto = neighborhood_attention_2d(query, key, value, 5)
        theirs = neighborhood_attention_2d(query, key, value, 5, backend='natten')
        rpb = torch.randn(2, 9, 9, device='cuda')
        auto_rpb = neighborhood_attention_2d(query, key, value, 5, rpb=rpb)
        ours_rpb = neighborhood_attention_2d(query, key, value, 5, rpb=rpb, backend='torch')
    assert torch.equal(auto, theirs)
    assert torch.equal(auto_rpb, ours_rpb)


def test_layer_trains_on_cuda():
    layer = NeighborhoodAttention2d(32, 2, kernel_size=7, rel_pos_bias=True).cuda()
    out = layer(torch.randn(2, 20, 24, 32, device='cuda'))
    out.square().mean().backward()
    assert out.shape == (2, 20, 24, 32)
    assert all(torch.isfinite(p.grad).all() for p in layer.parameters())
