"""Fusion metrics against values worked out by hand on tiny arrays."""

import math

import numpy as np
import pytest

from tsjnet_ros.core.metrics import (
    average_gradient,
    chen_varshney,
    correlation_coefficient,
    entropy,
    mean_squared_error,
    mutual_information,
    peak_signal_to_noise_ratio,
    qabf,
    spatial_frequency,
    ssim_pair,
    standard_deviation,
    structural_similarity,
    sum_of_correlation_differences,
    vif_pair,
)

A2 = np.array([[0.0, 2.0], [0.0, 2.0]])  # varies along x
B2 = np.array([[0.0, 0.0], [2.0, 2.0]])  # varies along y, uncorrelated with A2


def test_entropy_counts_bits_of_the_grey_level_histogram():
    assert entropy(np.array([[0, 0], [255, 255]], np.uint8)) == pytest.approx(1.0)
    assert entropy(np.array([[0, 1], [2, 3]], np.uint8)) == pytest.approx(2.0)
    assert entropy(np.array([[0, 1], [2, 3]], np.uint8), base='nats') == pytest.approx(math.log(4))
    assert entropy(np.full((3, 3), 7, np.uint8)) == 0.0


def test_standard_deviation_is_the_population_form():
    assert standard_deviation(A2) == pytest.approx(1.0)


def test_spatial_frequency_hand_value():
    image = np.array([[0, 1, 3], [0, 1, 3], [0, 1, 3]], float)
    # horizontal differences 1 and 2 in every row: mean square 2.5; no vertical change
    assert spatial_frequency(image) == pytest.approx(math.sqrt(2.5))
    assert spatial_frequency(A2) == pytest.approx(2.0)


def test_average_gradient_central_and_forward_differences():
    image = np.array([[0, 1, 5], [0, 3, 5]], float)
    # central: gx rows [1, 2.5, 4] and [3, 2.5, 2]; gy one-sided [0, 2, 0] in both rows
    central = [1, 2.5**2 + 4, 16, 9, 2.5**2 + 4, 4]
    expected_central = np.mean(np.sqrt(np.array(central) / 2))
    assert average_gradient(image) == pytest.approx(expected_central)
    # forward, interior 1x2: gx [1, 4], gy [0, 2]
    expected_forward = (math.sqrt(0.5) + math.sqrt((16 + 4) / 2)) / 2
    assert average_gradient(image, difference='forward') == pytest.approx(expected_forward)
    assert expected_central != pytest.approx(expected_forward)


def test_mutual_information_bits_nats_and_combination():
    a = np.array([[0, 0], [255, 255]], np.uint8)
    flat = np.full((2, 2), 9, np.uint8)
    # MI(a, a) = H(a) = 1 bit; a constant source shares nothing with F
    assert mutual_information(a, flat, a) == pytest.approx(1.0)
    assert mutual_information(a, flat, a, base='nats') == pytest.approx(math.log(2))
    assert mutual_information(a, flat, a, combine='mean') == pytest.approx(0.5)
    independent = np.array([[0, 255], [0, 255]], np.uint8)
    assert mutual_information(a, a, independent) == pytest.approx(0.0, abs=1e-12)


def test_mse_and_psnr_hand_values():
    ir = np.zeros((4, 4))
    vis = np.full((4, 4), 10.0)
    fused = np.full((4, 4), 5.0)
    assert mean_squared_error(ir, vis, fused) == pytest.approx(25.0)
    assert mean_squared_error(ir, vis, fused, combine='sum') == pytest.approx(50.0)
    assert peak_signal_to_noise_ratio(ir, vis, fused) == pytest.approx(
        10 * math.log10(255**2 / 25)
    )
    # peak = max(F) = 5 -> 10 log10(25 / 25) = 0 dB
    assert peak_signal_to_noise_ratio(ir, vis, fused, peak='max_fused') == pytest.approx(0.0)


def test_correlation_coefficient_mean_and_sum():
    # r(A, F) = 1 because F = A; r(B, F) = 0
    assert correlation_coefficient(A2, B2, A2) == pytest.approx(0.5)
    assert correlation_coefficient(A2, B2, A2, combine='sum') == pytest.approx(1.0)
    assert correlation_coefficient(A2, 2.0 - A2, 3 * A2 + 1) == pytest.approx(0.0)


def test_scd_hand_values():
    # F = A + B: F - B = A and F - A = B, each perfectly correlated -> 2
    assert sum_of_correlation_differences(A2, B2, A2 + B2) == pytest.approx(2.0)
    # F = (A + B) / 2: r(A - B, A) = 1/sqrt(2) for uncorrelated A, B of equal variance
    assert sum_of_correlation_differences(A2, B2, (A2 + B2) / 2) == pytest.approx(math.sqrt(2))


def _gaussian_weights(size, sigma):
    x = np.arange(size) - (size - 1) / 2
    g = np.exp(-(x**2) / (2 * sigma**2))
    w = np.outer(g, g)
    return w / w.sum()


def _ssim_single_window(x, y, weights, c1, c2, sample_cov=False):
    mx, my = np.sum(weights * x), np.sum(weights * y)
    vx, vy = np.sum(weights * (x - mx) ** 2), np.sum(weights * (y - my) ** 2)
    cxy = np.sum(weights * (x - mx) * (y - my))
    if sample_cov:
        n = x.size
        vx, vy, cxy = vx * n / (n - 1), vy * n / (n - 1), cxy * n / (n - 1)
    return ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx**2 + my**2 + c1) * (vx + vy + c2))


def test_ssim_matches_the_formula_on_a_single_gaussian_window():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (11, 11)).astype(float)
    y = np.clip(x * 0.6 + rng.normal(0, 20, x.shape) + 30, 0, 255)
    expected = _ssim_single_window(
        x, y, _gaussian_weights(11, 1.5), (0.01 * 255) ** 2, (0.03 * 255) ** 2
    )
    assert ssim_pair(x, y) == pytest.approx(expected, rel=1e-9)


def test_ssim_uniform_window_uses_sample_covariance():
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, (7, 7)).astype(float)
    y = np.clip(255 - x + rng.normal(0, 10, x.shape), 0, 255)
    weights = np.full((7, 7), 1 / 49)
    expected = _ssim_single_window(
        x, y, weights, (0.01 * 2) ** 2, (0.03 * 2) ** 2, sample_cov=True
    )
    assert ssim_pair(x, y, window='uniform', data_range=2.0) == pytest.approx(expected, rel=1e-9)


def test_ssim_of_two_constant_images_is_the_luminance_term():
    x = np.full((16, 16), 100.0)
    y = np.full((16, 16), 50.0)
    c1 = (0.01 * 255) ** 2
    expected = (2 * 100 * 50 + c1) / (100**2 + 50**2 + c1)  # contrast term C2/C2 = 1
    assert ssim_pair(x, y) == pytest.approx(expected)
    # sources x and y, fused y: SSIM(x, y) and SSIM(y, y) = 1
    assert structural_similarity(x, y, y) == pytest.approx((1 + expected) / 2)
    assert structural_similarity(x, y, y, combine='sum') == pytest.approx(1 + expected)


def test_qabf_of_a_perfect_copy_is_the_product_of_the_sigmoid_caps():
    rng = np.random.default_rng(2)
    image = rng.integers(0, 256, (24, 24)).astype(float)
    cap = 0.9994 / (1 + math.exp(-15 * 0.5)) * 0.9879 / (1 + math.exp(-22 * 0.2))
    assert qabf(image, image, image) == pytest.approx(cap, rel=1e-9)
    # an all-black fused image has no edge (zero padding adds none): G = 0 everywhere, so the
    # strength sigmoid gives at most 0.9994 / (1 + e^7.5)
    assert qabf(image, image, np.zeros_like(image)) < 0.9994 / (1 + math.exp(7.5))


def test_chen_varshney_single_frequency_difference():
    # A = B: flat 128 with one 0 and one 255 pixel in odd columns so min-max normalisation is
    # the identity for A and F. A - F = 20 cos(pi x / 2): one frequency, index 16 of 64,
    # r = 16 / 4 = 4; the CSF scales it by S(4); the mean of cos^2 over a 16-wide block is 1/2.
    a = np.full((64, 64), 128.0)
    a[0, 1], a[0, 3] = 0.0, 255.0
    x = np.arange(64)
    fused = a - 20.0 * np.round(np.cos(np.pi * x / 2))[None, :]
    s4 = 2.6 * (0.0192 + 0.144 * 4) * math.exp(-((0.144 * 4) ** 1.1))
    assert chen_varshney(a, a, fused) == pytest.approx((20 * s4) ** 2 / 2, rel=1e-9)


def test_vif_hand_cases():
    rng = np.random.default_rng(3)
    ref = rng.integers(0, 256, (64, 64)).astype(float)
    # a constant "fused" image carries no information: every gain g is 0 -> VIF 0
    assert vif_pair(ref, np.full_like(ref, 90.0)) == pytest.approx(0.0)
    # an offset leaves every local variance and covariance unchanged -> VIF 1
    base = np.clip(ref, 0, 200)
    assert vif_pair(base, base + 20) == pytest.approx(1.0, abs=1e-6)
    # a contrast gain k > 1 with no noise raises VIF above 1
    assert vif_pair(ref, 2.0 * ref) > 1.0
