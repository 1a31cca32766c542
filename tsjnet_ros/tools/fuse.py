"""``tsjnet-fuse``: fuse a folder of registered IR/visible pairs into image files.

For every pair of the folder (the layouts ``tsjnet-eval`` reads: MSRS ``ir/`` + ``vi/``,
LLVIP, M3FD, ...) it writes the fused grey and colour images under the input's name, and,
when the backend (or the ONNX detector / segmenter options) has them, detections (YOLO txt
or COCO JSON) and segmentation maps beside them (see
:mod:`tsjnet_ros.core.datasets.fused_folder`). Pairs are prepared exactly as the fusion node
prepares camera images (``resize_to``), with the node's parameter file.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from tsjnet_ros.core.bag.problems import BagError
from tsjnet_ros.core.datasets.fused_folder import DETECTION_FORMATS, FusedFolderWriter
from tsjnet_ros.core.datasets.layout import LAYOUTS
from tsjnet_ros.tools.bag import add_pipeline_options, pipeline_settings
from tsjnet_ros.tools.progress import progress_bar, waiting

PROG = 'tsjnet-fuse'


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description='Fuse every IR/visible pair of a folder into PNG files named like the inputs: '
        'OUT/fused/ (grey), OUT/fused_color/, and with the shipped model '
        'OUT/detections/ (YOLO txt) or '
        'OUT/detections.json (COCO), OUT/segmentation/ (class ids) and OUT/segmentation_color/.',
    )
    parser.add_argument('input', type=Path, help='folder of registered pairs (e.g. ir/ and vi/)')
    parser.add_argument(
        '--out',
        type=Path,
        default=Path('output/fused'),
        help='output folder (default output/fused)',
    )
    parser.add_argument(
        '--detections',
        choices=DETECTION_FORMATS,
        default='yolo',
        help='detection file format (default yolo: one NAME.txt per pair; coco: detections.json)',
    )
    parser.add_argument(
        '--layout', default='auto', choices=LAYOUTS, help='dataset layout (default auto)'
    )
    parser.add_argument('--split', help='split sub-folder, e.g. test')
    parser.add_argument('--limit', type=int, help='fuse at most this many pairs (default: all)')
    parser.add_argument('--no-progress', action='store_true', help='hide progress')
    add_pipeline_options(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    from tsjnet_ros.core.datasets import PairDataset

    if args.limit is not None and args.limit < 1:
        raise ValueError('--limit must be >= 1')
    if not args.input.is_dir():
        what = 'is a file, not a folder of pairs' if args.input.exists() else 'no such folder'
        raise BagError(f'{args.input}: {what}')
    dataset = PairDataset(args.input, layout=args.layout, split=args.split)
    count = len(dataset) if args.limit is None else min(args.limit, len(dataset))
    if count == 0:
        raise BagError(f'{args.input}: no IR/visible pairs found')
    settings, _ = pipeline_settings(args)
    try:
        with waiting(f'{PROG}: loading {settings.fusion_backend}', not args.no_progress):
            backend = settings.build_backend()
    except Exception as exc:  # any failure to build the backend is a user-facing error
        raise BagError(
            f'cannot start the {settings.fusion_backend!r} fusion with its tasks: {exc}'
        ) from None
    writer = FusedFolderWriter(
        args.out,
        args.detections,
        getattr(backend, 'detection_classes', []) or [],
        getattr(backend, 'segmentation_classes', []) or [],
    )
    prepare = settings.pair_preparation()
    update, close = progress_bar(not args.no_progress, PROG, 'pair')
    try:
        for index in range(count):
            sample = dataset[index]
            ir_encoding = 'mono16' if sample.ir.dtype.itemsize == 2 else 'mono8'
            ir, visible = prepare(sample.ir, ir_encoding, sample.visible, 'rgb8')
            writer.write(sample.name, backend.fuse(ir, visible))
            if update is not None:
                update(index + 1, count)
    finally:
        close()
        writer.close()
    what = ['fused/', 'fused_color/']
    if writer.detection_format == 'yolo':
        what.append('detections/ (YOLO)')
    elif writer.detection_format == 'coco':
        what.append('detections.json (COCO)')
    if writer.segmentation_classes:
        what += ['segmentation/', 'segmentation_color/']
    print(
        f'{PROG}: {writer.written} pairs from {args.input} with '
        f'{getattr(backend, "name", settings.fusion_backend)} '
        f'-> {args.out}: {", ".join(what)}'
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except (BagError, ValueError, FileNotFoundError, OSError) as exc:
        print(f'{PROG}: error: {exc}', file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f'{PROG}: interrupted', file=sys.stderr)
        return 130


if __name__ == '__main__':
    sys.exit(main())
