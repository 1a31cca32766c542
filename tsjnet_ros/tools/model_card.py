r"""tsjnet-model-card: every figure of the model card, measured on one validation split.

Fusion: the six paper metrics of the classical methods (average, max, Laplacian pyramid and
the blend path between average and max) and of each checkpoint, which classical methods
are at least as good on all six, and a frontier plot. Detection: mAP@0.5 with per-class AP,
precision and recall for each checkpoint on the input its heads were trained on (fused,
IR only, visible only: the paper's comparison with the same heads and budget). Prints
markdown; ``--write`` puts it into the model card between its figure markers.

    tsjnet-model-card --names-file config/train/msrs_val.txt \
        --checkpoint models/tsjnet_rt.pt --previous OLD.pt --ir-only IR.pt --visible-only VIS.pt \
        --plot models/fusion_frontier.png --write models/README.md
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tqdm import tqdm

BEGIN, END = '<!-- figures:begin -->', '<!-- figures:end -->'
DEFAULT_DATA = '../shared/data/msrs_test'


def _fusion_section(args: argparse.Namespace, names: list[str]) -> tuple[list[str], dict]:
    from tsjnet_ros.core.fusion import create_backend
    from tsjnet_ros.core.metrics.fusion_frontier import (
        FRONTIER_METRICS,
        classical_methods,
        dominating_methods,
        plot_frontier,
        score_methods,
    )

    print(f'scoring the classical methods on {len(names)} pairs ...', file=sys.stderr, flush=True)
    means = score_methods(args.data, names, classical_methods(), workers=args.workers)
    classical = list(means)
    models = {}
    for label, path in (
        ('previous checkpoint', args.previous),
        ('shipped checkpoint', args.checkpoint),
    ):
        if path:
            print(f'scoring {path} ...', file=sys.stderr, flush=True)
            means.update(
                score_methods(args.data, names, {label: create_backend('tsjnet', checkpoint=path)})
            )
            models[label] = path
    arrows = {'SSIM': '↑', 'PSNR': '↑', 'VIF': '↑', 'Qabf': '↑', 'SF': '↑', 'CV': '↓'}
    lines = [
        '| Method | ' + ' | '.join(f'{m} {arrows[m]}' for m in FRONTIER_METRICS) + ' |',
        '|---|' + '---|' * len(FRONTIER_METRICS),
    ]
    for name, row in means.items():
        cells = ' | '.join(f'{row[m]:.4g}' for m in FRONTIER_METRICS)
        lines.append(f'| {"**" + name + "**" if name in models else name} | {cells} |')
    lap = means['laplacian_pyramid']
    verdicts = {}
    for label in models:
        row = means[label]
        dominated = dominating_methods(means, label, classical)
        beats_lap = (
            row['VIF'] > lap['VIF'] and row['Qabf'] > lap['Qabf'] and row['PSNR'] >= lap['PSNR']
        )
        verdicts[label] = {'dominated_by': dominated, 'beats_laplacian': beats_lap}
        lines.append('')
        lines.append(
            f'- {label}: classical methods at least as good on all six metrics: '
            f'{", ".join(dominated) if dominated else "**none**"}; against `laplacian_pyramid`: '
            f'VIF {row["VIF"]:.4f} vs {lap["VIF"]:.4f}, Qabf '
            f'{row["Qabf"]:.4f} vs {lap["Qabf"]:.4f}, '
            f'PSNR {row["PSNR"]:.2f} vs {lap["PSNR"]:.2f} dB '
            f'({"met" if beats_lap else "not met"}).'
        )
    if args.plot:
        plot_frontier(means, list(models), args.plot)
        lines += ['', f'![fusion frontier]({Path(args.plot).name})']
    return lines, verdicts


def _detection_section(args: argparse.Namespace, names: list[str]) -> list[str]:
    import torch

    from tsjnet_ros.core.model.checkpoint import load_checkpoint
    from tsjnet_ros.core.training.config import ValidationConfig
    from tsjnet_ros.core.training.validation import detection_report, load_validation_pairs

    rows = []
    runs = [
        ('fused (shipped)', args.checkpoint),
        ('IR only', args.ir_only),
        ('visible only', args.visible_only),
        ('fused (previous)', args.previous),
    ]
    for label, path in tqdm([r for r in runs if r[1]], desc='detection', file=sys.stderr):
        loaded = load_checkpoint(path)
        mode = loaded.metadata.get('input_mode', 'fused')
        pairs = load_validation_pairs(
            ValidationConfig(
                root=str(args.data), box_source=args.box_source, names=names, max_side=None
            ),
            loaded.system.detection_classes,
            {'people': 'person', 'bike': 'bicycle'},
        )
        report = detection_report(
            loaded.system, pairs, torch.device('cpu'), mode, args.score_threshold
        )
        per_class = ' | '.join(f'{c.ap50:.3f}' for c in report.per_class)
        precision = ' / '.join(f'{c.precision:.2f}' for c in report.per_class)
        recall = ' / '.join(f'{c.recall:.2f}' for c in report.per_class)
        steps = loaded.metadata.get('steps', '?')
        rows.append(
            f'| {label} | `{Path(path).name}` | {steps} | **{report.map50:.3f}** | {per_class} | '
            f'{precision} | {recall} |'
        )
        classes = [c.name for c in report.per_class]
    header = [
        f'| Input to the heads | Checkpoint | Steps | mAP@0.5 | AP50 {" | AP50 ".join(classes)} | '
        f'Precision ({"/".join(classes)}) | Recall |',
        '|---|---|---|---|' + '---|' * len(classes) + '---|---|',
    ]
    note = (
        f'Boxes: the `{args.box_source}` set; detections above score '
        f'{args.score_threshold:g}, class-agnostic '
        'NMS at IoU 0.6; precision and recall at IoU 0.5 for detections scoring at least 0.3.'
    )
    return header + rows + ['', note]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog='tsjnet-model-card', description=__doc__.splitlines()[0])
    parser.add_argument(
        '--data',
        type=Path,
        default=Path(DEFAULT_DATA),
        help=f'pair folder with boxes (default: {DEFAULT_DATA})',
    )
    parser.add_argument(
        '--names-file', type=Path, required=True, help='validation split, one pair name per line'
    )
    parser.add_argument(
        '--box-source', default='fused', help='box set used as ground truth (default: fused)'
    )
    parser.add_argument(
        '--checkpoint', default='', help='the checkpoint of the card (default: the shipped one)'
    )
    parser.add_argument('--previous', default='', help='a previous checkpoint to compare with')
    parser.add_argument('--ir-only', default='', help='heads trained on IR alone (input_mode ir)')
    parser.add_argument(
        '--visible-only', default='', help='heads trained on visible alone (input_mode visible)'
    )
    parser.add_argument('--score-threshold', type=float, default=0.05)
    parser.add_argument('--plot', type=Path, default=None, help='frontier plot (PNG)')
    parser.add_argument(
        '--write', type=Path, default=None, help=f'model card to update between {BEGIN} and {END}'
    )
    parser.add_argument('--workers', type=int, default=2)
    args = parser.parse_args(argv)

    from tsjnet_ros.core.training.config import read_name_list
    from tsjnet_ros.resources import default_checkpoint

    args.checkpoint = args.checkpoint or str(default_checkpoint())
    if not args.data.is_dir():
        parser.error(f'no pair folder at {args.data}')
    if not args.names_file.is_file():
        parser.error(f'no names file at {args.names_file}')
    try:
        names = read_name_list(args.names_file)
    except ValueError as exc:
        parser.error(f'{args.names_file}: {exc}')
    try:
        fusion_lines, _ = _fusion_section(args, names)
    except ValueError as exc:  # names not in the folder, unreadable pairs
        parser.error(str(exc))
    lines = [
        f'Validation split: {len(names)} pairs of `{args.data}` listed in `{args.names_file}`.',
        '',
        '#### Fusion (means, 8-bit luminance, default metric conventions)',
        '',
        *fusion_lines,
        '',
        '#### Detection',
        '',
        *_detection_section(args, names),
    ]
    text = '\n'.join(lines)
    print(text)
    if args.write:
        card = args.write.read_text(encoding='utf-8')
        if BEGIN not in card or END not in card:
            parser.error(f'{args.write} lacks the markers {BEGIN} ... {END}')
        head, rest = card.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        args.write.write_text(f'{head}{BEGIN}\n{text}\n{END}{tail}', encoding='utf-8')
        print(f'\nwrote the figures into {args.write}', file=sys.stderr)
    return 0


if __name__ == '__main__':
    sys.exit(main())
