"""tsjnet-eval: run fusion methods over IR/visible datasets and tabulate every metric.

Each input is a pair folder (``ir/`` + ``vi/``, optional labels), or a root whose
sub-folders are such datasets. Every method fuses the same pairs; the fusion metrics are
computed on 8-bit luminance (IR as the backends read it, visible as BT.601 luma, the fused
luminance). Detection mAP and segmentation mIoU are added when a method produces them and
the dataset has the matching labels. Outputs in ``--out``: metrics.md, metrics.csv,
metrics.json and contact_sheet_<dataset>.png; the mean table is printed too. The shipped
model runs next to the classical baselines by default; each ``--checkpoint`` adds a row
named by its file name.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from tqdm import tqdm

from tsjnet_ros.core.datasets import PairDataset
from tsjnet_ros.core.datasets.layout import LAYOUTS
from tsjnet_ros.core.metrics.contact_sheet import save_contact_sheet
from tsjnet_ros.core.metrics.detection import ImageAnnotations
from tsjnet_ros.core.metrics.evaluation_report import mean_tables, write_tables
from tsjnet_ros.core.metrics.evaluator import PairEvaluator, luminance_inputs
from tsjnet_ros.core.metrics.fusion_suite import CONVENTION_PRESETS, FUSION_METRICS
from tsjnet_ros.core.metrics.predictions import predictions_by_class_name
from tsjnet_ros.tools.progress import waiting

NEURAL_METHOD = 'tsjnet'
DEFAULT_METHODS = ('average', 'max', 'laplacian_pyramid', NEURAL_METHOD)
DEFAULT_OUT = Path('tsjnet_eval')
_BAG_SUFFIXES = ('.mcap', '.db3', '.bag')


class EvaluationError(Exception):
    """A problem with the user's inputs, reported as one line and exit status 2."""


class _DefaultsHelpFormatter(argparse.HelpFormatter):
    """Appends "(default: X)" to options that have a default and do not name it already."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ''
        if (
            'default' in text
            or action.default in (None, False, argparse.SUPPRESS)
            or not action.option_strings
        ):
            return text
        return f'{text} (default: %(default)s)'


def build_parser() -> argparse.ArgumentParser:
    from tsjnet_ros.core.fusion import available_backends

    parser = argparse.ArgumentParser(
        prog='tsjnet-eval',
        description='Evaluate IR/visible fusion methods on datasets of registered '
        'pairs. Writes OUT/metrics.md, '
        'metrics.csv, metrics.json and contact_sheet_<dataset>.png, and prints the mean table.',
        formatter_class=_DefaultsHelpFormatter,
    )
    parser.add_argument('inputs', nargs='+', type=Path, help='pair folder(s) or dataset root(s)')
    parser.add_argument(
        '--method',
        action='append',
        dest='methods',
        metavar='NAME',
        help=f'fusion method to run, repeatable; one of: {", ".join(available_backends())} '
        f"('{NEURAL_METHOD}' = the shipped model, or each --checkpoint) (default: "
        f'{", ".join(DEFAULT_METHODS)})',
    )
    parser.add_argument(
        '--checkpoint',
        type=Path,
        action='append',
        dest='checkpoints',
        metavar='PATH',
        help='TSJNet checkpoint instead of the shipped one, repeatable; each runs as '
        f"'{NEURAL_METHOD}' in a row "
        'named by its file name (default: the shipped models/tsjnet_rt.pt)',
    )
    parser.add_argument('--out', type=Path, default=DEFAULT_OUT, help='output folder')
    parser.add_argument('--layout', default='auto', choices=LAYOUTS, help='dataset layout')
    parser.add_argument('--split', help='split sub-folder, e.g. test (default: none)')
    parser.add_argument(
        '--box-source',
        help='YOLO box set when labels/ has one per modality (default: fused, vi, ir)',
    )
    parser.add_argument(
        '--limit', type=int, help='evaluate at most this many pairs per dataset (default: all)'
    )
    parser.add_argument(
        '--contact-sheet',
        type=int,
        default=4,
        metavar='N',
        help="pairs shown in each dataset's contact sheet (0: none; default 4)",
    )
    parser.add_argument('--tile-width', type=int, default=256, help='contact sheet tile width')
    parser.add_argument(
        '--convention',
        default='default',
        choices=sorted(CONVENTION_PRESETS),
        help='metric convention preset (see docs/metrics.md)',
    )
    parser.add_argument(
        '--metrics', help=f'comma-separated subset of: {",".join(FUSION_METRICS)} (default: all)'
    )
    parser.add_argument('--no-progress', action='store_true', help='hide the progress bar')
    models = parser.add_argument_group(
        "detector / segmenter on each method's fused image (add --method "
        'ir_only --method visible_only '
        'to score them on one camera alone)'
    )
    models.add_argument(
        '--detector-model', type=Path, help='ONNX detector (YOLOv5, YOLOv8/11 or NMS-ed outputs)'
    )
    models.add_argument(
        '--detector-labels',
        type=Path,
        help="its class names (text: one per line, or YAML 'names')",
    )
    models.add_argument(
        '--detector-layout', default='auto', help='auto | yolov5 | yolov8 | nms (default auto)'
    )
    models.add_argument(
        '--segmentation-model',
        type=Path,
        help='ONNX segmenter ([1, C, h, w] logits or [1, h, w] ids)',
    )
    models.add_argument('--segmentation-labels', type=Path, help='its class names')
    models.add_argument(
        '--score-threshold',
        type=float,
        default=0.3,
        help='lowest detection score kept (default 0.3)',
    )
    models.add_argument('--device', default='auto', help='auto | cpu | cuda:N for the ONNX models')
    return parser


def _is_bag(path: Path) -> bool:
    return path.suffix.lower() in _BAG_SUFFIXES or (path / 'metadata.yaml').is_file()


def open_datasets(
    inputs: Sequence[Path], args: argparse.Namespace
) -> list[tuple[str, PairDataset]]:
    """One (name, dataset) per pair folder; a root expands to its dataset sub-folders."""
    found: list[tuple[str, PairDataset]] = []
    for path in inputs:
        if _is_bag(path):
            raise EvaluationError(
                f'{path} is a rosbag: evaluate it with `tsjnet-bag '
                f'evaluate {path} --backend NAME` '
                '(synchronises the cameras like the node); tsjnet-eval takes pair folders'
            )
        if not path.is_dir():
            what = 'is a file, not a folder of pairs' if path.exists() else 'no such folder'
            raise EvaluationError(f'{path}: {what}')
        options = dict(layout=args.layout, split=args.split, box_source=args.box_source)
        try:
            found.append((path.resolve().name, PairDataset(path, **options)))
            continue
        except ValueError as direct_error:
            children = []
            for child in sorted(c for c in path.iterdir() if c.is_dir()):
                try:
                    children.append((child.name, PairDataset(child, **options)))
                except ValueError:
                    continue
            if not children:
                raise EvaluationError(f'{path}: {direct_error}') from None
            found.extend(children)
    names: dict[str, int] = {}
    unique = []
    for name, dataset in found:
        names[name] = names.get(name, 0) + 1
        unique.append((name if names[name] == 1 else f'{name}_{names[name]}', dataset))
    return unique


def checkpoint_row_names(checkpoints: Sequence[Path]) -> dict[str, Path]:
    """Return the row name per checkpoint.

    That is its file name without suffix, with parent folders added until the names differ
    (``runs/a/best.pt`` and ``runs/b/best.pt`` -> ``a/best``, ``b/best``).
    """
    paths = list(dict.fromkeys(Path(c) for c in checkpoints))
    depth = 1
    while True:
        names = [
            '/'.join([*p.parent.parts[len(p.parent.parts) - depth + 1 :], p.stem])
            if depth > 1
            else p.stem
            for p in paths
        ]
        if len(set(names)) == len(names) or depth > max(len(p.parts) for p in paths):
            return dict(zip(names, paths))
        depth += 1


def create_methods(
    methods: Sequence[str] | None, checkpoints: Sequence[Path] | None, show_progress: bool = False
) -> dict[str, object]:
    """Instantiate the requested fusion backends.

    ``tsjnet`` becomes one row per checkpoint (the shipped model when none is given), named by
    the checkpoint's file name.
    """
    from tsjnet_ros.core.fusion import available_backends, create_backend
    from tsjnet_ros.resources import default_checkpoint

    names = list(dict.fromkeys(methods or DEFAULT_METHODS))
    if checkpoints and NEURAL_METHOD not in names:
        names.append(NEURAL_METHOD)
    backends = {}
    for name in names:
        if name == NEURAL_METHOD:
            try:
                chosen = list(checkpoints or [default_checkpoint()])
            except FileNotFoundError as exc:
                raise EvaluationError(
                    f"method '{NEURAL_METHOD}': {exc}; pass --checkpoint PATH"
                ) from None
            missing = [str(c) for c in chosen if not Path(c).is_file()]
            if missing:
                raise EvaluationError(f'checkpoint {", ".join(missing)} does not exist')
            jobs = [
                (row, {'checkpoint': str(path)})
                for row, path in checkpoint_row_names(chosen).items()
            ]
        else:
            jobs = [(name, {})]
        for row, kwargs in jobs:
            try:
                with waiting(
                    f'tsjnet-eval: loading {row}', show_progress and name == NEURAL_METHOD
                ):
                    backends[row] = create_backend(name, **kwargs)
            except Exception as exc:  # any failure to build a backend is a user-facing error
                raise EvaluationError(
                    f'fusion method {name!r} is not available: {exc} '
                    f'(known methods: {", ".join(available_backends())})'
                ) from None
    return backends


def add_task_models(backends: dict[str, object], args: argparse.Namespace) -> dict[str, object]:
    """Every method's fused image through the ONNX detector/segmenter, loaded once and shared."""
    from tsjnet_ros.core.perception.fused_image_models import FusedImageModels
    from tsjnet_ros.core.perception.settings import TaskModelSettings, build_task_models

    try:
        tasks = TaskModelSettings(
            detector_backend='onnx' if args.detector_model else 'tsjnet',
            detector_model=str(args.detector_model or ''),
            detector_labels=str(args.detector_labels or ''),
            detector_layout=args.detector_layout,
            segmentation_backend='onnx' if args.segmentation_model else 'tsjnet',
            segmentation_model=str(args.segmentation_model or ''),
            segmentation_labels=str(args.segmentation_labels or ''),
        )
        if not tasks.uses_onnx:
            return backends
        detector, segmenter = build_task_models(
            tasks, device=args.device, score_threshold=args.score_threshold
        )
    except ValueError as exc:
        raise EvaluationError(str(exc)) from None
    return {
        name: FusedImageModels(backend, detector, segmenter) for name, backend in backends.items()
    }


def _selected_metrics(spec: str | None) -> list[str]:
    if not spec:
        return list(FUSION_METRICS)
    chosen = [m.strip() for m in spec.split(',') if m.strip()]
    unknown = [m for m in chosen if m not in FUSION_METRICS]
    if unknown:
        raise EvaluationError(f'unknown metrics {unknown}; known: {", ".join(FUSION_METRICS)}')
    return chosen


def evaluate_dataset(
    name: str,
    dataset: PairDataset,
    backends: dict[str, object],
    metric_names: list[str],
    args: argparse.Namespace,
) -> tuple[list[dict], dict[str, dict], list[tuple[str, list[np.ndarray]]]]:
    """Fuse every pair with every method; return per-image records, task figures, sheet rows."""
    count = len(dataset) if args.limit is None else min(len(dataset), args.limit)
    records: list[dict] = []
    sheet_rows: list[tuple[str, list[np.ndarray]]] = []
    evaluators = {
        m: PairEvaluator(metric_names, args.convention, dataset.segmentation_class_names)
        for m in backends
    }
    for index in tqdm(
        range(count), desc=name, unit='pair', disable=args.no_progress, file=sys.stderr
    ):
        try:
            sample = dataset[index]
            ir8, visible_luma = luminance_inputs(sample.ir, sample.visible)
        except (ValueError, TypeError) as exc:  # unreadable file, unusable image
            raise EvaluationError(f'{name}, pair {index + 1} of {count}: {exc}') from None
        tiles = [sample.ir, sample.visible]
        for method, backend in backends.items():
            evaluator = evaluators[method]
            start = time.perf_counter()
            result = backend.fuse(sample.ir, sample.visible)
            fuse_ms = (time.perf_counter() - start) * 1000.0
            try:
                scores = evaluator.add_fusion(ir8, visible_luma, result.fused)
            except ValueError as exc:  # e.g. an image too small for a metric
                raise EvaluationError(f'{name}/{sample.name}, {method} metrics: {exc}') from None
            records.append(
                {
                    'dataset': name,
                    'method': method,
                    'image': sample.name,
                    **scores,
                    'fuse_ms': fuse_ms,
                }
            )
            tiles.append(result.fused_color)
            if sample.boxes is not None and getattr(backend, 'detection_classes', None):
                evaluator.add_detections(
                    predictions_by_class_name(result.detections, sample.class_names),
                    ImageAnnotations(sample.boxes, sample.labels, sample.difficult),
                )
            if sample.segmentation is not None and result.segmentation is not None:
                try:
                    evaluator.add_segmentation(result.segmentation, sample.segmentation)
                except (ValueError, TypeError) as exc:
                    raise EvaluationError(
                        f'{name}/{sample.name}, {method} segmentation: {exc}'
                    ) from None
        if index < args.contact_sheet:
            sheet_rows.append((sample.name, tiles))

    extras: dict[str, dict] = {}
    for method, evaluator in evaluators.items():
        report = evaluator.detection_report(dataset.class_names)
        if report is not None:
            extras.setdefault(method, {})['detection'] = report.as_dict()
        segmentation = evaluator.segmentation_report()
        if segmentation is not None:
            extras.setdefault(method, {})['segmentation'] = segmentation
    return records, extras, sheet_rows


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.limit is not None and args.limit < 1:
            raise EvaluationError('--limit must be >= 1')
        if args.contact_sheet < 0:
            raise EvaluationError('--contact-sheet must be >= 0')
        metric_names = _selected_metrics(args.metrics)
        datasets = open_datasets(args.inputs, args)
        backends = add_task_models(
            create_methods(args.methods, args.checkpoints, not args.no_progress), args
        )
        args.out.mkdir(parents=True, exist_ok=True)
        all_records: list[dict] = []
        all_extras: dict[str, dict] = {}
        for name, dataset in datasets:
            records, extras, sheet_rows = evaluate_dataset(
                name, dataset, backends, metric_names, args
            )
            all_records.extend(records)
            if extras:
                all_extras[name] = extras
            if sheet_rows:
                save_contact_sheet(
                    args.out / f'contact_sheet_{name}.png',
                    sheet_rows,
                    ['IR', 'visible', *backends],
                    args.tile_width,
                )
    except EvaluationError as exc:
        print(f'tsjnet-eval: error: {exc}', file=sys.stderr)
        return 2
    columns = [*metric_names, 'fuse_ms']
    settings = {
        'convention': args.convention,
        'methods': list(backends),
        'detector_model': str(args.detector_model or ''),
        'segmentation_model': str(args.segmentation_model or ''),
        'inputs': [str(p) for p in args.inputs],
        'limit': args.limit,
    }
    preamble = (
        f'Convention preset `{args.convention}` (docs/metrics.md); ↑ higher is better, ↓ lower is '
        'better; fuse_ms is the wall time of one fuse() call. Metrics on 8-bit luminance.'
    )
    write_tables(args.out, all_records, columns, all_extras, settings, preamble)
    print('\n'.join(mean_tables(all_records, columns)))
    print(f'wrote {args.out / "metrics.md"}, metrics.csv, metrics.json', file=sys.stderr)
    return 0


if __name__ == '__main__':
    sys.exit(main())
