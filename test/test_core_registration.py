"""IR-to-visible registration: estimated from matched points, warps IR onto visible pixels."""

from __future__ import annotations

import numpy as np
import pytest

from tsjnet_ros.core.preparation.pair_alignment import align_pair, aspect_mismatch
from tsjnet_ros.core.preparation.registration import (
    Registration,
    estimate_registration,
    load_point_pairs,
)
from tsjnet_ros.tools.register import main as register_main

# IR 80x80 seen by a 160x90 visible camera: IR pixel (x, y) lands at (40 + 0.9 x, 5 + 0.95 y)
TRUE_H = np.array([[0.9, 0.0, 40.0], [0.0, 0.95, 5.0], [0.0, 0.0, 1.0]])


def ir_points():
    return np.array([[x, y] for x in (5, 25, 45, 70) for y in (5, 30, 60, 75)], np.float64)


def project(points, h=TRUE_H):
    p = np.c_[points, np.ones(len(points))] @ h.T
    return p[:, :2] / p[:, 2:]


def test_estimate_recovers_the_homography_and_rejects_a_wrong_match():
    ir = ir_points()
    vis = project(ir)
    vis[3] += (30, -20)  # one mismatched pair
    fit = estimate_registration(ir, vis, (80, 80), (160, 90))
    assert fit.inliers == len(ir) - 1 and fit.rms_error < 1e-6
    np.testing.assert_allclose(fit.registration.homography, TRUE_H, atol=1e-6)
    with pytest.raises(ValueError, match='at least 4'):
        estimate_registration(ir[:3], vis[:3], (80, 80), (160, 90))


def test_registered_square_keeps_its_shape_where_resizing_stretches_it():
    """An 80x80 IR frame with a square target; visible 160x90 (16:9)."""
    ir = np.zeros((80, 80), np.uint8)
    ir[20:60, 20:60] = 255
    visible = np.zeros((90, 160), np.uint8)
    stretched, _ = align_pair(ir, visible, 'visible')
    ys, xs = np.nonzero(stretched > 127)
    assert (np.ptp(xs) + 1) / (np.ptp(ys) + 1) > 1.6  # the square became a wide rectangle
    assert 'differ in aspect ratio' in aspect_mismatch(ir.shape, visible.shape)
    assert aspect_mismatch((480, 640), (720, 960)) is None
    registration = Registration(TRUE_H, (80, 80), (160, 90))
    warped, _ = align_pair(ir, visible, 'visible', registration)
    assert warped.shape == visible.shape
    ys, xs = np.nonzero(warped > 127)
    assert (xs.min(), ys.min()) == (58, 24) and (xs.max(), ys.max()) == (
        93,
        61,
    )  # 40 + 0.9*20 .. 0.9*60+40
    back_ir, back_vis = align_pair(
        ir, warped, 'ir', registration
    )  # visible warped onto the IR grid
    assert (
        back_vis.shape == ir.shape and np.abs(back_vis[25:55, 25:55].astype(int) - 255).max() == 0
    )


def test_registration_applies_to_resized_streams():
    registration = Registration(TRUE_H, (80, 80), (160, 90))
    h = registration.homography_for((160, 160), (180, 320))  # both streams at twice the size
    np.testing.assert_allclose(
        project(np.array([[40.0, 40.0]]), h), [[2 * (40 + 18), 2 * (5 + 19)]]
    )  # IR (20, 20)


def test_command_writes_the_yaml_the_node_reads(tmp_path, capsys):
    points = tmp_path / 'points.csv'
    vis = project(ir_points())
    rows = '\n'.join(f'{a},{b},{c},{d}' for (a, b), (c, d) in zip(ir_points(), vis))
    points.write_text('ir_x,ir_y,visible_x,visible_y\n' + rows + '\n')
    out = tmp_path / 'registration.yaml'
    assert (
        register_main(
            [str(points), '--ir-size', '80x80', '--visible-size', '160x90', '-o', str(out)]
        )
        == 0
    )
    assert 'from 16 of 16 point pairs' in capsys.readouterr().out
    loaded = Registration.load(out)
    np.testing.assert_allclose(loaded.homography, TRUE_H, atol=1e-6)
    assert (loaded.ir_size, loaded.visible_size) == ((80, 80), (160, 90))
    yaml_points = tmp_path / 'points.yaml'
    yaml_points.write_text(
        'pairs:\n'
        + ''.join(f'  - [{a}, {b}, {c}, {d}]\n' for (a, b), (c, d) in zip(ir_points(), vis))
    )
    np.testing.assert_allclose(load_point_pairs(yaml_points)[1], vis)
    assert (
        register_main([str(tmp_path / 'missing.csv'), '--ir-size', '8x8', '--visible-size', '8x8'])
        == 2
    )
    with pytest.raises(ValueError, match='needs homography'):
        (tmp_path / 'bad.yaml').write_text('ir_size: [8, 8]\n')
        Registration.load(tmp_path / 'bad.yaml')
