"""Fusion-quality losses on hand-made tensors with values worked out by hand."""

import math

import pytest
import torch

from tsjnet_ros.core.model.losses import (
    LossWeights,
    diversity_loss,
    gaussian_window,
    gradient_loss,
    intensity_loss,
    reconstruction_loss,
    sobel_magnitude,
    ssim,
    ssim_loss,
    texture_weights,
)


def full(value, h=16, w=16, b=1):
    return torch.full((b, 1, h, w), float(value))


def step_image(h=16, w=16, col=8, low=0.0, high=1.0):
    img = torch.full((1, 1, h, w), low)
    img[..., col:] = high
    return img


def test_intensity_targets_the_brighter_source():
    ir = full(0.5)
    vis = full(0.2)
    assert intensity_loss(full(0.0), ir, vis).item() == pytest.approx(0.5)
    assert intensity_loss(full(0.5), ir, vis).item() == pytest.approx(0.0)
    # half the pixels right, half 0.25 too dark -> mean 0.125
    fused = full(0.5)
    fused[..., :8] = 0.25
    assert intensity_loss(fused, ir, vis).item() == pytest.approx(0.125)


def test_sobel_of_a_unit_step_is_four_on_two_columns():
    mag = sobel_magnitude(step_image())[0, 0]
    assert torch.allclose(mag[:, 7], torch.full((16,), 4.0))
    assert torch.allclose(mag[:, 8], torch.full((16,), 4.0))
    mag[:, 7:9] = 0
    assert mag.abs().max().item() == 0.0  # flat regions and borders give no gradient


def test_gradient_loss_zero_when_fused_keeps_the_stronger_edge():
    ir = step_image(high=1.0)
    vis = step_image(high=0.5)
    assert gradient_loss(ir, ir, vis).item() == pytest.approx(0.0)
    # a flat fused image misses the 4.0 edge on 2 of 16 columns
    assert gradient_loss(full(0.3), ir, vis).item() == pytest.approx(4.0 * 2 / 16)


def test_gaussian_window_is_normalised_and_peaked():
    w = gaussian_window()
    assert w.shape == (1, 1, 11, 11)
    assert w.sum().item() == pytest.approx(1.0, abs=1e-6)
    assert w[0, 0, 5, 5] == w.max()
    assert (w[0, 0, 5, 6] / w[0, 0, 5, 5]).item() == pytest.approx(
        math.exp(-1 / (2 * 1.5**2)), rel=1e-5
    )


def test_ssim_identical_is_one_and_constants_match_formula():
    img = torch.rand(2, 1, 20, 20, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(ssim(img, img), torch.ones(2), atol=1e-5)
    a, b = 0.2, 0.6
    c1 = 0.01**2
    expected = (2 * a * b + c1) / (a * a + b * b + c1)  # zero variance: structure term is 1
    assert ssim(full(a, 12, 12), full(b, 12, 12)).item() == pytest.approx(expected, rel=1e-4)


def test_ssim_rejects_images_smaller_than_the_window():
    with pytest.raises(ValueError, match='at least 11x11'):
        ssim(full(0.1, 8, 8), full(0.1, 8, 8))


def test_texture_weights_follow_gradient_share():
    w_ir, w_vis = texture_weights(full(0.5), step_image())
    assert w_ir.item() == pytest.approx(0.0, abs=1e-3)
    assert w_vis.item() == pytest.approx(1.0, abs=1e-3)
    w_ir, w_vis = texture_weights(full(0.5), full(0.1))
    assert w_ir.item() == pytest.approx(0.5, abs=1e-3) and w_vis.item() == pytest.approx(
        0.5, abs=1e-3
    )


def test_ssim_loss_uses_the_textured_source():
    vis = step_image(h=16, w=16)
    ir = full(0.5)
    # fused == textured visible -> weight on VIS is ~1 and its SSIM is 1
    assert ssim_loss(vis, ir, vis).item() == pytest.approx(0.0, abs=1e-3)
    # fused == flat IR -> it matches the source that carries (almost) no weight
    assert ssim_loss(ir, ir, vis).item() > 0.5


def test_reconstruction_weights_and_missing_outputs():
    ir, vis = full(0.5), full(0.2)
    ir_hat, vis_hat = full(0.4), full(0.4)
    expected = 6 * 0.2**2 + 1 * 0.1**2
    assert reconstruction_loss(ir, vis, ir_hat, vis_hat).item() == pytest.approx(expected)
    assert reconstruction_loss(ir, vis, None, None).item() == 0.0
    assert reconstruction_loss(ir, vis, ir_hat, None, ir_weight=3.0).item() == pytest.approx(
        3 * 0.01
    )


def test_diversity_prefers_one_confident_group_per_pixel():
    all_on = torch.ones(1, 4, 5, 5)
    assert diversity_loss(all_on).item() == pytest.approx(1.0)  # 0 + mean 1
    one_hot = torch.zeros(1, 4, 5, 5)
    one_hot[:, 0] = 1.0
    assert diversity_loss(one_hot).item() == pytest.approx(0.25)  # 0 + 1/4
    assert diversity_loss(torch.zeros(1, 4, 5, 5)).item() == pytest.approx(1.0)  # 1 + 0
    with pytest.raises(ValueError, match=r'\(B, G, h, w\)'):
        diversity_loss(torch.zeros(4, 5, 5))


def test_image_losses_reject_bad_shapes_and_types():
    with pytest.raises(ValueError, match=r'\(B, 1, H, W\)'):
        intensity_loss(torch.zeros(1, 3, 8, 8), full(0, 8, 8), full(0, 8, 8))
    with pytest.raises(ValueError, match='expected'):
        gradient_loss(full(0, 8, 8), full(0, 8, 9), full(0, 8, 8))
    with pytest.raises(TypeError, match='float'):
        intensity_loss(torch.zeros(1, 1, 4, 4, dtype=torch.long), full(0, 4, 4), full(0, 4, 4))


def test_loss_weight_defaults_and_validation():
    w = LossWeights()
    assert (w.intensity, w.gradient, w.ssim, w.diversity) == (20, 20, 10, 0.1)
    assert (w.reconstruction_visible, w.reconstruction_ir) == (6, 1)
    assert LossWeights.from_dict({'ssim': 5}).ssim == 5.0
    with pytest.raises(ValueError, match='unknown loss weight'):
        LossWeights.from_dict({'sssim': 5})
    with pytest.raises(ValueError, match='>= 0'):
        LossWeights(gradient=-1)
