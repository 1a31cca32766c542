"""Training logs: CSV rows and the validation curves PNG drawn when the log is closed."""

from __future__ import annotations

import cv2
import numpy as np

from tsjnet_ros.core.training.run_log import TrainingLog, read_csv_log
from tsjnet_ros.core.training.validation_curves import plot_validation_curves

LOSSES = ['total', 'intensity']
METRICS = ['mAP50', 'SSIM', 'PSNR']


def _read_png(path) -> np.ndarray:
    assert path.is_file() and path.stat().st_size > 0
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert image is not None, f'{path} is not a readable image'
    return image


def test_close_draws_validation_png_from_the_csv(tmp_path):
    log = TrainingLog(tmp_path, LOSSES, METRICS)
    log.log_train(
        {'step': 10, 'epoch': 0, 'stage': 'fusion', 'lr': 1e-3, 'seconds': 1.0, 'total': 2.0}
    )
    for step, ssim in ((100, 0.61), (200, 0.66), (300, 0.68)):
        log.log_validation(
            {'step': step, 'SSIM': ssim, 'PSNR': 60.0 + step / 100, 'mAP50': step / 1000}
        )
    log.close()
    rows = read_csv_log(tmp_path / 'validation.csv')
    assert [r['step'] for r in rows] == ['100', '200', '300']
    image = _read_png(tmp_path / 'validation.png')
    height, width, _ = image.shape
    assert height > 100 and width > 300
    assert float(image.std()) > 1.0  # curves and axes, not a blank canvas


def test_no_png_without_a_validation_row(tmp_path):
    log = TrainingLog(tmp_path, LOSSES, METRICS)
    log.log_train(
        {'step': 10, 'epoch': 0, 'stage': 'fusion', 'lr': 1e-3, 'seconds': 1.0, 'total': 2.0}
    )
    log.close()
    assert (tmp_path / 'validation.csv').is_file()
    assert not (tmp_path / 'validation.png').exists()


def test_resumed_log_redraws_with_every_row(tmp_path):
    first = TrainingLog(tmp_path, LOSSES, METRICS)
    first.log_validation({'step': 100, 'SSIM': 0.6})
    first.close()
    one_point = _read_png(tmp_path / 'validation.png')
    second = TrainingLog(tmp_path, LOSSES, METRICS)  # a resumed run appends
    second.log_validation({'step': 200, 'SSIM': 0.7})
    second.close()
    assert [r['step'] for r in read_csv_log(tmp_path / 'validation.csv')] == ['100', '200']
    two_points = _read_png(tmp_path / 'validation.png')
    assert one_point.shape != two_points.shape or not np.array_equal(one_point, two_points)


def test_only_metrics_with_values_are_drawn(tmp_path):
    csv_path = tmp_path / 'validation.csv'
    csv_path.write_text(
        'step,mAP50,SSIM\n100,,0.5\n200,,0.6\n50,,0.55\n'
    )  # a restart appended at step 50
    one_metric = plot_validation_curves(csv_path, tmp_path / 'one.png')
    csv_path.write_text('step,mAP50,SSIM\n100,0.1,0.5\n200,0.2,0.6\n')
    two_metrics = plot_validation_curves(csv_path, tmp_path / 'two.png')
    # one panel vs two panels side by side: the two-metric figure is wider
    assert _read_png(two_metrics).shape[1] > _read_png(one_metric).shape[1]
    csv_path.write_text('step,mAP50,SSIM\n')
    assert plot_validation_curves(csv_path, tmp_path / 'none.png') is None
    assert not (tmp_path / 'none.png').exists()


def test_a_restart_starts_a_new_line_a_repeated_step_does_not():
    from tsjnet_ros.core.training.validation_curves import _runs

    rows = [{'step': s} for s in ('100', '200', '200', '50', '150')]
    assert [[r['step'] for r in run] for run in _runs(rows)] == [
        ['100', '200', '200'],
        ['50', '150'],
    ]
