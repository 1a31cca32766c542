"""Grid texture score, and the shipped model's fused images free of a grid on real pairs."""

from pathlib import Path

import cv2
import numpy as np
import pytest

from tsjnet_ros.core.metrics.grid_artifacts import grid_peak_ratio

REPO = Path(__file__).resolve().parents[1]
MSRS = (REPO / '..' / 'shared' / 'data' / 'msrs').resolve()


def test_a_faint_block_grid_is_found():
    rng = np.random.default_rng(0)
    scene = cv2.GaussianBlur(rng.random((120, 160)) * 255, (0, 0), 3) + rng.normal(
        0, 2, (120, 160)
    )  # + sensor noise
    yy, xx = np.indices(scene.shape)
    grid = scene + 3.0 * (((yy // 2) + (xx // 2)) % 2)  # a 4-pixel checkerboard of 3 grey levels
    assert grid_peak_ratio(scene) < 10
    assert grid_peak_ratio(grid) > 100 * grid_peak_ratio(scene)
    with pytest.raises(ValueError):
        grid_peak_ratio(np.zeros((8, 8)))


@pytest.mark.skipif(not MSRS.is_dir(), reason=f'real IR/VIS pairs not found at {MSRS}')
def test_shipped_model_prints_no_grid_on_real_pairs():
    from tsjnet_ros.core.runtime.pipeline import FusionPipeline
    from tsjnet_ros.resources import default_checkpoint

    pipeline = FusionPipeline.from_checkpoint(default_checkpoint())
    for name in ('00004N', '00036N', '00099D'):
        ir = cv2.imread(str(MSRS / 'ir' / f'{name}.png'), cv2.IMREAD_GRAYSCALE)
        visible = cv2.cvtColor(cv2.imread(str(MSRS / 'vi' / f'{name}.png')), cv2.COLOR_BGR2RGB)
        fused = pipeline(ir, visible).fused
        sources = max(
            grid_peak_ratio(ir), grid_peak_ratio(cv2.cvtColor(visible, cv2.COLOR_RGB2GRAY))
        )
        assert grid_peak_ratio(fused) <= 2.0 * sources, name
