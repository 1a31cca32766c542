"""Writing evaluation results as one table in three forms: markdown, CSV and JSON.

``tsjnet-eval`` and the bag evaluation report both write their tables here
(:func:`write_tables`) and format figures the same way (:func:`format_value`).

Records are flat dicts ``{"dataset", "method", "image", <metric>: value, ...}``, one per
fused pair. The summary row of a dataset/method is the mean over its images (NaN values
skipped). Non-finite values (PSNR of a perfect copy is inf) are written as ``inf``/``nan``
in markdown and CSV and as ``null`` in JSON.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tsjnet_ros.core.metrics.evaluator import mean_skipping_nan
from tsjnet_ros.core.metrics.fusion_suite import FUSION_METRICS

MEAN_ROW = 'mean'


def summarise(records: Sequence[dict], columns: Sequence[str]) -> list[dict]:
    """One mean row per (dataset, method), in first-seen order."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for record in records:
        groups.setdefault((record['dataset'], record['method']), []).append(record)
    summary = []
    for (dataset, method), rows in groups.items():
        row: dict[str, Any] = {'dataset': dataset, 'method': method, 'image': MEAN_ROW}
        for column in columns:
            row[column] = mean_skipping_nan([r.get(column) for r in rows])
        row['pairs'] = len(rows)
        summary.append(row)
    return summary


def format_value(value: Any) -> str:
    """Format a figure as the report tables show it.

    4 decimals below 1, 3 below 100, else 2; ``nan``/``inf`` as such and ``n/a`` for a
    missing value.
    """
    if value is None:
        return 'n/a'
    if isinstance(value, (float, np.floating)):
        value = float(value)
        if math.isnan(value):
            return 'nan'
        if math.isinf(value):
            return 'inf' if value > 0 else '-inf'
        magnitude = abs(value)
        return (
            f'{value:.2f}'
            if magnitude >= 100
            else f'{value:.4f}'
            if magnitude < 1
            else f'{value:.3f}'
        )
    return str(value)


def header_name(column: str) -> str:
    """``column`` with ↑ (higher is better) or ↓ for a fusion metric; other columns as they are."""
    metric = FUSION_METRICS.get(column)
    if metric is None:
        return column
    return f'{column} {"↑" if metric.higher_is_better else "↓"}'


def markdown_table(rows: Sequence[dict], keys: Sequence[str], titles: Sequence[str]) -> list[str]:
    """Markdown lines of a table: ``titles`` as header, one line per row (``keys`` in order)."""
    lines = ['| ' + ' | '.join(titles) + ' |', '|' + '---|' * len(titles)]
    for row in rows:
        lines.append('| ' + ' | '.join(format_value(row.get(k, '')) for k in keys) + ' |')
    return lines


def mean_tables(records: Sequence[dict], columns: Sequence[str]) -> list[str]:
    """Markdown lines: per dataset a heading and the mean table, one row per method."""
    summary = summarise(records, columns)
    lines: list[str] = []
    for dataset in dict.fromkeys(r['dataset'] for r in records):
        lines += [*_mean_table(summary, dataset, columns), '']
    return lines


def _mean_table(summary: Sequence[dict], dataset: str, columns: Sequence[str]) -> list[str]:
    rows = [s for s in summary if s['dataset'] == dataset]
    return [
        f'## {dataset} ({rows[0]["pairs"]} pairs)',
        '',
        *markdown_table(rows, ['method', *columns], ['Method', *map(header_name, columns)]),
    ]


def write_markdown(
    path: Path,
    records: Sequence[dict],
    columns: Sequence[str],
    extras: dict[str, dict[str, dict]] | None = None,
    preamble: str = '',
) -> None:
    """Per dataset: the mean table (one row per method) then the per-image table."""
    summary = summarise(records, columns)
    lines = ['# Fusion evaluation', '']
    if preamble:
        lines += [preamble, '']
    for dataset in dict.fromkeys(r['dataset'] for r in records):
        lines += _mean_table(summary, dataset, columns)
        for method, tasks in (extras or {}).get(dataset, {}).items():
            for task, figures in tasks.items():
                shown = ', '.join(
                    f'{k} {format_value(v)}' for k, v in figures.items() if not isinstance(v, dict)
                )
                lines += ['', f'{method} {task}: {shown}']
        lines += ['', f'### {dataset}: per image', '']
        per_image = [r for r in records if r['dataset'] == dataset]
        lines += markdown_table(
            per_image, ['image', 'method', *columns], ['Image', 'Method', *columns]
        )
        lines.append('')
    path.write_text('\n'.join(lines))


def write_csv(path: Path, records: Sequence[dict], columns: Sequence[str]) -> None:
    """Per-image rows followed by the mean rows (image column = "mean")."""
    summary = summarise(records, columns)
    with path.open('w', newline='') as handle:
        writer = csv.writer(handle)
        writer.writerow(['dataset', 'method', 'image', *columns])
        for row in [*records, *summary]:
            writer.writerow(
                [
                    row['dataset'],
                    row['method'],
                    row['image'],
                    *(_csv_value(row.get(c)) for c in columns),
                ]
            )


def _csv_value(value: Any) -> str:
    if value is None:
        return ''
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else format_value(value)
    return str(value)


def json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def write_json(
    path: Path,
    records: Sequence[dict],
    columns: Sequence[str],
    extras: dict[str, dict[str, dict]] | None = None,
    settings: dict | None = None,
) -> None:
    """Nested results: datasets -> methods -> mean, per-image values and task figures."""
    summary = summarise(records, columns)
    datasets: dict[str, Any] = {}
    for row in summary:
        entry = datasets.setdefault(row['dataset'], {'pairs': row['pairs'], 'methods': {}})
        entry['methods'][row['method']] = {
            'mean': {c: row[c] for c in columns},
            'per_image': {
                r['image']: {c: r.get(c) for c in columns}
                for r in records
                if r['dataset'] == row['dataset'] and r['method'] == row['method']
            },
            **(extras or {}).get(row['dataset'], {}).get(row['method'], {}),
        }
    document = {
        'settings': settings or {},
        'metrics': {
            name: {
                'higher_is_better': m.higher_is_better,
                'unit': m.unit,
                'description': m.description,
            }
            for name, m in FUSION_METRICS.items()
            if name in columns
        },
        'datasets': datasets,
    }
    write_json_document(path, document)


def write_json_document(path: Path, document: Any) -> None:
    """``document`` as indented JSON; non-finite numbers become ``null`` (:func:`json_safe`)."""
    path.write_text(json.dumps(json_safe(document), indent=2, allow_nan=False))


def write_tables(
    out_dir: Path,
    records: Sequence[dict],
    columns: Sequence[str],
    extras: dict[str, dict[str, dict]] | None = None,
    settings: dict | None = None,
    preamble: str = '',
) -> dict[str, Path]:
    """Write ``metrics.md``, ``metrics.csv`` and ``metrics.json`` of ``records`` in ``out_dir``.

    Returns their paths as ``metrics_md``, ``metrics_csv``, ``metrics_json``.
    """
    out_dir = Path(out_dir)
    paths = {
        'metrics_md': out_dir / 'metrics.md',
        'metrics_csv': out_dir / 'metrics.csv',
        'metrics_json': out_dir / 'metrics.json',
    }
    write_markdown(paths['metrics_md'], records, columns, extras, preamble)
    write_csv(paths['metrics_csv'], records, columns)
    write_json(paths['metrics_json'], records, columns, extras, settings)
    return paths
