"""Pair-dataset readers on small generated folders in each supported layout."""

from pathlib import Path

import cv2
import numpy as np
import pytest

from tsjnet_ros.core.datasets import MSRS_SEGMENTATION_CLASSES, PairDataset, read_class_list

W, H = 40, 30


def _write(path: Path, image: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), image)


def _ir(value=100):
    return np.full((H, W), value, np.uint8)


def _vis_bgr():
    image = np.zeros((H, W, 3), np.uint8)
    image[..., 2] = 200  # red in OpenCV's BGR order
    image[..., 0] = 10
    return image


def _msrs(root: Path, names=('a', 'b')) -> Path:
    for name in names:
        _write(root / 'ir' / f'{name}.png', _ir())
        _write(root / 'vi' / f'{name}.png', _vis_bgr())
    (root / 'labels' / 'vi').mkdir(parents=True)
    (root / 'labels' / 'ir').mkdir(parents=True)
    (root / 'labels' / 'classes.txt').write_text('0 person\n1 bicycle\n2 car\n')
    (root / 'labels' / 'vi' / 'a.txt').write_text('2 0.5 0.5 0.5 0.2\n')
    (root / 'labels' / 'ir' / 'a.txt').write_text('0 0.25 0.5 0.1 0.4\n1 0.75 0.5 0.1 0.4\n')
    seg = np.zeros((H, W), np.uint8)
    seg[:, W // 2 :] = 2
    _write(root / 'Segmentation_labels' / 'a.png', seg)
    return root


def test_msrs_layout_reads_pairs_yolo_boxes_and_segmentation(tmp_path):
    ds = PairDataset(_msrs(tmp_path))
    assert ds.layout == 'folders' and ds.box_format == 'yolo'
    assert ds.names == ['a', 'b'] and len(ds) == 2
    assert ds.class_names == ['person', 'bicycle', 'car']
    a = ds['a']
    assert a.ir.shape == (H, W) and a.ir.dtype == np.uint8
    assert a.visible.shape == (H, W, 3) and tuple(a.visible[0, 0]) == (200, 0, 10)  # RGB
    # default box set: "vi" (no "fused" folder); cx 20, cy 15, w 20, h 6 pixels
    np.testing.assert_allclose(a.boxes, [[10, 12, 30, 18]])
    np.testing.assert_array_equal(a.labels, [2])
    assert a.class_names[a.labels[0]] == 'car'
    assert a.segmentation is not None and a.segmentation[0, -1] == 2
    assert ds.segmentation_class_names == list(MSRS_SEGMENTATION_CLASSES)
    b = ds['b']  # labelled dataset, no label file: no objects, no segmentation label
    assert b.boxes.shape == (0, 4) and b.labels.shape == (0,) and b.segmentation is None


def test_box_source_picks_the_ir_box_set(tmp_path):
    ds = PairDataset(_msrs(tmp_path), box_source='ir')
    np.testing.assert_array_equal(ds['a'].labels, [0, 1])
    with pytest.raises(ValueError, match='box source'):
        PairDataset(tmp_path, box_source='thermal')


def test_images_only_layout_ignores_annotations(tmp_path):
    ds = PairDataset(_msrs(tmp_path), layout='pairs')
    sample = ds[0]
    assert sample.boxes is None and sample.labels is None and sample.segmentation is None
    assert ds.class_names == [] and not ds.has_boxes and not ds.has_segmentation


def _voc(path: Path, objects):
    body = ''.join(
        f'<object><name>{n}</name><difficult>{int(d)}</difficult><bndbox><xmin>{b[0]}</xmin>'
        f'<ymin>{b[1]}</ymin><xmax>{b[2]}</xmax><ymax>{b[3]}</ymax></bndbox></object>'
        for n, b, d in objects
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'<annotation><filename>x</filename>{body}</annotation>')


def test_llvip_style_voc_with_split_below_the_modality_folders(tmp_path):
    for split in ('train', 'test'):
        _write(tmp_path / 'infrared' / split / f'{split}1.jpg', np.dstack([_ir(80)] * 3))
        _write(tmp_path / 'visible' / split / f'{split}1.jpg', _vis_bgr())
    _voc(
        tmp_path / 'Annotations' / 'test1.xml',
        [('person', (1, 2, 11, 22), False), ('car', (5, 5, 9, 9), True)],
    )
    with pytest.raises(ValueError, match='split'):
        PairDataset(tmp_path)
    ds = PairDataset(tmp_path, split='test', layout='llvip')
    assert ds.names == ['test1'] and ds.box_format == 'voc'
    assert ds.class_names == ['car', 'person']  # collected from the XML files, sorted
    s = ds[0]
    assert s.ir.ndim == 2  # grey IR stored as RGB is reduced to one channel
    np.testing.assert_allclose(s.boxes, [[1, 2, 11, 22], [5, 5, 9, 9]])
    np.testing.assert_array_equal(s.labels, [1, 0])
    np.testing.assert_array_equal(s.difficult, [False, True])
    with pytest.raises(ValueError, match='not in the class list'):
        PairDataset(tmp_path, split='test', class_names=['person'])[0]


def test_split_above_the_modality_folders(tmp_path):
    _msrs(tmp_path / 'test')
    ds = PairDataset(tmp_path, split='test')
    assert ds.names == ['a', 'b'] and ds.box_format == 'yolo'


def test_flat_folder_of_named_pairs_and_16_bit_ir(tmp_path):
    _write(tmp_path / 'scene1_ir.png', (np.arange(W * H, dtype=np.uint16).reshape(H, W) * 50))
    _write(tmp_path / 'scene1_vi.png', _vis_bgr())
    _write(tmp_path / 'IR_scene2.png', _ir())
    _write(tmp_path / 'VIS_scene2.png', cv2.cvtColor(_vis_bgr(), cv2.COLOR_BGR2GRAY))
    _write(tmp_path / 'IR_road.png', _ir())
    _write(tmp_path / 'road-visible.png', _vis_bgr())
    _write(tmp_path / 'lonely_ir.png', _ir())
    _write(tmp_path / 'notes_unrelated.png', _ir())
    ds = PairDataset(tmp_path)
    assert ds.layout == 'flat' and ds.unmatched == ['lonely']
    assert ds.names == ['road', 'scene1', 'scene2']
    assert ds['scene1'].ir.dtype == np.uint16 and ds['scene1'].ir.max() == (W * H - 1) * 50
    grey_vis = ds['scene2'].visible
    assert grey_vis.shape == (H, W, 3) and np.all(grey_vis[..., 0] == grey_vis[..., 2])


def test_only_pairs_present_in_both_folders_are_samples(tmp_path):
    _write(tmp_path / 'ir' / 'x.png', _ir())
    _write(tmp_path / 'vi' / 'x.jpg', _vis_bgr())
    _write(tmp_path / 'ir' / 'y.png', _ir())
    ds = PairDataset(tmp_path)
    assert ds.names == ['x'] and ds.unmatched == ['y']


def test_yolo_without_class_list_numbers_the_ids(tmp_path):
    _write(tmp_path / 'ir' / 'x.png', _ir())
    _write(tmp_path / 'vi' / 'x.png', _vis_bgr())
    (tmp_path / 'labels').mkdir()
    (tmp_path / 'labels' / 'x.txt').write_text('3 0.5 0.5 0.1 0.1\n')
    assert PairDataset(tmp_path).class_names == ['0', '1', '2', '3']


def test_class_list_formats(tmp_path):
    plain = tmp_path / 'plain.txt'
    plain.write_text('person\ncar\n')
    numbered = tmp_path / 'numbered.txt'
    numbered.write_text('1 car\n0 person\n')
    assert read_class_list(plain) == read_class_list(numbered) == ['person', 'car']
    gap = tmp_path / 'gap.txt'
    gap.write_text('0 person\n2 car\n')
    with pytest.raises(ValueError, match='gaps'):
        read_class_list(gap)


def test_errors_name_the_problem(tmp_path):
    with pytest.raises(ValueError, match='does not exist'):
        PairDataset(tmp_path / 'missing')
    with pytest.raises(ValueError, match='no IR/visible pairs'):
        PairDataset(tmp_path)
    with pytest.raises(ValueError, match='unknown layout'):
        PairDataset(tmp_path, layout='kitti')
    _write(tmp_path / 'ir' / 'x.png', _ir())
    _write(tmp_path / 'vi' / 'x.png', cv2.resize(_vis_bgr(), (W + 2, H)))
    with pytest.raises(ValueError, match='differ in size'):
        PairDataset(tmp_path)[0]
    with pytest.raises(KeyError):
        PairDataset(tmp_path)['nope']


def test_bad_labels_are_rejected(tmp_path):
    _msrs(tmp_path)
    (tmp_path / 'labels' / 'vi' / 'a.txt').write_text('2 0.5 0.5\n')
    with pytest.raises(ValueError, match='a.txt:1'):
        PairDataset(tmp_path)['a']
    (tmp_path / 'labels' / 'vi' / 'a.txt').write_text('7 0.5 0.5 0.1 0.1\n')
    with pytest.raises(ValueError, match='class id 7'):
        PairDataset(tmp_path)['a']
    colour = np.zeros((H, W, 3), np.uint8)
    colour[..., 1] = 128
    _write(tmp_path / 'Segmentation_labels' / 'a.png', colour)
    (tmp_path / 'labels' / 'vi' / 'a.txt').write_text('')
    with pytest.raises(ValueError, match='colour image'):
        PairDataset(tmp_path)['a']
