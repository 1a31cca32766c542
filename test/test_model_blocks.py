"""Building blocks.

ResNeSt split attention, NAT-mini, DSM, saliency, spatial attention, padding.
"""

import pytest
import torch

from tsjnet_ros.core.model.blocks.detail_saliency import DetailSaliencyModule
from tsjnet_ros.core.model.blocks.layer_choice import act_factory, norm2d_factory
from tsjnet_ros.core.model.blocks.nat import NATBranch, NATMini
from tsjnet_ros.core.model.blocks.resnest import ResNeStBottleneck, SplitAttention2d, resnest_stage
from tsjnet_ros.core.model.blocks.saliency import FeatureSaliency
from tsjnet_ros.core.model.blocks.spatial_attention import GroupedSpatialAttention
from tsjnet_ros.core.model.padding import crop_to, pad_to_multiple, padded_size


@pytest.mark.parametrize('radix, cardinality', [(2, 1), (4, 2), (1, 1)])
def test_split_attention_weights_are_a_distribution_over_the_radix(radix, cardinality):
    torch.manual_seed(0)
    layer = SplitAttention2d(16, radix=radix, cardinality=cardinality).eval()
    weights = layer.radix_weights(torch.randn(3, 16, 1, 1))
    assert weights.shape == (3, radix, 16, 1, 1)
    if radix > 1:
        torch.testing.assert_close(weights.sum(dim=1), torch.ones(3, 16, 1, 1))
    assert layer(torch.randn(2, 16, 9, 11)).shape == (2, 16, 9, 11)


def test_split_attention_with_one_dominant_branch_returns_that_branch():
    layer = SplitAttention2d(8, radix=2).eval()
    x = torch.randn(1, 8, 6, 6)
    with torch.no_grad():
        # Make fc2 favour radix 0 overwhelmingly (norm after fc2 is an affine identity in eval).
        layer.fc2[0].weight.zero_()
        layer.fc2[1].bias.copy_(torch.cat([torch.full((8,), 50.0), torch.full((8,), -50.0)]))
        splits = layer.radix_conv(x).view(1, 2, 8, 6, 6)
        torch.testing.assert_close(layer(x), splits[:, 0], atol=1e-5, rtol=1e-5)


def test_bottleneck_projects_only_when_widths_differ():
    stage = resnest_stage(16, 8, 2, expansion=4)
    assert stage[0].out_chs == 32 and not isinstance(stage[0].shortcut, torch.nn.Identity)
    assert isinstance(stage[1].shortcut, torch.nn.Identity)
    assert stage(torch.randn(2, 16, 8, 8)).shape == (2, 32, 8, 8)
    # A batch-norm in the attention MLP cannot train on one image; group norm can.
    with pytest.raises(ValueError, match='more than 1 value per channel'):
        stage(torch.randn(1, 16, 8, 8))
    resnest_stage(16, 8, 1, attn_norm_layer='groupnorm')(torch.randn(1, 16, 8, 8))
    with pytest.raises(ValueError, match='divisible by cardinality'):
        ResNeStBottleneck(8, 6, cardinality=4)


def test_layer_names_resolve_and_unknown_names_fail():
    assert isinstance(act_factory('relu6')(), torch.nn.ReLU6)
    assert isinstance(norm2d_factory('groupnorm')(12), torch.nn.GroupNorm)
    assert isinstance(act_factory(torch.nn.Tanh)(), torch.nn.Tanh)
    with pytest.raises(ValueError, match='unknown activation'):
        act_factory('swishy')
    with pytest.raises(TypeError, match='norm layer'):
        norm2d_factory(3)


def test_grouped_spatial_attention_groups_only_see_their_own_channels():
    torch.manual_seed(0)
    att = GroupedSpatialAttention(12, groups=3)
    x = torch.randn(2, 12, 5, 7)
    out, maps = att(x)
    assert maps.shape == (2, 3, 5, 7) and out.shape == x.shape
    x2 = x.clone()
    x2[:, :4] += 1.0  # perturb group 0 only
    _, maps2 = att(x2)
    assert not torch.allclose(maps[:, 0], maps2[:, 0])
    torch.testing.assert_close(maps[:, 1:], maps2[:, 1:])
    torch.testing.assert_close(out[:, 4:8], x[:, 4:8] * maps[:, 1:2])
    with pytest.raises(ValueError, match='divide channels'):
        GroupedSpatialAttention(10, groups=3)


def _square_image(size=32):
    img = torch.zeros(1, 2, size, size)
    img[..., 8:24, 8:24] = 1.0
    return img


def test_harris_saliency_peaks_at_corners_and_is_zero_on_flat_images():
    sal = FeatureSaliency('harris')(_square_image())
    assert sal.shape == (1, 1, 32, 32) and sal.max() == pytest.approx(1.0)
    corner, edge_middle, inside = sal[0, 0, 8, 8], sal[0, 0, 8, 16], sal[0, 0, 16, 16]
    assert corner > 0.5 and edge_middle < 0.1 * corner and inside == 0
    assert FeatureSaliency('harris')(torch.ones(1, 3, 16, 16)).abs().max() == 0


def test_gradient_saliency_marks_edges_not_interiors():
    sal = FeatureSaliency('gradient')(_square_image())
    assert sal[0, 0, 8, 16] > 0.5 and sal[0, 0, 16, 16] < 1e-3 and sal[0, 0, 2, 2] < 1e-3
    with pytest.raises(ValueError, match='saliency kind'):
        FeatureSaliency('sift')


def test_dsm_saliency_path_passes_salient_detail_through():
    torch.manual_seed(0)
    x = _square_image().repeat(1, 4, 1, 1)  # 8 channels
    with_sal = DetailSaliencyModule(8, attention_groups=2, saliency='harris').eval()
    without = DetailSaliencyModule(8, attention_groups=2, saliency='none').eval()
    without.load_state_dict(with_sal.state_dict())
    with torch.no_grad():
        diff = with_sal(x) - without(x)
    expected = FeatureSaliency('harris')(x) * x
    torch.testing.assert_close(diff, expected, atol=1e-5, rtol=1e-4)
    with pytest.raises(ValueError, match='even H and W'):
        with_sal(torch.randn(1, 8, 7, 8))


def test_dsm_separable_variant_keeps_shape_with_fewer_parameters():
    dense = DetailSaliencyModule(32)
    separable = DetailSaliencyModule(32, separable=True)
    assert separable(torch.randn(1, 32, 8, 12)).shape == (1, 32, 8, 12)
    assert sum(p.numel() for p in separable.parameters()) < sum(
        p.numel() for p in dense.parameters()
    )


def test_nat_mini_returns_the_input_size_and_checks_divisibility():
    torch.manual_seed(0)
    nat = NATMini(
        8,
        6,
        embed_dim=8,
        depths=(1, 1),
        num_heads=(1, 2),
        tokenizer_strides=(2,),
        head_chs=(8,),
        upsample_strides=(2, 2),
        drop_path_rate=0.0,
    )
    assert nat.stride == 4
    assert nat(torch.randn(2, 8, 12, 20)).shape == (2, 6, 12, 20)
    with pytest.raises(ValueError, match='divisible by its stride 4'):
        nat(torch.randn(1, 8, 10, 20))
    with pytest.raises(ValueError, match='upsample_strides'):
        NATMini(
            8,
            8,
            embed_dim=8,
            depths=(1, 1),
            num_heads=(1, 1),
            tokenizer_strides=(2,),
            upsample_strides=(2,),
        )


def test_nat_branch_is_residual():
    branch = NATBranch(
        8,
        embed_dim=8,
        depths=(1,),
        num_heads=(2,),
        tokenizer_strides=(2,),
        head_chs=(8,),
        upsample_strides=(2,),
        drop_path_rate=0.0,
    ).eval()
    with torch.no_grad():
        for p in branch.nat.proj[-1].parameters():
            p.zero_()  # NAT contribution switched off
        x = torch.randn(1, 8, 14, 14)
        torch.testing.assert_close(branch(x), x)


def test_padding_reflects_small_pads_replicates_large_ones_and_crops_back():
    assert padded_size(37, 64, 16) == (48, 64)
    x = torch.arange(12.0).view(1, 1, 3, 4)
    padded = pad_to_multiple(x, 4)
    assert padded.shape == (1, 1, 4, 4)
    torch.testing.assert_close(padded[0, 0, 3], x[0, 0, 1])  # reflection of row 1
    big = pad_to_multiple(x, 8)
    assert big.shape == (1, 1, 8, 8)
    torch.testing.assert_close(big[0, 0, 7, :4], x[0, 0, 2])  # replicated last row
    assert (big[0, 0, :3, 4:] == x[0, 0, :, 3:]).all()  # replicated last column
    torch.testing.assert_close(crop_to(big, 3, 4), x)
    with pytest.raises(ValueError, match='pad mode'):
        pad_to_multiple(x, 4, mode='wrap')
    with pytest.raises(ValueError, match='larger'):
        crop_to(x, 5, 4)


def test_grouped_spatial_attention_gives_the_same_result_channels_last():
    torch.manual_seed(0)
    att = GroupedSpatialAttention(16, groups=4)
    x = torch.randn(2, 16, 6, 10)
    out, maps = att(x)
    out_cl, maps_cl = att(x.contiguous(memory_format=torch.channels_last))
    assert out_cl.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(out_cl, out)
    torch.testing.assert_close(maps_cl, maps)


@pytest.mark.parametrize('channels_last', [False, True])
def test_space_to_depth_round_trips_and_keeps_the_layout(channels_last):
    from tsjnet_ros.core.model.blocks.space_depth import depth_to_space, space_to_depth

    x = torch.arange(2 * 3 * 4 * 6, dtype=torch.float32).view(2, 3, 4, 6)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    packed = space_to_depth(x, 2)
    assert packed.shape == (2, 12, 2, 3)
    # Channel (dy*2 + dx)*C + c holds pixel (2h + dy, 2w + dx) of channel c.
    torch.testing.assert_close(packed[:, 1 * 3 + 2], x[:, 2, 0::2, 1::2])
    torch.testing.assert_close(packed[:, 2 * 3 + 0], x[:, 0, 1::2, 0::2])
    if channels_last:
        assert packed.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(depth_to_space(packed, 2), x)
    with pytest.raises(ValueError, match='divisible'):
        space_to_depth(torch.zeros(1, 1, 5, 4), 2)


def test_grouped_spatial_attention_in_place_matches_and_reuses_the_input():
    att = GroupedSpatialAttention(8, groups=2)
    x = torch.randn(1, 8, 4, 6)
    with torch.no_grad():
        expected, maps = att(x)
        out, maps_inplace = att(x.clone(), inplace=True)
        y = x.clone()
        same, _ = att(y, inplace=True)
    torch.testing.assert_close(out, expected)
    torch.testing.assert_close(maps_inplace, maps)
    assert same.data_ptr() == y.data_ptr()
