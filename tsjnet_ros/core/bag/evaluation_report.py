"""The report folder of a bag evaluation: markdown, JSON, metric tables and pictures.

Files: ``report.md`` (summary, problems, pictures), ``report.json`` (everything, per pair),
``metrics.md`` / ``metrics.csv`` / ``metrics.json`` (the tables ``tsjnet-eval`` writes, one
row per pair), ``contact_sheet.png``, ``per_frame_metrics.png`` and ``latency.png``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from tsjnet_ros.core.bag.evaluation import EvaluationResult
from tsjnet_ros.core.metrics.contact_sheet import save_contact_sheet
from tsjnet_ros.core.metrics.evaluation_report import (
    format_value,
    header_name,
    markdown_table,
    summarise,
    write_json_document,
    write_tables,
)

PLOTTED_METRICS = ('EN', 'SD', 'SSIM', 'MI', 'VIF', 'Qabf')
SHEET_COLUMNS = ('IR', 'visible', 'fused', 'overlay', 'ground truth')


def _records(result: EvaluationResult) -> list[dict]:
    name = result.bag.name
    return [
        {
            'dataset': name,
            'method': result.backend,
            'image': r.name,
            **r.metrics,
            'fuse_ms': r.timings['fuse'],
        }
        for r in result.records
    ]


def _baseline_table_records(result: EvaluationResult) -> list[dict]:
    """Return the evaluated backend and each baseline on the same pairs, as one table's records."""
    if not result.baseline_records:
        return []
    chosen = {b['pair'] for b in result.baseline_records}
    dataset = f'{result.bag.name}: baselines on {len(chosen)} pairs'
    rows = [
        {'dataset': dataset, 'method': result.backend, 'image': r.name, **r.metrics}
        for r in result.records
        if r.number in chosen
    ]
    rows += [
        {
            'dataset': dataset,
            'method': b['method'],
            'image': b['name'],
            **{k: v for k, v in b.items() if k not in ('method', 'pair', 'name')},
        }
        for b in result.baseline_records
    ]
    return rows


def _stats(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    data = np.asarray(values, dtype=np.float64)
    p50, p95 = np.percentile(data, (50, 95))
    return {
        'mean': float(data.mean()),
        'p50': float(p50),
        'p95': float(p95),
        'max': float(data.max()),
    }


def summary(result: EvaluationResult) -> dict:
    """Return the figures of the run as one JSON-ready dict (no per-pair data)."""
    plan = result.account
    columns = list(result.records[0].metrics) if result.records else []
    means = summarise(_records(result), columns)[0] if result.records and columns else {}
    baseline_rows = _baseline_table_records(result)
    baselines = (
        {row['method']: {c: row[c] for c in columns} for row in summarise(baseline_rows, columns)}
        if columns
        else {}
    )
    stats = plan.sync_stats
    return {
        'status': result.status,
        'bag': str(result.bag),
        'backend': result.backend,
        'settings': result.settings.as_dict(),
        'pairs': {
            'expected': result.expected_pairs,
            'processed': result.processed_pairs,
            'flushed_at_end': plan.flushed_pairs,
        },
        'messages': plan.messages,
        'invalid_images': plan.invalid,
        'unpaired_images': plan.unpaired,
        'sync': None
        if stats is None
        else {
            'received': stats.received,
            'dropped': stats.dropped,
            'out_of_order': stats.out_of_order,
            'emitted': stats.emitted,
            'resets': stats.resets,
        },
        'bag_read_completely': plan.complete,
        'stamp_range_s': {
            k: (None if v is None else [v[0] / 1e9, v[1] / 1e9])
            for k, v in plan.stamp_range.items()
        },
        'ground_truth': {
            'detections': plan.has_gt_detections,
            'segmentation': plan.has_gt_segmentation,
            'unmatched_messages': plan.gt_unmatched,
            'source': result.ground_truth_source,
        },
        'stills': result.stills,
        'fusion_metrics_mean': {c: means.get(c) for c in columns},
        'baselines_same_pairs': {
            'pairs': sorted({b['name'] for b in result.baseline_records}),
            'mean': baselines,
        },
        'detection': result.detection,
        'segmentation': result.segmentation,
        'timings_ms': {
            k: _stats([r.timings[k] for r in result.records])
            for k in ('prepare', 'fuse', 'metrics', 'output', 'total')
        },
        'pair_offset_ms': _stats([(r.ir_stamp_ns - r.stamp_ns) / 1e6 for r in result.records]),
        'throughput_pairs_per_s': result.processed_pairs / result.wall_s
        if result.wall_s > 0
        else None,
        'wall_s': result.wall_s,
        'output_bag': None
        if result.output_bag is None
        else {'path': str(result.output_bag), 'counts': result.output_counts},
        'problems': [p.as_dict() for p in result.problems],
    }


def one_line(result: EvaluationResult, report_dir: Path | None = None) -> str:
    """Return a single summary line for the terminal."""
    s = summary(result)
    parts = [
        f'{s["pairs"]["processed"]}/{s["pairs"]["expected"]} pairs from '
        f'{result.bag} with {result.backend}'
    ]
    means = s['fusion_metrics_mean']
    shown = [
        f'{k} {means[k]:.3f}'
        for k in ('EN', 'SSIM', 'MI', 'Qabf')
        if means.get(k) is not None and math.isfinite(means[k])
    ]
    if shown:
        parts.append(', '.join(shown))
    if result.detection:
        parts.append(f'mAP50 {result.detection["mAP50"]:.3f}')
    if result.segmentation:
        parts.append(f'mIoU {result.segmentation["mIoU"]:.3f}')
    fuse = s['timings_ms']['fuse']
    if fuse:
        parts.append(f'fuse p50 {fuse["p50"]:.1f} ms, {s["throughput_pairs_per_s"]:.1f} pairs/s')
    parts.append(f'{len(result.problems)} problem{"s" if len(result.problems) != 1 else ""}')
    if result.status != 'complete':
        parts.append(result.status)
    if report_dir is not None:
        parts.append(f'report {report_dir / "report.md"}')
    return '; '.join(parts)


def write_report(
    result: EvaluationResult, out_dir: str | Path, tile_width: int = 480
) -> dict[str, Path]:
    """Write every report file; returns their paths by name."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    records = _records(result)
    columns = [*(list(result.records[0].metrics) if result.records else []), 'fuse_ms']
    extras = {}
    if result.detection:
        extras['detection'] = result.detection
    if result.segmentation:
        extras['segmentation'] = result.segmentation
    if records:
        extras_by = {result.bag.name: {result.backend: extras}} if extras else None
        preamble = (
            f'Bag `{result.bag}`; one row per synchronised pair, named '
            + (
                'by its input pair.'
                if result.stills
                else "by its visible stamp after the first pair's."
            )
            + ' Baselines (classical methods) on some pairs, with the backend '
            'on the same pairs, follow.'
        )
        table = records + _baseline_table_records(result)
        paths.update(
            write_tables(out, table, columns, extras_by, result.settings.as_dict(), preamble)
        )
    if result.contact_rows:
        titles = [f'{c} ({result.backend})' if c == 'fused' else c for c in SHEET_COLUMNS]
        paths['contact_sheet'] = save_contact_sheet(
            out / 'contact_sheet.png', result.contact_rows, titles, tile_width
        )
    if result.records:
        paths.update(_plots(result, out))
    document = {'summary': summary(result), 'pairs': [r.as_dict() for r in result.records]}
    paths['report_json'] = out / 'report.json'
    write_json_document(paths['report_json'], document)
    paths['report_md'] = out / 'report.md'
    paths['report_md'].write_text(_markdown(result, paths))
    return paths


def pair_axis(
    result: EvaluationResult, max_ticks: int = 40
) -> tuple[np.ndarray, str, tuple[np.ndarray, list[str]] | None]:
    """X values, axis label and (tick positions, tick labels) of the per-pair plots.

    Still pairs (a bag made from a folder) are unrelated pictures: one position per pair,
    ticked with the input names. A recording is plotted over bag time.
    """
    if result.stills:
        positions = np.arange(len(result.records), dtype=np.float64)
        step = max(1, -(-len(result.records) // max_ticks))
        return (
            positions,
            'input pair',
            (positions[::step], [r.name for r in result.records][::step]),
        )
    t0 = result.records[0].stamp_ns
    return (
        np.array([(r.stamp_ns - t0) / 1e9 for r in result.records]),
        'bag time of the pair (s)',
        None,
    )


def _plots(result: EvaluationResult, out: Path) -> dict[str, Path]:
    import matplotlib

    matplotlib.use('Agg')
    from matplotlib import pyplot as plt

    times, x_label, ticks = pair_axis(result)

    def x_axis(ax) -> None:
        ax.set_xlabel(x_label)
        if ticks is not None:
            ax.set_xticks(*ticks, rotation=90, fontsize=7)

    style = (
        {'marker': 'o', 'linestyle': 'none'} if result.stills else {'marker': '.', 'linewidth': 1}
    )
    paths = {}
    shown = [m for m in PLOTTED_METRICS if m in result.records[0].metrics] or list(
        result.records[0].metrics
    )[:6]
    if shown:
        fig, axes = plt.subplots(
            len(shown), 1, figsize=(8, 1.6 * len(shown) + 0.6), sharex=True, squeeze=False
        )
        for ax, name in zip(axes[:, 0], shown):
            ax.plot(times, [r.metrics[name] for r in result.records], **style)
            ax.set_ylabel(name)
            ax.grid(alpha=0.3)
        x_axis(axes[-1, 0])
        fig.suptitle(f'Per-pair fusion metrics, {result.backend}')
        fig.tight_layout()
        paths['per_frame_metrics'] = out / 'per_frame_metrics.png'
        fig.savefig(paths['per_frame_metrics'], dpi=100)
        plt.close(fig)
    fig, ax = plt.subplots(figsize=(8, 3.2))
    shown_steps = [
        ('total', 'pair total'),
        ('fuse', 'fuse()'),
        ('metrics', 'fusion metrics + scoring'),
        ('output', 'overlay + output bag'),
    ]
    for key, label in shown_steps:
        values = [r.timings[key] for r in result.records]
        if key == 'total' or max(values) > 0.05:
            ax.plot(times, values, label=label, **style)
    fuse = np.array([r.timings['fuse'] for r in result.records])
    ax.axhline(
        float(np.percentile(fuse, 95)), color='grey', linestyle='--', linewidth=1, label='fuse p95'
    )
    x_axis(ax)
    ax.set_ylabel('ms')
    ax.set_title('Processing time per pair')
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    paths['latency'] = out / 'latency.png'
    fig.savefig(paths['latency'], dpi=100)
    plt.close(fig)
    return paths


def _markdown(result: EvaluationResult, paths: dict[str, Path]) -> str:
    s = summary(result)
    pairs = s['pairs']
    lines = [
        f'# Bag evaluation: {result.bag.name}',
        '',
        f'Status: **{s["status"]}**. Backend `{result.backend}`; sync '
        f'`{result.settings.sync_policy}` '
        f'(slop {result.settings.slop} s, queue {result.settings.queue_size}), resize to '
        f'{result.settings.resize_to}.',
        '',
        '| | IR | visible |',
        '|---|---|---|',
        f'| messages | {s["messages"]["ir"]} | {s["messages"]["visible"]} |',
        f'| invalid (skipped) | {s["invalid_images"]["ir"]} | {s["invalid_images"]["visible"]} |',
        f'| not in a pair | {s["unpaired_images"]["ir"]} | {s["unpaired_images"]["visible"]} |',
        '',
        f'Pairs: {pairs["processed"]} processed of {pairs["expected"]} formed '
        f'({pairs["flushed_at_end"]} completed at the end of the bag). '
        f'Throughput {format_value(s["throughput_pairs_per_s"])} pairs/s '
        f'over {s["wall_s"]:.1f} s.',
        '',
    ]
    means = s['fusion_metrics_mean']
    if means:
        columns = list(means)
        compared = s['baselines_same_pairs']
        rows = [{'method': result.backend, 'pairs': f'all {pairs["processed"]}', **means}]
        rows += [
            {'method': method, 'pairs': f'same {len(compared["pairs"])}', **row}
            for method, row in compared['mean'].items()
        ]
        lines += [
            '## Fusion metrics (mean over pairs; ↑ higher is better, ↓ lower is better)',
            '',
            *markdown_table(
                rows,
                ['method', 'pairs', *columns],
                ['method', 'pairs', *map(header_name, columns)],
            ),
        ]
        if compared['mean']:
            lines += [
                '',
                f'Baselines (classical fusion) ran on {len(compared["pairs"])} '
                'pairs spread over the bag '
                f'({", ".join(compared["pairs"])}); the `{result.backend}` row marked '
                "'same' is the backend on "
                'those pairs.',
            ]
        lines.append('')
        if 'metrics_md' in paths:
            lines += [
                f'Per pair: [{paths["metrics_md"].name}]({paths["metrics_md"].name}), '
                f'[{paths["metrics_csv"].name}]({paths["metrics_csv"].name}).',
                '',
            ]
    gt = s['ground_truth']
    source = gt['source'] or 'not recorded in the bag'
    if gt['detections'] or gt['segmentation']:
        boxes = 'the ground-truth detections topic' if gt['detections'] else 'none in this bag'
        maps = 'the ground-truth segmentation topic' if gt['segmentation'] else 'none in this bag'
        lines += [
            '## Ground truth',
            '',
            f'Boxes: {boxes}; class maps: {maps}. Source: {source}.',
            '',
        ]
    if result.detection:
        d = result.detection
        keys = ['class', 'AP50', 'AP50_95', 'precision', 'recall', 'ground_truth', 'detections']
        titles = [
            'class',
            'AP50 ↑',
            'AP50:95 ↑',
            'precision ↑',
            'recall ↑',
            'ground truth',
            'detections',
        ]
        lines += [
            '## Detection',
            '',
            f'mAP50 {format_value(d["mAP50"])}, '
            f'mAP50:95 {format_value(d["mAP50_95"])} ({source}).',
            '',
            *markdown_table(
                [{'class': name, **c} for name, c in d.get('per_class', {}).items()], keys, titles
            ),
        ]
        lines += [
            '',
            'Precision and recall at IoU 0.5 for the detections the backend '
            'keeps (its score threshold).',
            '',
        ]
    elif gt['detections']:
        lines += [
            '## Detection',
            '',
            f'Not scored: backend `{result.backend}` has no detector.',
            '',
        ]
    else:
        lines += ['## Detection', '', 'Not scored: the bag has no ground-truth boxes.', '']
    if result.segmentation:
        lines += [
            '## Segmentation',
            '',
            f'mIoU {format_value(result.segmentation["mIoU"])}, pixel accuracy '
            f'{format_value(result.segmentation["pixel_accuracy"])}',
            '',
        ]
    elif gt['segmentation']:
        lines += [
            '## Segmentation',
            '',
            f'Not scored: backend `{result.backend}` has no segmentation head.',
            '',
        ]
    else:
        lines += [
            '## Segmentation',
            '',
            'Not scored: the bag has no ground-truth class maps, so the segmentation '
            'the backend publishes (in the output bag) is not measured.',
            '',
        ]
    t = s['timings_ms']
    if t['total']:
        lines += [
            '## Processing time per pair (ms)',
            '',
            '| step | mean | p50 | p95 | max |',
            '|---|---|---|---|---|',
        ]
        lines += [
            f'| {k} | {v["mean"]:.2f} | {v["p50"]:.2f} | {v["p95"]:.2f} | {v["max"]:.2f} |'
            for k, v in t.items()
            if v
        ]
        lines.append('')
    lines += ['## Problems', '']
    lines += [f'- {p}' for p in result.problems] or ['None.']
    lines.append('')
    if result.output_bag is not None:
        counts = ', '.join(f'{k} {v}' for k, v in s['output_bag']['counts'].items())
        lines += ['## Output bag', '', f'`{result.output_bag}`: {counts}.', '']
    for key, title in (
        ('contact_sheet', 'Contact sheet'),
        ('per_frame_metrics', 'Per-pair metrics'),
        ('latency', 'Processing time'),
    ):
        if key in paths:
            lines += [f'## {title}', '', f'![{title}]({paths[key].name})', '']
    return '\n'.join(lines)
