"""Training logs that need no account or network.

CSV files, a PNG of the validation curves, plus TensorBoard event files when the
``tensorboard`` package happens to be installed.
"""

from __future__ import annotations

import csv
import logging
import math
from pathlib import Path
from typing import Any

logger = logging.getLogger('tsjnet_ros.training')


class CsvLog:
    """Appends rows to one CSV file; the header is fixed by ``columns`` (missing = empty).

    Appending (not truncating) keeps the rows of a resumed run's earlier part.
    """

    def __init__(self, path: Path, columns: list[str]) -> None:
        self.path = Path(path)
        self.columns = list(columns)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        new = not self.path.exists() or self.path.stat().st_size == 0
        self._handle = self.path.open('a', newline='', encoding='utf-8')
        self._writer = csv.DictWriter(self._handle, fieldnames=self.columns, extrasaction='ignore')
        if new:
            self._writer.writeheader()
            self._handle.flush()

    def write(self, row: dict[str, Any]) -> None:
        clean = {}
        for key, value in row.items():
            if isinstance(value, float):
                clean[key] = '' if math.isnan(value) else f'{value:.6g}'
            else:
                clean[key] = value
        self._writer.writerow(clean)
        self._handle.flush()

    def close(self) -> None:
        self._handle.close()


def read_csv_log(path: Path) -> list[dict[str, str]]:
    """Rows of a CSV log as dicts of strings."""
    with Path(path).open(newline='', encoding='utf-8') as handle:
        return list(csv.DictReader(handle))


class TrainingLog:
    """Training log: ``train.csv`` (per logged step) and ``validation.csv`` in ``directory``.

    Scalars are mirrored to TensorBoard event files when ``tensorboard`` is importable.
    Closing draws ``validation.png`` (one panel per metric against the step) once
    ``validation.csv`` holds a row, from every row of the file, so a resumed run's picture
    covers the whole run.
    """

    def __init__(self, directory: Path, loss_terms: list[str], val_metrics: list[str]) -> None:
        self.directory = Path(directory)
        self.train = CsvLog(
            self.directory / 'train.csv', ['step', 'epoch', 'stage', 'lr', 'seconds', *loss_terms]
        )
        self.validation = CsvLog(self.directory / 'validation.csv', ['step', *val_metrics])
        self._tb = None
        try:
            from torch.utils.tensorboard import SummaryWriter

            self._tb = SummaryWriter(str(self.directory / 'tensorboard'))
        except ImportError:
            self._tb = None

    @property
    def tensorboard(self) -> bool:
        return self._tb is not None

    def log_train(self, row: dict[str, Any]) -> None:
        self.train.write(row)
        self._scalars('train', row)

    def log_validation(self, row: dict[str, Any]) -> None:
        self.validation.write(row)
        self._scalars('val', row)

    def _scalars(self, prefix: str, row: dict[str, Any]) -> None:
        if self._tb is None:
            return
        step = int(row['step'])
        for key, value in row.items():
            if key != 'step' and isinstance(value, (int, float)) and not isinstance(value, bool):
                self._tb.add_scalar(f'{prefix}/{key}', value, step)

    @property
    def validation_png(self) -> Path:
        return self.directory / 'validation.png'

    def close(self) -> None:
        self.train.close()
        self.validation.close()
        if self._tb is not None:
            self._tb.close()
        self._draw_validation_curves()

    def _draw_validation_curves(self) -> None:
        """Draw the validation curves; a failure costs the picture, never the run.

        ``close`` runs this in ``finally``.
        """
        from tsjnet_ros.core.training.validation_curves import plot_validation_curves

        try:
            plot_validation_curves(self.validation.path, self.validation_png)
        except (OSError, ValueError, RuntimeError) as exc:
            logger.warning('validation curves not drawn to %s: %s', self.validation_png, exc)
