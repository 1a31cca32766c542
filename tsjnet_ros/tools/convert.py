"""``tsjnet-convert``: the authors' released TSJNet checkpoint -> a tsjnet_ros checkpoint.

The result holds the ``tsjnet_official`` network (the authors' function) with their
weights, the class tables and the normalisation, and loads with
``FusionPipeline.from_checkpoint`` like any of our checkpoints. The authors publish no
task-head weights, so it is fusion-only unless ``--heads-from`` names one of our
checkpoints whose detection and segmentation heads (and class tables) are taken over.
Loading the authors' file directly also works (converted on every load); converting once
saves that time and checks the file up front.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from tsjnet_ros.core.model.checkpoint import Normalization, load_torch_file, save_checkpoint
from tsjnet_ros.core.model.official_checkpoint import (
    OFFICIAL_GROUPS,
    is_official_checkpoint,
    official_system,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog='tsjnet-convert', description=__doc__.split('\n\n')[0])
    parser.add_argument('source', type=Path, help="the authors' checkpoint (e.g. TSJNet.pth)")
    parser.add_argument('output', type=Path, help='tsjnet_ros checkpoint to write (.pt)')
    parser.add_argument(
        '--heads-from',
        type=Path,
        default=None,
        help='one of our checkpoints whose detection/segmentation heads to '
        'add (default: fusion only)',
    )
    parser.add_argument(
        '--authors-conventions',
        action='store_true',
        help="store the authors' inference conventions (rounded grayscale visible, 512x512 input, "
        'per-frame min-max output) instead of our flicker-free scaling',
    )
    parser.add_argument(
        '--inference-size',
        type=int,
        nargs=2,
        metavar=('H', 'W'),
        default=None,
        help='network input size stored in the checkpoint (default: camera size; '
        '512 512 with --authors-conventions)',
    )
    parser.add_argument('--force', action='store_true', help='overwrite an existing output file')
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format='%(message)s')
    if args.output.exists() and not args.force:
        print(f'tsjnet-convert: {args.output} exists (use --force to overwrite)', file=sys.stderr)
        return 2
    try:
        payload = load_torch_file(args.source)
        if not is_official_checkpoint(payload):
            found = sorted(payload) if isinstance(payload, dict) else type(payload).__name__
            raise ValueError(
                f"{args.source} is not the authors' TSJNet checkpoint: expected the groups "
                f'{", ".join(OFFICIAL_GROUPS)}, found {found}'
            )
        system, notes = official_system(payload, args.heads_from, source=str(args.source))
        size = tuple(args.inference_size) if args.inference_size else None
        if args.authors_conventions:
            normalization = Normalization.authors(**({'inference_size': size} if size else {}))
        else:
            normalization = Normalization(inference_size=size)
        notes['source_file'] = args.source.name
        save_checkpoint(system, args.output, normalization, metadata=notes)
    except (OSError, ValueError, RuntimeError) as exc:
        print(f'tsjnet-convert: {exc}', file=sys.stderr)
        return 1
    heads = (
        f'heads and classes from {args.heads_from}'
        if args.heads_from
        else 'fusion only (no detection/segmentation heads)'
    )
    print(
        f'wrote {args.output}: {system.variant}, relative position bias '
        f'{"on" if notes["nat_rel_pos_bias"] else "off"}, '
        f'{notes["dropped_never_called"]} never-called tensors '
        f'dropped, {heads}, convention {normalization.convention}'
    )
    return 0


if __name__ == '__main__':
    sys.exit(main())
