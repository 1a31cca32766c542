"""tsjnet-eval end to end on generated pair folders (and briefly on the shared sample data)."""

import csv
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from tsjnet_ros.core.types.detection import Detection
from tsjnet_ros.core.types.fusion_result import FusionResult
from tsjnet_ros.tools import evaluate

DATA = Path(__file__).resolve().parents[1] / '..' / 'shared' / 'data'
W, H = 64, 48


def _pair_folder(root: Path, count: int = 3, labels: bool = False) -> Path:
    rng = np.random.default_rng(len(str(root)))
    for i in range(count):
        ir = rng.integers(0, 120, (H, W)).astype(np.uint8)
        ir[10:30, 20 + i : 36 + i] = 250  # a warm target
        vis = rng.integers(0, 256, (H, W, 3)).astype(np.uint8)
        (root / 'ir').mkdir(parents=True, exist_ok=True)
        (root / 'vi').mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(root / 'ir' / f'p{i}.png'), ir)
        cv2.imwrite(str(root / 'vi' / f'p{i}.png'), vis)
        if labels:
            (root / 'labels').mkdir(exist_ok=True)
            cx, cy = (20 + i + 36 + i) / 2 / W, 20 / H
            (root / 'labels' / f'p{i}.txt').write_text(f'0 {cx} {cy} {16 / W} {20 / H}\n')
            seg = (ir > 200).astype(np.uint8)
            (root / 'Segmentation_labels').mkdir(exist_ok=True)
            cv2.imwrite(str(root / 'Segmentation_labels' / f'p{i}.png'), seg)
    if labels:
        (root / 'labels' / 'classes.txt').write_text('person\n')
    return root


def _run(args):
    return evaluate.main([*map(str, args), '--no-progress'])


def test_two_methods_write_markdown_csv_json_and_contact_sheet(tmp_path):
    data = _pair_folder(tmp_path / 'mini')
    out = tmp_path / 'out'
    code = _run(
        [data, '--method', 'average', '--method', 'max', '--out', out, '--contact-sheet', '2']
    )
    assert code == 0
    rows = list(csv.DictReader((out / 'metrics.csv').open()))
    per_image = [r for r in rows if r['image'] != 'mean']
    means = [r for r in rows if r['image'] == 'mean']
    assert len(per_image) == 6 and [r['method'] for r in means] == ['average', 'max']
    avg_ssim = [float(r['SSIM']) for r in per_image if r['method'] == 'average']
    assert float(means[0]['SSIM']) == pytest.approx(np.mean(avg_ssim))
    for name in (
        'SSIM',
        'PSNR',
        'MSE',
        'VIF',
        'CC',
        'CV',
        'EN',
        'SD',
        'SF',
        'AG',
        'MI',
        'SCD',
        'Qabf',
    ):
        assert name in rows[0]
    report = json.loads((out / 'metrics.json').read_text())
    methods = report['datasets']['mini']['methods']
    assert set(methods) == {'average', 'max'} and len(methods['max']['per_image']) == 3
    assert report['metrics']['CV']['higher_is_better'] is False
    markdown = (out / 'metrics.md').read_text()
    assert '## mini (3 pairs)' in markdown and '| max |' in markdown and 'CV ↓' in markdown
    sheet = cv2.imread(str(out / 'contact_sheet_mini.png'))
    # 4 columns (IR, visible, 2 methods) of 256 px; header + 2 rows of 256 * 48 / 64 = 192 px
    assert sheet.shape[1] == 4 * 256 and sheet.shape[0] == 28 + 2 * 192


def test_dataset_root_expands_to_sub_datasets_and_limit_applies(tmp_path):
    _pair_folder(tmp_path / 'root' / 'alpha', count=2)
    _pair_folder(tmp_path / 'root' / 'beta', count=3)
    (tmp_path / 'root' / 'not_a_dataset').mkdir()
    out = tmp_path / 'out'
    assert (
        _run(
            [
                tmp_path / 'root',
                '--method',
                'average',
                '--out',
                out,
                '--limit',
                '1',
                '--metrics',
                'SSIM,MI',
                '--contact-sheet',
                '0',
            ]
        )
        == 0
    )
    report = json.loads((out / 'metrics.json').read_text())
    assert set(report['datasets']) == {'alpha', 'beta'}
    assert all(d['pairs'] == 1 for d in report['datasets'].values())
    assert set(report['datasets']['alpha']['methods']['average']['mean']) == {
        'SSIM',
        'MI',
        'fuse_ms',
    }
    assert not list(out.glob('*.png'))


class _ThresholdBackend:
    """A stand-in detector/segmenter that finds the bright IR target exactly."""

    name = 'oracle'
    detection_classes = ['person', 'dog']
    segmentation_classes = ['background', 'target']

    def fuse(self, ir, visible):
        mask = ir > 200
        ys, xs = np.nonzero(mask)
        box = (float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1))
        return FusionResult(
            fused=ir.copy(),
            fused_color=np.repeat(ir[..., None], 3, axis=2),
            detections=[Detection(0, 'Person', 0.9, box), Detection(1, 'dog', 0.8, box)],
            segmentation=mask.astype(np.uint8),
        )


def test_detection_and_segmentation_scores_when_a_method_provides_them(tmp_path, monkeypatch):
    data = _pair_folder(tmp_path / 'labelled', labels=True)
    monkeypatch.setattr(
        evaluate,
        'create_methods',
        lambda methods, checkpoints, progress=False: {'oracle': _ThresholdBackend()},
    )
    out = tmp_path / 'out'
    assert _run([data, '--out', out, '--contact-sheet', '0']) == 0
    oracle = json.loads((out / 'metrics.json').read_text())['datasets']['labelled']['methods'][
        'oracle'
    ]
    assert oracle['detection']['mAP50'] == pytest.approx(1.0)  # "dog" is not a dataset class
    assert oracle['detection']['per_class']['person']['precision'] == pytest.approx(1.0)
    assert oracle['segmentation']['mIoU'] == pytest.approx(1.0)
    assert 'oracle detection: mAP50 1.000' in (out / 'metrics.md').read_text()


@pytest.mark.parametrize(
    'extra, message',
    [
        (['--method', 'nosuch'], 'not available'),
        (['--checkpoint', '/nonexistent/model.pt'], 'does not exist'),
        (['--metrics', 'SSIM,XYZ'], 'unknown metrics'),
        (['--limit', '0'], '--limit'),
    ],
)
def test_bad_requests_exit_2_with_a_message(tmp_path, capsys, extra, message):
    data = _pair_folder(tmp_path / 'd', count=1)
    assert _run([data, '--out', tmp_path / 'o', *extra]) == 2
    assert message in capsys.readouterr().err


def test_bag_and_missing_inputs_are_rejected(tmp_path, capsys):
    bag = tmp_path / 'drive.mcap'
    bag.write_bytes(b'')
    assert _run([bag]) == 2
    assert 'rosbag' in capsys.readouterr().err
    assert _run([tmp_path / 'missing']) == 2
    empty = tmp_path / 'empty'
    empty.mkdir()
    assert _run([empty]) == 2
    assert 'no IR/visible pairs' in capsys.readouterr().err


@pytest.mark.skipif(not (DATA / 'msrs').is_dir(), reason='shared MSRS sample data not present')
def test_baselines_on_one_real_msrs_pair(tmp_path):
    out = tmp_path / 'out'
    assert _run([DATA / 'msrs', '--limit', '1', '--out', out, '--contact-sheet', '1']) == 0
    means = {
        r['method']: r
        for r in csv.DictReader((out / 'metrics.csv').open())
        if r['image'] == 'mean'
    }
    assert set(means) == {
        'average',
        'max',
        'laplacian_pyramid',
        'tsjnet_rt',
    }  # the shipped model by default
    # the Laplacian pyramid keeps detail that plain averaging washes out
    assert float(means['laplacian_pyramid']['SF']) > float(means['average']['SF'])
    assert float(means['laplacian_pyramid']['Qabf']) > float(means['average']['Qabf'])


def test_default_methods_include_the_shipped_model_and_the_table_is_printed(tmp_path, capsys):
    data = _pair_folder(tmp_path / 'mini', count=1)
    out = tmp_path / 'out'
    assert (
        evaluate.main(
            [str(data), '--out', str(out), '--metrics', 'SSIM,CV', '--contact-sheet', '0']
        )
        == 0
    )
    means = [
        r['method'] for r in csv.DictReader((out / 'metrics.csv').open()) if r['image'] == 'mean'
    ]
    assert means == [
        'average',
        'max',
        'laplacian_pyramid',
        'tsjnet_rt',
    ]  # the shipped model, named by its file
    captured = capsys.readouterr()
    assert (
        '| Method | SSIM ↑ | CV ↓ | fuse_ms |' in captured.out and '| tsjnet_rt |' in captured.out
    )
    assert (
        'tsjnet-eval: loading tsjnet_rt: done in' in captured.err
    )  # model loading shows progress


def test_each_checkpoint_row_is_named_by_its_file(tmp_path, capsys):
    import shutil

    from tsjnet_ros.resources import default_checkpoint

    data = _pair_folder(tmp_path / 'mini', count=1)
    mine = tmp_path / 'runs' / 'mine.pt'
    mine.parent.mkdir()
    shutil.copy(default_checkpoint(), mine)
    out = tmp_path / 'out'
    assert (
        _run(
            [
                data,
                '--checkpoint',
                mine,
                '--method',
                'average',
                '--out',
                out,
                '--metrics',
                'SSIM',
                '--contact-sheet',
                '0',
            ]
        )
        == 0
    )
    assert [
        r['method'] for r in csv.DictReader((out / 'metrics.csv').open()) if r['image'] == 'mean'
    ] == ['average', 'mine']
    names = evaluate.checkpoint_row_names(
        [Path('runs/a/best.pt'), Path('runs/b/best.pt'), Path('x/other.pt')]
    )
    assert list(names) == ['a/best', 'b/best', 'x/other']
    assert list(evaluate.checkpoint_row_names([Path('a/best.pt'), Path('b/last.pt')])) == [
        'best',
        'last',
    ]


def test_help_shows_defaults_and_method_names(capsys):
    with pytest.raises(SystemExit):
        evaluate.main(['--help'])
    text = ' '.join(capsys.readouterr().out.split())
    assert '(default: tsjnet_eval)' in text
    from tsjnet_ros.core.fusion import available_backends

    assert (
        f'one of: {", ".join(available_backends())}' in text and 'tsjnet' in available_backends()
    )
    assert (
        '(default: average, max, laplacian_pyramid, tsjnet)' in text
        and '(default: None)' not in text
    )


def test_an_unreadable_image_ends_with_one_line_naming_it(tmp_path, capsys):
    root = tmp_path / 'pairs'
    (root / 'ir').mkdir(parents=True)
    (root / 'vi').mkdir()
    for name in ('a', 'b'):
        cv2.imwrite(str(root / 'vi' / f'{name}.png'), np.zeros((64, 64, 3), np.uint8))
    cv2.imwrite(str(root / 'ir' / 'a.png'), np.zeros((64, 64), np.uint8))
    (root / 'ir' / 'b.png').write_text('not an image')
    code = evaluate.main([str(root), '--method', 'average', '--out', str(tmp_path / 'out')])
    err = capsys.readouterr().err
    assert code == 2 and 'Traceback' not in err
    assert f'pair 2 of 2: cannot read image file {root / "ir" / "b.png"}' in err


def test_images_too_small_for_a_metric_end_with_one_line(tmp_path, capsys):
    root = tmp_path / 'pairs'
    (root / 'ir').mkdir(parents=True)
    (root / 'vi').mkdir()
    cv2.imwrite(str(root / 'vi' / 'a.png'), np.zeros((32, 32, 3), np.uint8))
    cv2.imwrite(str(root / 'ir' / 'a.png'), np.zeros((32, 32), np.uint8))
    code = evaluate.main([str(root), '--method', 'average', '--out', str(tmp_path / 'out')])
    err = capsys.readouterr().err
    assert code == 2 and 'Traceback' not in err
    assert 'pairs/a, average metrics: image is too small for the 4-scale VIF' in err
