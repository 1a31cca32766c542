"""Validation curves of a training run as one PNG: a panel per metric against the step.

Drawn from ``validation.csv`` (not from memory), so a resumed run's picture holds every
part of the run. A row whose step is below the previous one (a ``--restart`` into the
same folder appends a new run) starts a new line, drawn in the next colour.
"""

from __future__ import annotations

import math
from pathlib import Path

from tsjnet_ros.core.metrics.fusion_suite import FUSION_METRICS
from tsjnet_ros.core.training.run_log import read_csv_log

STEP_COLUMN = 'step'


def _panel_title(metric: str) -> str:
    """Return the metric's name with its direction (mAP and the fusion metrics of the library)."""
    known = FUSION_METRICS.get(metric)
    if known is not None:
        return f'{metric} ({"higher" if known.higher_is_better else "lower"} is better)'
    if metric.startswith('mAP'):
        return f'{metric} (higher is better)'
    return metric


def _number(text: str | None) -> float:
    try:
        return float(text) if text not in (None, '') else math.nan
    except ValueError:
        return math.nan


def _runs(rows: list[dict[str, str]]) -> list[list[dict[str, str]]]:
    """Split rows where the step falls: one list per run appended to the file.

    A repeated step (a finished run validated again) stays on its line.
    """
    runs: list[list[dict[str, str]]] = []
    last = -math.inf
    for row in rows:
        step = _number(row.get(STEP_COLUMN))
        if math.isnan(step):
            continue
        if not runs or step < last:
            runs.append([])
        runs[-1].append(row)
        last = step
    return runs


def plot_validation_curves(
    csv_path: str | Path, png_path: str | Path, title: str | None = None
) -> Path | None:
    """Draw every metric column of ``csv_path`` that holds a number into ``png_path``.

    Returns the PNG's path, or None when the file has no row with a step and a value (then
    nothing is written). Raises FileNotFoundError when ``csv_path`` does not exist.
    """
    csv_path, png_path = Path(csv_path), Path(png_path)
    if not csv_path.is_file():
        raise FileNotFoundError(f'validation log not found: {csv_path}')
    rows = read_csv_log(csv_path)
    columns = [c for c in (rows[0].keys() if rows else []) if c != STEP_COLUMN]
    metrics = [c for c in columns if any(not math.isnan(_number(r.get(c))) for r in rows)]
    runs = _runs(rows)
    if not metrics or not runs:
        return None

    import matplotlib

    matplotlib.use('Agg')
    from matplotlib import pyplot as plt

    cols = min(3, len(metrics))
    grid_rows = math.ceil(len(metrics) / cols)
    fig, axes = plt.subplots(grid_rows, cols, figsize=(4.2 * cols, 2.8 * grid_rows), squeeze=False)
    for ax, metric in zip(axes.flat, metrics):
        for index, run in enumerate(runs):
            points = [(_number(r[STEP_COLUMN]), _number(r.get(metric))) for r in run]
            points = [(s, v) for s, v in points if not math.isnan(v)]
            if points:
                steps, values = zip(*points)
                label = f'run {index + 1}' if len(runs) > 1 else None
                ax.plot(steps, values, marker='o', markersize=3, linewidth=1.2, label=label)
        ax.set_title(_panel_title(metric), fontsize=10)
        ax.set_xlabel('step')
        ax.grid(alpha=0.3)
        if len(runs) > 1:
            ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(metrics) :]:
        ax.set_visible(False)
    fig.suptitle(title or f'Validation: {csv_path.parent.name}')
    fig.tight_layout()
    png_path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png_path, dpi=100)
    plt.close(fig)
    return png_path
