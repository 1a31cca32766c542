"""``tsjnet-run``: the main job. Input -> bag -> live node graph -> offline report.

With no input it makes a sample bag from the built-in synthetic camera pair (a night
street with warm people and cars). An input may be a rosbag2 bag (folder, .mcap or
.db3) or a folder of registered IR/visible pairs (MSRS layout: ir/, vi/, labels/), which
is first written into a bag. The bag is then replayed through the fusion node graph in a
ROS graph of its own (in real time; a folder of still pairs one pair at a time) and
evaluated offline on every pair, and the command prints where the report and pictures
are. It stops at the first step that fails, with the reason.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from tsjnet_ros.core.bag.problems import BagError
from tsjnet_ros.core.bag.topics import InputTopics
from tsjnet_ros.nodes.dds_profile import use_large_image_profile
from tsjnet_ros.tools import bag as bag_tool
from tsjnet_ros.tools.arg_types import in_range

PROG = 'tsjnet-run'


class StepFailed(Exception):
    """A step of the job failed; the message says which and why."""


def _is_bag(path: Path) -> bool:
    return path.suffix in ('.mcap', '.db3') or (path / 'metadata.yaml').is_file()


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    topics = InputTopics()
    parser = argparse.ArgumentParser(
        prog=PROG,
        description='Make (or take) a bag, replay it through the ROS 2 node graph and '
        'write an evaluation report.',
        epilog='Writes OUT/input_bag/ (unless the input is a bag), '
        'OUT/replay.json and OUT/report/ '
        '(report.md, contact_sheet.png, per_frame_metrics.png, '
        'latency.png, metrics.*, fused_bag/).',
    )
    parser.add_argument(
        'input',
        nargs='?',
        type=Path,
        default=None,
        help='rosbag2 bag or folder of IR/VIS pairs (default: synthetic sample)',
    )
    parser.add_argument(
        '--out', type=Path, default=Path('output'), help='output folder (default output/)'
    )
    parser.add_argument(
        '--backend',
        default=None,
        help="fusion backend (default: the parameter file's, the shipped model)",
    )
    parser.add_argument(
        '--checkpoint',
        default=None,
        help='model checkpoint for the tsjnet backend (default: the shipped one)',
    )
    parser.add_argument(
        '--duration',
        type=in_range(float, 0.0, above=True),
        default=3.0,
        help='seconds of synthetic sample bag (default 3)',
    )
    parser.add_argument(
        '--rate',
        type=in_range(float, 0.0, above=True),
        default=1.0,
        help='replay rate factor (default 1 = real time)',
    )
    parser.add_argument(
        '--ir-topic',
        default=topics.ir,
        help=f'IR image topic of an input bag (default {topics.ir})',
    )
    parser.add_argument(
        '--visible-topic',
        default=topics.visible,
        help=f'visible image topic of an input bag (default {topics.visible})',
    )
    parser.add_argument('--no-progress', action='store_true', help='hide progress bars')
    args = parser.parse_args(argv)
    if args.input is not None and not args.input.exists():
        parser.error(f'input not found: {args.input}')
    return args


def _step(title: str) -> None:
    print(f'\n[{PROG}] === {title} ===', flush=True)


def _check_pipeline(args: argparse.Namespace) -> None:
    """Backend name and checkpoint file, before any step runs."""
    from tsjnet_ros.core.fusion import available_backends

    if args.backend is not None and args.backend not in available_backends():
        raise StepFailed(
            f'unknown --backend {args.backend!r}; known: {", ".join(available_backends())}'
        )
    if args.checkpoint is not None and not Path(args.checkpoint).is_file():
        raise StepFailed(f'--checkpoint {args.checkpoint}: no such file')


def _run_step(number: str, name: str, argv: list[str], ok: tuple[int, ...] = (0,)) -> int:
    """One ``tsjnet-bag`` subcommand; raises StepFailed with the reason when it fails."""
    try:
        status = bag_tool.COMMANDS[argv[0]](bag_tool.build_parser().parse_args(argv))
    except (BagError, ValueError, FileNotFoundError) as exc:
        raise StepFailed(f'step {number} ({name}) failed: {exc}') from None
    if status not in ok:
        raise StepFailed(
            f'step {number} ({name}) failed with exit status {status} (see the messages above)'
        )
    return status


def run_job(args: argparse.Namespace) -> int:
    out = args.out
    _check_pipeline(args)
    pipeline = (['--backend', args.backend] if args.backend else []) + (
        ['--checkpoint', args.checkpoint] if args.checkpoint else []
    )
    progress = ['--no-progress'] if args.no_progress else []
    if args.input is not None and _is_bag(args.input):
        bag = args.input
        topics = ['--ir-topic', args.ir_topic, '--visible-topic', args.visible_topic]
    else:
        bag = out / 'input_bag'
        topics = []  # the bag made here uses the default topics
        source = (
            ['--source', str(args.input)]
            if args.input is not None
            else ['--duration', str(args.duration)]
        )
        _step(f'1/3 make a bag from {args.input or "the synthetic camera pair"}')
        _run_step('1/3', 'make a bag', ['make', *source, '--out', str(bag), '--force', *progress])
    replay_json = out / 'replay.json'
    use_large_image_profile()  # viewers of the replay's graph run in other processes
    _step('2/3 replay the bag through the live node graph (own ROS graph, /clock, use_sim_time)')
    _run_step(
        '2/3',
        'live replay',
        [
            'replay',
            str(bag),
            '--rate',
            str(args.rate),
            '--out',
            str(replay_json),
            *topics,
            *pipeline,
            *(['--quiet'] if args.no_progress else []),
        ],
    )
    report = out / 'report'
    _step('3/3 evaluate every synchronised pair offline')
    evaluate_status = _run_step(
        '3/3',
        'offline evaluation',
        ['evaluate', str(bag), '--out', str(report), *topics, *pipeline, *progress],
        ok=(0, 1),
    )
    _step('results')
    _print_results(replay_json, report)
    return evaluate_status


def _print_results(replay_json: Path, report: Path) -> None:
    document = json.loads(replay_json.read_text())
    trial = document.get('trial', {})
    latency = trial.get('latency_ms') or {}
    latency_text = f'latency p50 {latency["p50"]:.1f} ms' if latency else 'no latency samples'
    if document.get('pacing') == 'paced':
        print(
            '  live replay (still pairs sent one at a time): '
            f'{trial.get("frames_received", 0)} of '
            f'{trial.get("expected_outputs", 0)} pairs fused, {latency_text}, '
            f'closed-loop {trial.get("mean_output_fps", 0):.2f} pairs/s: {replay_json}'
        )
    else:
        print(
            f'  live replay: {trial.get("frames_received", 0)} of '
            f'{trial.get("expected_outputs", 0)} pairs fused '
            f'({trial.get("missed_frames", 0)} skipped while busy), '
            f'{trial.get("mean_output_fps", 0):.1f} fps, '
            f'{latency_text}: {replay_json}'
        )
    for name, what in (
        ('report.md', 'report'),
        ('contact_sheet.png', 'contact sheet (IR | visible | fused | overlay | ground truth)'),
        ('per_frame_metrics.png', 'per-pair metrics'),
        ('latency.png', 'processing time per pair'),
        ('fused_bag', 'output bag (fused, detections, segmentation, overlay)'),
    ):
        path = report / name
        if path.exists():
            print(f'  {what}: {path}')


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return run_job(args)
    except StepFailed as exc:
        print(f'[{PROG}] stopped: {exc}', file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f'[{PROG}] interrupted', file=sys.stderr)
        return 130


if __name__ == '__main__':
    sys.exit(main())
