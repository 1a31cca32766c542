"""Letterbox geometry against boxes computed by hand for several camera sizes and aspects."""

from __future__ import annotations

import numpy as np
import pytest

from tsjnet_ros.core.perception.letterbox import PAD_VALUE, Letterbox

# (camera H, W), (network h, w), expected resized (rh, rw), offset (top, left),
# a box in network pixels and the same box worked out by hand in camera pixels.
CASES = [
    # 1280x720 into 640x640: scale 1/2, 640x360 image, 140 rows of grey above.
    ((720, 1280), (640, 640), (360, 640), (140, 0), (100, 240, 200, 340), (200, 200, 400, 400)),
    # portrait 480x640 into 640x640: scale 1, 80 columns of grey left.
    ((640, 480), (640, 640), (640, 480), (0, 80), (180, 100, 280, 300), (100, 100, 200, 300)),
    # 640x480 into 640x640: scale 1, 80 rows above.
    ((480, 640), (640, 640), (480, 640), (80, 0), (10, 90, 110, 190), (10, 10, 110, 110)),
    # 1920x1080 into a non-square 640x384 input: scale 1/3, 640x360, 12 rows above.
    ((1080, 1920), (384, 640), (360, 640), (12, 0), (64, 32, 128, 92), (192, 60, 384, 240)),
    # 300x200 scaled up by 640/300: 640x427 (rounded), 106 rows above; the image's own
    # extent maps to the whole camera frame.
    ((200, 300), (640, 640), (427, 640), (106, 0), (0, 106, 640, 533), (0, 0, 300, 200)),
    # without scale_up: no scaling, only padding (a free-size model at the camera size padded
    # to 32).
    ((470, 630), (480, 640), (470, 630), (5, 5), (15, 25, 115, 125), (10, 20, 110, 120)),
]


@pytest.mark.parametrize('source, target, resized, offset, net_box, camera_box', CASES)
def test_geometry_and_boxes_back_to_camera_pixels(
    source, target, resized, offset, net_box, camera_box
):
    box = Letterbox.fit(source, target, scale_up=source != (470, 630))
    assert box.resized_size == resized and box.offset == offset
    np.testing.assert_allclose(box.boxes_to_source(np.array([net_box]))[0], camera_box, atol=1e-9)


@pytest.mark.parametrize('source, target, resized, offset, net_box, camera_box', CASES)
def test_image_is_placed_where_the_geometry_says(
    source, target, resized, offset, net_box, camera_box
):
    image = np.full(source + (3,), 200, np.uint8)
    out = Letterbox.fit(source, target, scale_up=source != (470, 630)).apply(image)
    assert out.shape == target + (3,)
    (rh, rw), (top, left) = resized, offset
    inside = np.zeros(target, bool)
    inside[top : top + rh, left : left + rw] = True
    assert (out[inside] == 200).all() and (out[~inside] == PAD_VALUE).all()


def test_boxes_are_clipped_to_the_camera_image():
    box = Letterbox.fit((720, 1280), (640, 640))
    # a box reaching into the grey band above and beyond the right edge
    np.testing.assert_allclose(
        box.boxes_to_source(np.array([[600, 100, 700, 200]]))[0], [1200, 0, 1280, 120]
    )


def test_content_window_at_output_stride():
    box = Letterbox.fit((720, 1280), (640, 640))  # image rows 140..500 of 640
    rows, cols = box.content_window((160, 160))  # a stride-4 output map
    assert (rows.start, rows.stop, cols.start, cols.stop) == (35, 125, 0, 160)


def test_rejects_bad_sizes_and_wrong_images():
    with pytest.raises(ValueError, match='positive'):
        Letterbox.fit((0, 640), (640, 640))
    with pytest.raises(ValueError, match='letterbox expects'):
        Letterbox.fit((480, 640), (640, 640)).apply(np.zeros((10, 10), np.uint8))


def test_scale_up_is_the_default_and_can_be_turned_off():
    assert Letterbox.fit((470, 630), (480, 640)).resized_size == (
        477,
        640,
    )  # 470 * 640 / 630 = 477.46, rounded
    assert Letterbox.fit((470, 630), (480, 640), scale_up=False).resized_size == (470, 630)
    assert Letterbox.fit((960, 1280), (480, 640), scale_up=False).resized_size == (
        480,
        640,
    )  # shrinking still allowed
