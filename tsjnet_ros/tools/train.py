"""tsjnet-train: train a fusion variant jointly with its task heads from a YAML config.

Single process: ``tsjnet-train config/train/tsjnet_rt.yaml``. Several processes or
machines: ``torchrun --nproc_per_node N -m tsjnet_ros.tools.train CONFIG`` (gloo on CPU,
NCCL on CUDA). A run resumes from its ``output_dir`` unless ``--restart`` is given, and
says so: from which step, and how many steps this call trained. Dataset folders are named
in the config relative to the working directory; ``--data-root DIR`` points every one of
them into DIR (the folder holding msrs/, llvip/, ...), and a missing one stops the command
with what to set.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import yaml

from tsjnet_ros.core.model.checkpoint import build_system, load_checkpoint, read_checkpoint
from tsjnet_ros.core.model.heads.config import HeadsConfig
from tsjnet_ros.core.model.heads.system import TSJNetSystem
from tsjnet_ros.core.training.config import TrainConfig, load_train_config, train_config_from_dict
from tsjnet_ros.core.training.distributed import (
    choose_device,
    init_distributed,
    shutdown_distributed,
)
from tsjnet_ros.core.training.trainer import Trainer
from tsjnet_ros.core.training.validation import load_validation_pairs, validate


def _apply_override(data: dict, assignment: str) -> None:
    """``a.b.0.c=value`` (value parsed as YAML) into the nested config; numbers index lists."""
    if '=' not in assignment:
        raise ValueError(f'--set expects KEY=VALUE, got {assignment!r}')
    key, raw = assignment.split('=', 1)
    parts = key.strip().split('.')
    node: Any = data
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise ValueError(
                    f'--set {key}: {part!r} is not an index of a {len(node)}-item list'
                )
            if last:
                node[int(part)] = yaml.safe_load(raw)
            else:
                node = node[int(part)]
        elif isinstance(node, dict):
            if last:
                node[part] = yaml.safe_load(raw)
            else:
                node = node.setdefault(part, {})
        else:
            raise ValueError(f'--set {key}: {part!r} is below a plain value')


def _dataset_roots(data: dict) -> list[tuple[str, list]]:
    """(config key, key path) of every dataset folder the config names."""
    roots = [
        (f'data.sources.{i}.root', ['data', 'sources', i, 'root'])
        for i, source in enumerate(data.get('data', {}).get('sources') or [])
        if source.get('root')
    ]
    if (data.get('validation') or {}).get('root'):
        roots.append(('validation.root', ['validation', 'root']))
    return roots


def _get(data: Any, path: list) -> Any:
    for part in path:
        data = data[part]
    return data


def apply_data_root(data: dict, data_root: str) -> None:
    """Point every dataset folder of the config into ``data_root``, keeping each folder's name.

    ``../shared/data/msrs`` with ``--data-root /data`` becomes ``/data/msrs``.
    """
    for _, path in _dataset_roots(data):
        parent = _get(data, path[:-1])
        parent[path[-1]] = str(Path(data_root) / Path(str(parent[path[-1]])).name)


def missing_data_roots(data: dict) -> list[str]:
    """One line per dataset folder of the config that does not exist, saying how to set it."""
    missing = []
    for key, path in _dataset_roots(data):
        root = Path(str(_get(data, path)))
        if not root.is_dir():
            missing.append(
                f'{key}: {root} (resolved from {Path.cwd()}) does not exist; '
                f'use --data-root DIR (the folder holding {root.name}/) or --set {key}=PATH'
            )
    return missing


def _load_for_validation(checkpoint: str, input_mode: str) -> TSJNetSystem:
    """Load the stored system; for single-modality runs only the heads.

    Their fusion network was never trained (it is rebuilt with the variant's current defaults
    and not used).
    """
    if input_mode == 'fused':
        return load_checkpoint(checkpoint).system
    payload = read_checkpoint(checkpoint)
    system = build_system(payload['variant'], None, HeadsConfig.from_dict(payload['heads_config']))
    heads = {
        k[len('heads.') :]: v for k, v in payload['state_dict'].items() if k.startswith('heads.')
    }
    try:
        system.heads.load_state_dict(heads, strict=True)
    except RuntimeError as exc:
        raise ValueError(
            f'{checkpoint}: the stored heads do not fit the heads config: {exc}'
        ) from None
    return system.float().eval()


def _validate_only(config: TrainConfig, checkpoint: str) -> int:
    try:
        system = _load_for_validation(checkpoint, config.input_mode)
        pairs = load_validation_pairs(
            config.validation, list(system.detection_classes), config.data.class_aliases
        )
        if not pairs:
            raise ValueError('the config names no validation pairs (validation.root)')
    except (FileNotFoundError, ValueError) as exc:
        print(f'tsjnet-train: {exc}', file=sys.stderr)
        return 2
    if config.threads:
        torch.set_num_threads(int(config.threads))
    device = choose_device(config.device)
    metrics = validate(
        system.to(device),
        pairs,
        device,
        config.input_mode,
        config.validation.metrics,
        config.validation.score_threshold,
    )
    print(
        f'{checkpoint} on {len(pairs)} pair(s) of {config.validation.root}, '
        f'input {config.input_mode}:'
    )
    print(', '.join(f'{k}={v:.4f}' for k, v in metrics.items()))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog='tsjnet-train', description=__doc__.splitlines()[0])
    parser.add_argument('config', help='training YAML file (see config/train/)')
    parser.add_argument(
        '--set',
        action='append',
        default=[],
        metavar='KEY=VALUE',
        help='override a config entry (value read as YAML), e.g. optimizer.lr=3e-4, '
        'stages.1.steps=500, output_dir=runs/x; repeatable',
    )
    parser.add_argument(
        '--data-root',
        metavar='DIR',
        help="folder holding the config's datasets (msrs/, llvip/, ...): every data source and "
        'validation root becomes DIR/<its folder name> (default: the paths '
        'as the config names them)',
    )
    parser.add_argument(
        '--restart',
        action='store_true',
        help='start over in output_dir, ignoring its saved training state '
        '(default: resume from it)',
    )
    parser.add_argument(
        '--stop-after',
        type=int,
        metavar='STEP',
        help='stop at this global step with a saved state (resume later); the LR schedule '
        'still spans the whole run',
    )
    parser.add_argument(
        '--validate-only',
        metavar='CHECKPOINT',
        help="train nothing: score CHECKPOINT on the config's validation pairs (with its "
        'input_mode, so heads trained on IR or visible alone can be compared)',
    )
    parser.add_argument('--no-progress', action='store_true', help='hide the progress bar')
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format='%(asctime)s %(levelname)s %(name)s: %(message)s'
    )
    try:
        config = load_train_config(args.config)
        data = config.to_dict()
        for assignment in args.set:
            _apply_override(data, assignment)
        if args.no_progress:
            data['progress'] = False
        if args.data_root:
            apply_data_root(data, args.data_root)
        missing = [
            m
            for m in missing_data_roots(data)
            if m.startswith('validation.') or not args.validate_only
        ]
        if missing:
            raise FileNotFoundError('dataset folders not found:\n  ' + '\n  '.join(missing))
        config = train_config_from_dict(data)
    except (FileNotFoundError, ValueError, TypeError, yaml.YAMLError) as exc:
        print(f'tsjnet-train: {exc}', file=sys.stderr)
        return 2
    if args.validate_only:
        return _validate_only(config, args.validate_only)
    context = init_distributed(config.device)
    try:
        try:
            trainer = Trainer(config, context, resume=not args.restart)
        except ValueError as exc:  # e.g. an unknown variant or a config it cannot build
            print(f'tsjnet-train: {exc}', file=sys.stderr)
            return 2
        start = trainer.step
        total = config.total_steps
        if context.is_main and start > 0:
            print(
                f'resuming the run in {trainer.run_dir} from step {start} of {total} '
                f'(its saved training state; --restart starts over)',
                flush=True,
            )
            if start >= total:
                print(
                    f'nothing to train: the run already reached step {total} of '
                    f'{total}; --restart trains it '
                    f'again, --set output_dir=NEW starts another run',
                    flush=True,
                )
        result = trainer.fit(stop_after=args.stop_after)
    finally:
        shutdown_distributed(context)
    if context.is_main:
        print(
            f'trained {result.steps - start} steps in this call (step {start} -> '
            f'{result.steps} of {total}); '
            f'run folder {result.run_dir}'
        )
        if result.last_losses:
            print(
                'last losses: '
                + ', '.join(f'{k}={v:.4f}' for k, v in sorted(result.last_losses.items()))
            )
        if result.validation:
            print(
                'validation: '
                + ', '.join(f'{k}={v:.4f}' for k, v in sorted(result.validation.items()))
            )
        if result.export_path:
            print(f'checkpoint: {result.export_path}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
