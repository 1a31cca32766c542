"""Writing evaluation results as one table in three forms: markdown, CSV and JSON.

Records are flat dicts ``{"dataset", "method", "image", <metric>: value, ...}``, one per
fused pair. The summary row of a dataset/method is the mean over its images (NaN values
skipped). Non-finite values (PSNR of a perfect copy is inf) are written as ``inf``/``nan``
in markdown and CSV and as ``null`` in JSON.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from tsjnet_ros.core.metrics.evaluator import mean_skipping_nan
from tsjnet_ros.core.metrics.fusion_suite import FUSION_METRICS

MEAN_ROW = "mean"


def summarise(records: Sequence[dict], columns: Sequence[str]) -> list[dict]:
    """One mean row per (dataset, method), in first-seen order."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for record in records:
        groups.setdefault((record["dataset"], record["method"]), []).append(record)
    summary = []
    for (dataset, method), rows in groups.items():
        row: dict[str, Any] = {"dataset": dataset, "method": method, "image": MEAN_ROW}
        for column in columns:
            row[column] = mean_skipping_nan([r.get(column) for r in rows])
        row["pairs"] = len(rows)
        summary.append(row)
    return summary


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        magnitude = abs(value)
        return f"{value:.2f}" if magnitude >= 100 else f"{value:.4f}" if magnitude < 1 else f"{value:.3f}"
    return str(value)


def header_name(column: str) -> str:
    """``column`` with ↑ (higher is better) or ↓ for a fusion metric; other columns as they are."""
    metric = FUSION_METRICS.get(column)
    if metric is None:
        return column
    return f"{column} {'↑' if metric.higher_is_better else '↓'}"


def _markdown_table(rows: Sequence[dict], keys: Sequence[str], titles: Sequence[str]) -> list[str]:
    lines = ["| " + " | ".join(titles) + " |", "|" + "---|" * len(titles)]
    for row in rows:
        lines.append("| " + " | ".join(_fmt(row.get(k, "")) for k in keys) + " |")
    return lines


def mean_tables(records: Sequence[dict], columns: Sequence[str]) -> list[str]:
    """Markdown lines: per dataset a heading and the mean table, one row per method."""
    summary = summarise(records, columns)
    lines: list[str] = []
    for dataset in dict.fromkeys(r["dataset"] for r in records):
        lines += [*_mean_table(summary, dataset, columns), ""]
    return lines


def _mean_table(summary: Sequence[dict], dataset: str, columns: Sequence[str]) -> list[str]:
    rows = [s for s in summary if s["dataset"] == dataset]
    return [f"## {dataset} ({rows[0]['pairs']} pairs)", "",
            *_markdown_table(rows, ["method", *columns], ["Method", *map(header_name, columns)])]


def write_markdown(
    path: Path,
    records: Sequence[dict],
    columns: Sequence[str],
    extras: dict[str, dict[str, dict]] | None = None,
    preamble: str = "",
) -> None:
    """Per dataset: the mean table (one row per method) then the per-image table."""
    summary = summarise(records, columns)
    lines = ["# Fusion evaluation", ""]
    if preamble:
        lines += [preamble, ""]
    for dataset in dict.fromkeys(r["dataset"] for r in records):
        lines += _mean_table(summary, dataset, columns)
        for method, tasks in (extras or {}).get(dataset, {}).items():
            for task, figures in tasks.items():
                shown = ", ".join(f"{k} {_fmt(v)}" for k, v in figures.items() if not isinstance(v, dict))
                lines += ["", f"{method} {task}: {shown}"]
        lines += ["", f"### {dataset}: per image", ""]
        per_image = [r for r in records if r["dataset"] == dataset]
        lines += _markdown_table(
            per_image, ["image", "method", *columns], ["Image", "Method", *columns]
        )
        lines.append("")
    path.write_text("\n".join(lines))


def write_csv(path: Path, records: Sequence[dict], columns: Sequence[str]) -> None:
    """Per-image rows followed by the mean rows (image column = "mean")."""
    summary = summarise(records, columns)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["dataset", "method", "image", *columns])
        for row in [*records, *summary]:
            writer.writerow(
                [row["dataset"], row["method"], row["image"], *(_csv_value(row.get(c)) for c in columns)]
            )


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else _fmt(value)
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
        entry = datasets.setdefault(row["dataset"], {"pairs": row["pairs"], "methods": {}})
        entry["methods"][row["method"]] = {
            "mean": {c: row[c] for c in columns},
            "per_image": {
                r["image"]: {c: r.get(c) for c in columns}
                for r in records
                if r["dataset"] == row["dataset"] and r["method"] == row["method"]
            },
            **(extras or {}).get(row["dataset"], {}).get(row["method"], {}),
        }
    document = {
        "settings": settings or {},
        "metrics": {
            name: {"higher_is_better": m.higher_is_better, "unit": m.unit, "description": m.description}
            for name, m in FUSION_METRICS.items()
            if name in columns
        },
        "datasets": datasets,
    }
    path.write_text(json.dumps(json_safe(document), indent=2, allow_nan=False))
