"""NeighborhoodAttention2d layer: shapes, checkpoint names, padding, training on CPU."""

from pathlib import Path

import pytest
import torch

from tsjnet_ros.core.model.layers import NeighborhoodAttention2d
from tsjnet_ros.core.model.layers.neighborhood_attention_reference import (
    dense_neighborhood_attention_2d,
)

STATE_DICT_TABLE = (
    Path(__file__).resolve().parents[1]
    / '..'
    / 'shared'
    / 'reference'
    / 'tsjnet_official_state_dict.tsv'
)


def test_layer_equals_projections_around_dense_reference():
    torch.manual_seed(0)
    layer = NeighborhoodAttention2d(12, 3, kernel_size=5, rel_pos_bias=True).eval()
    x = torch.randn(2, 9, 11, 12)
    qkv = layer.qkv(x).reshape(2, 9, 11, 3, 3, 4)
    attended = dense_neighborhood_attention_2d(
        qkv[:, :, :, 0], qkv[:, :, :, 1], qkv[:, :, :, 2], 5, rpb=layer.rpb
    )
    expected = layer.proj(attended.reshape(2, 9, 11, 12))
    torch.testing.assert_close(layer(x), expected, rtol=0, atol=1e-5)


def test_small_maps_are_padded_and_cropped_like_nat():
    torch.manual_seed(1)
    layer = NeighborhoodAttention2d(8, 2, kernel_size=7).eval()
    x = torch.randn(1, 4, 9, 8)
    out = layer(x)
    assert out.shape == x.shape
    padded = torch.nn.functional.pad(x, (0, 0, 0, 0, 0, 3))
    qkv = layer.qkv(padded).reshape(1, 7, 9, 3, 2, 4)
    attended = dense_neighborhood_attention_2d(
        qkv[:, :, :, 0], qkv[:, :, :, 1], qkv[:, :, :, 2], 7
    )
    expected = layer.proj(attended.reshape(1, 7, 9, 8))[:, :4]
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-5)


def test_backward_reaches_every_parameter_on_cpu():
    torch.manual_seed(2)
    layer = NeighborhoodAttention2d(16, 2, kernel_size=3, rel_pos_bias=True, attn_drop=0.1)
    layer.train()
    layer(torch.randn(2, 8, 10, 16)).square().mean().backward()
    for name, param in layer.named_parameters():
        assert param.grad is not None and torch.isfinite(param.grad).all(), name
        assert param.grad.abs().sum() > 0, name


def test_attention_dropout_only_in_training():
    torch.manual_seed(3)
    layer = NeighborhoodAttention2d(8, 2, kernel_size=3, attn_drop=0.5)
    x = torch.randn(1, 6, 6, 8)
    layer.eval()
    assert torch.equal(layer(x), layer(x))
    layer.train()
    assert not torch.equal(layer(x), layer(x))


@pytest.mark.skipif(not STATE_DICT_TABLE.is_file(), reason='shared reference folder is absent')
def test_parameter_names_and_shapes_match_official_checkpoint():
    prefix = 'baseFeature.attn.levels.0.blocks.0.attn.'
    official = {}
    for line in STATE_DICT_TABLE.read_text().splitlines():
        fields = line.split('\t')
        if len(fields) >= 3 and fields[1].startswith(prefix):
            official[fields[1][len(prefix) :]] = fields[2]
    assert official, 'table lists no level-0 attention parameters'
    layer = NeighborhoodAttention2d(64, 2, kernel_size=7, rel_pos_bias=True)
    ours = {name: str(tuple(t.shape)) for name, t in layer.state_dict().items()}
    assert ours == official


def test_bad_construction_and_input_raise():
    with pytest.raises(ValueError, match='multiple of num_heads'):
        NeighborhoodAttention2d(10, 3)
    with pytest.raises(ValueError, match='odd'):
        NeighborhoodAttention2d(8, 2, kernel_size=4)
    with pytest.raises(ValueError, match='backend'):
        NeighborhoodAttention2d(8, 2, backend='fast')
    layer = NeighborhoodAttention2d(8, 2, kernel_size=3)
    with pytest.raises(ValueError, match='expected input shaped'):
        layer(torch.randn(1, 8, 6, 6))
