"""Neighborhood attention: parity with natten and a dense reference, gradients, validation."""

import pytest
import torch

from tsjnet_ros.core.model.layers.neighborhood_attention import neighborhood_attention_2d
from tsjnet_ros.core.model.layers.neighborhood_attention_reference import (
    dense_neighborhood_attention_2d,
)
from tsjnet_ros.core.model.layers.neighborhood_tiling import axis_window

try:
    import natten
except ImportError:  # parity tests need natten; everything else runs without it
    natten = None

needs_natten = pytest.mark.skipif(natten is None, reason='natten is not installed')


def _qkv(batch, height, width, heads, head_dim, dtype=torch.float32, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return [
        torch.randn(batch, height, width, heads, head_dim, generator=gen, dtype=dtype)
        for _ in range(3)
    ]


def test_axis_window_matches_hand_computed_tables():
    index, rel = axis_window(6, 3, 1)
    assert index.tolist() == [[0, 1, 2], [0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 5], [3, 4, 5]]
    # Border queries see keys shifted to one side: offsets 0..2 at the top, -2..0 at the bottom.
    assert rel.tolist()[0] == [2, 3, 4]
    assert rel.tolist()[2] == [1, 2, 3]
    assert rel.tolist()[5] == [0, 1, 2]
    # Dilation 2 on 7 positions: groups {0,2,4,6} and {1,3,5} are windowed separately.
    index, _ = axis_window(7, 3, 2)
    assert index.tolist() == [
        [0, 2, 4],
        [1, 3, 5],
        [0, 2, 4],
        [1, 3, 5],
        [2, 4, 6],
        [1, 3, 5],
        [2, 4, 6],
    ]


@needs_natten
@pytest.mark.parametrize('size', [(16, 16), (24, 40)])
@pytest.mark.parametrize('kernel_size', [3, 5, 7])
@pytest.mark.parametrize('heads', [1, 3])
def test_torch_backend_equals_natten_on_cpu(size, kernel_size, heads):
    query, key, value = _qkv(2, size[0], size[1], heads, 8, seed=kernel_size)
    with torch.no_grad():
        ours = neighborhood_attention_2d(query, key, value, kernel_size, backend='torch')
        theirs = natten.na2d(query, key, value, kernel_size=kernel_size)
    torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-5)


@needs_natten
@pytest.mark.parametrize('size,kernel_size,dilation', [((24, 40), 5, 2), ((17, 23), 3, 3)])
def test_dilated_torch_backend_equals_natten_on_cpu(size, kernel_size, dilation):
    query, key, value = _qkv(1, size[0], size[1], 2, 8, seed=dilation)
    with torch.no_grad():
        ours = neighborhood_attention_2d(query, key, value, kernel_size, dilation, backend='torch')
        theirs = natten.na2d(query, key, value, kernel_size=kernel_size, dilation=dilation)
        explicit = neighborhood_attention_2d(
            query, key, value, kernel_size, dilation, scale=0.3, backend='natten'
        )
        ours_scaled = neighborhood_attention_2d(
            query, key, value, kernel_size, dilation, scale=0.3, backend='torch'
        )
    torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-5)
    torch.testing.assert_close(ours_scaled, explicit, rtol=0, atol=1e-5)


@pytest.mark.parametrize(
    'size,kernel_size,dilation',
    [((16, 16), 3, 1), ((9, 14), 7, 1), ((13, 11), 3, 2), ((21, 22), 5, 4)],
)
@pytest.mark.parametrize('with_rpb', [False, True])
def test_torch_backend_equals_dense_masked_attention(size, kernel_size, dilation, with_rpb):
    heads = 2
    query, key, value = _qkv(2, size[0], size[1], heads, 4, seed=3)
    rpb = None
    if with_rpb:
        rpb = torch.randn(heads, 2 * kernel_size - 1, 2 * kernel_size - 1)
    ours = neighborhood_attention_2d(query, key, value, kernel_size, dilation, rpb=rpb)
    dense = dense_neighborhood_attention_2d(query, key, value, kernel_size, dilation, rpb=rpb)
    torch.testing.assert_close(ours, dense, rtol=0, atol=1e-5)


def test_rpb_uses_offset_of_key_relative_to_query():
    # A bias that only rewards the key one row below makes attention pick that key's value.
    kernel_size = 3
    query = torch.zeros(1, 5, 5, 1, 2)
    key = torch.zeros(1, 5, 5, 1, 2)
    value = torch.arange(25.0).reshape(1, 5, 5, 1, 1).expand(1, 5, 5, 1, 2).contiguous()
    rpb = torch.full((1, 5, 5), -1e4)
    rpb[0, kernel_size - 1 + 1, kernel_size - 1] = 0.0  # dy = +1, dx = 0
    out = neighborhood_attention_2d(query, key, value, kernel_size, rpb=rpb)
    rows_below = value[0, 1:, :, 0, 0]
    torch.testing.assert_close(out[0, :4, :, 0, 0], rows_below)


def test_gradcheck_float64_with_rpb():
    query, key, value = _qkv(1, 6, 5, 2, 3, dtype=torch.float64, seed=5)
    rpb = torch.randn(2, 5, 5, dtype=torch.float64)
    inputs = [t.requires_grad_() for t in (query, key, value, rpb)]

    def fn(q, k, v, bias):
        return neighborhood_attention_2d(q, k, v, 3, 1, rpb=bias, backend='torch')

    assert torch.autograd.gradcheck(fn, inputs, eps=1e-6, atol=1e-5)


def test_gradcheck_float64_dilated():
    query, key, value = _qkv(1, 7, 6, 1, 2, dtype=torch.float64, seed=6)
    inputs = [t.requires_grad_() for t in (query, key, value)]

    def fn(q, k, v):
        return neighborhood_attention_2d(q, k, v, 3, 2, backend='torch')

    assert torch.autograd.gradcheck(fn, inputs, eps=1e-6, atol=1e-5)


def test_gradients_equal_dense_reference():
    query, key, value = _qkv(2, 12, 10, 2, 4, seed=7)
    rpb = torch.randn(2, 9, 9)
    weight = torch.randn(2, 12, 10, 2, 4)
    grads = []
    for fn in (neighborhood_attention_2d, dense_neighborhood_attention_2d):
        leaves = [t.clone().requires_grad_() for t in (query, key, value, rpb)]
        (fn(*leaves[:3], 5, 1, rpb=leaves[3]) * weight).sum().backward()
        grads.append([t.grad for t in leaves])
    for ours, dense in zip(*grads):
        torch.testing.assert_close(ours, dense, rtol=0, atol=1e-5)


def test_auto_backend_uses_torch_on_cpu():
    query, key, value = _qkv(1, 8, 8, 2, 4)
    rpb = torch.randn(2, 5, 5)
    auto = neighborhood_attention_2d(query, key, value, 3, rpb=rpb, backend='auto')
    ours = neighborhood_attention_2d(query, key, value, 3, rpb=rpb, backend='torch')
    assert torch.equal(auto, ours)


@pytest.mark.parametrize(
    'kwargs,error,message',
    [
        ({'kernel_size': 4}, ValueError, 'odd'),
        ({'kernel_size': 9}, ValueError, 'kernel_size\\*dilation'),
        ({'kernel_size': 3, 'dilation': 3}, ValueError, 'kernel_size\\*dilation'),
        ({'kernel_size': 3, 'dilation': 0}, ValueError, 'dilation'),
        ({'kernel_size': 3.0}, TypeError, 'kernel_size'),
        ({'kernel_size': 3, 'rpb': torch.zeros(2, 3, 3)}, ValueError, 'rpb'),
        ({'kernel_size': 3, 'backend': 'cuda'}, ValueError, 'backend'),
        ({'kernel_size': 3, 'rpb': torch.zeros(2, 5, 5), 'backend': 'natten'}, ValueError, 'rpb'),
    ],
)
def test_bad_arguments_raise_clear_errors(kwargs, error, message):
    query, key, value = _qkv(1, 8, 8, 2, 4)
    with pytest.raises(error, match=message):
        neighborhood_attention_2d(query, key, value, **kwargs)


def test_bad_tensor_shapes_raise_clear_errors():
    query, key, value = _qkv(1, 8, 8, 2, 4)
    with pytest.raises(ValueError, match='batch, height, width, heads, head_dim'):
        neighborhood_attention_2d(query[0], key[0], value[0], 3)
    with pytest.raises(ValueError, match='key shape'):
        neighborhood_attention_2d(query, key[:, :7], value, 3)
    with pytest.raises(ValueError, match='value shape'):
        neighborhood_attention_2d(query, key, value[:, :, :7], 3)
    with pytest.raises(TypeError, match='floating-point'):
        neighborhood_attention_2d(query, key, value.long(), 3)
    with pytest.raises(TypeError, match='query must be a torch.Tensor'):
        neighborhood_attention_2d(query.numpy(), key, value, 3)


def test_plans_cached_under_inference_mode_serve_later_training_forwards():
    # A pipeline (inference_mode) and a training step in one process share the plan cache.
    from tsjnet_ros.core.model.layers.neighborhood_attention import neighborhood_attention_2d_torch

    gen = torch.Generator().manual_seed(11)
    q, k, v = (torch.randn(1, 13, 11, 1, 4, generator=gen) for _ in range(3))
    with torch.inference_mode():
        neighborhood_attention_2d_torch(q, k, v, kernel_size=5)
    q.requires_grad_(True)
    out = neighborhood_attention_2d_torch(q, k, v, kernel_size=5)
    out.sum().backward()
    assert q.grad is not None and torch.isfinite(q.grad).all()
