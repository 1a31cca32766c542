"""The one resize rule: area averaging when no side grows, bilinear otherwise."""

import cv2
import numpy as np
import pytest

from tsjnet_ros.core.image.resize import resize_image


def _ramp(h, w):
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (h, w), dtype=np.uint8)


def test_shrinking_averages_areas_so_a_bright_pixel_keeps_its_energy():
    image = np.zeros((8, 8), np.uint8)
    image[1, 1] = 160
    small = resize_image(image, (2, 2))
    assert (
        small[0, 0] == 10 and small.sum() == 10
    )  # 160 / 16: the 4x4 block's mean, nothing lost or aliased
    np.testing.assert_array_equal(small, cv2.resize(image, (2, 2), interpolation=cv2.INTER_AREA))


@pytest.mark.parametrize('size', [(30, 40), (60, 40), (30, 80), (60, 80)])
def test_the_flag_follows_the_rule(size):
    image = _ramp(60, 80)
    out = resize_image(image, size)
    grows = size[0] > 60 or size[1] > 80
    flag = cv2.INTER_LINEAR if grows else cv2.INTER_AREA
    np.testing.assert_array_equal(out, cv2.resize(image, size[::-1], interpolation=flag))


def test_one_side_growing_uses_bilinear_not_opencvs_area_sampling():
    image = _ramp(60, 80)
    out = resize_image(image, (90, 40))  # taller but narrower
    np.testing.assert_array_equal(out, cv2.resize(image, (40, 90), interpolation=cv2.INTER_LINEAR))
    assert not np.array_equal(out, cv2.resize(image, (40, 90), interpolation=cv2.INTER_AREA))


def test_bilinear_and_nearest_on_request():
    image = _ramp(60, 80)
    np.testing.assert_array_equal(
        resize_image(image, (30, 40), 'bilinear'),
        cv2.resize(image, (40, 30), interpolation=cv2.INTER_LINEAR),
    )
    labels = np.repeat(np.arange(8, dtype=np.uint8), 10).reshape(8, 10)
    out = resize_image(labels, (23, 7), 'nearest')
    assert set(np.unique(out)) <= set(np.unique(labels))  # no invented class ids


def test_same_size_is_returned_as_is_and_bad_arguments_are_refused():
    image = _ramp(6, 8)
    assert resize_image(image, (6, 8)) is image
    with pytest.raises(ValueError, match='interpolation'):
        resize_image(image, (3, 4), 'cubic')
    with pytest.raises(ValueError, match='positive'):
        resize_image(image, (0, 4))
