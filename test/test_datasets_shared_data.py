"""The pair readers on the real sample datasets in ../shared/data (skipped when absent)."""

from pathlib import Path

import numpy as np
import pytest

from tsjnet_ros.core.datasets import PairDataset

DATA = Path(__file__).resolve().parents[1] / '..' / 'shared' / 'data'
pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason='shared sample data not present')


def test_msrs_sample_with_yolo_box_sets():
    ds = PairDataset(DATA / 'msrs')
    assert len(ds) == 20 and ds.box_format == 'yolo'
    assert ds.class_names == ['person', 'bicycle', 'car']
    s = ds['00004N']
    assert s.ir.shape == (480, 640) and s.visible.shape == (480, 640, 3)
    assert s.boxes.shape[0] > 0 and s.boxes.dtype == np.float32
    assert np.all(s.boxes[:, 2] > s.boxes[:, 0]) and np.all(s.boxes[:, 3] > s.boxes[:, 1])
    assert np.all((s.boxes >= -1) & (s.boxes <= 641))
    assert set(PairDataset(DATA / 'msrs', box_source='ir')[0].labels) <= {0, 1, 2}


def test_llvip_sample_with_voc_boxes():
    ds = PairDataset(DATA / 'llvip')
    assert len(ds) == 40 and ds.box_format == 'voc' and ds.class_names == ['person']
    s = ds[0]
    assert s.ir.ndim == 2 and s.ir.shape == (1024, 1280)
    assert s.boxes.shape[0] > 0 and np.all(s.labels == 0)


@pytest.mark.parametrize('name, count', [('roadscene', 20), ('tno', 25)])
def test_image_only_samples(name, count):
    ds = PairDataset(DATA / name)
    assert len(ds) == count and not ds.has_boxes
    s = ds[0]
    assert s.boxes is None and s.ir.ndim == 2 and s.visible.shape == s.ir.shape + (3,)
