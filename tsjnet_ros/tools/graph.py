"""``tsjnet-graph``: run the whole node graph in one process, reading the launch YAML.

Machines without a ROS 2 distro have no ``ros2 launch``; this runner hosts the same nodes
(synthetic cameras, fusion, recorder) on one multi-threaded executor and passes the same
parameter file to them through ``--ros-args --params-file``, so behaviour matches the
launch file. It prints rates and latency while running and a summary at the end, and
writes sample fused images (``fused/``), sample overlays (``overlay/``) and ``summary.json``.
With its own synthetic cameras it runs in a ROS graph of its own (a domain other than
``ROS_DOMAIN_ID``, localhost only); ``--input topics`` joins the environment's graph.

``ros2 launch ... composed:=true`` starts it as ``fusion_graph --duration 0`` in the
launch's own domain: it then runs until SIGINT/SIGTERM and stops like any node
(nodes/spin.py: within 3 s, exit 0), starts the overlay and the recorders only when asked,
and writes files only with ``--output-dir``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from rclpy.executors import SingleThreadedExecutor
from rclpy.parameter import Parameter

from tsjnet_ros.nodes.dds_profile import use_large_image_profile
from tsjnet_ros.nodes.declared_parameters import ParameterFileError
from tsjnet_ros.nodes.graph_isolation import init_isolated, isolated_graph
from tsjnet_ros.nodes.spin import (
    StartupInterrupted,
    StopSignals,
    finish,
    shut_down,
    spin_until_stopped,
)
from tsjnet_ros.resources import config_file
from tsjnet_ros.tools.arg_types import in_range
from tsjnet_ros.tools.progress import waiting

REPORT_EVERY_S = 2.0


def parse_args(argv: list[str] | None) -> tuple[argparse.Namespace, list[str]]:
    argv = list(sys.argv[1:] if argv is None else argv)
    ros_args: list[str] = []
    if '--ros-args' in argv:
        i = argv.index('--ros-args')
        argv, ros_args = argv[:i], argv[i:]
    parser = argparse.ArgumentParser(
        prog='tsjnet-graph',
        description='Run cameras -> fusion -> recorder in one process (the ROS 2 node '
        'graph without a distro).',
        epilog='Arguments after --ros-args go to ROS (remaps, extra parameters).',
    )
    parser.add_argument(
        '--params',
        type=Path,
        default=None,
        help="parameter YAML (default: the package's config/fusion.yaml)",
    )
    parser.add_argument(
        '--duration',
        type=in_range(float, 0.0),
        default=10.0,
        help='seconds to run (0 = until Ctrl-C)',
    )
    parser.add_argument(
        '--output-dir',
        default='output/graph',
        help='where fused/ and overlay/ PNG samples and summary.json go (default output/graph; '
        "'' = write no files)",
    )
    parser.add_argument(
        '--no-overlay', action='store_true', help='no debug overlay node (and no overlay recorder)'
    )
    parser.add_argument(
        '--no-recorder',
        action='store_true',
        help='no recorder nodes (no PNG samples; the summary counts what '
        'the fusion node published)',
    )
    parser.add_argument(
        '--input',
        choices=('synthetic', 'topics'),
        default='synthetic',
        help='synthetic (default): built-in generator, in a ROS graph of its '
        'own; topics: subscribe to '
        "existing ir/image and visible/image in the environment's graph (ROS_DOMAIN_ID)",
    )
    parser.add_argument(
        '--domain-id',
        type=int,
        default=None,
        help='ROS domain of the synthetic graph (default: a random one other than ROS_DOMAIN_ID; '
        'discovery localhost only)',
    )
    parser.add_argument(
        '--until-fused',
        type=int,
        default=0,
        metavar='N',
        help='stop as soon as N pairs are fused and recorded (within --duration)',
    )
    parser.add_argument('--quiet', action='store_true', help='no progress lines')
    args = parser.parse_args(argv)
    if args.params is None:
        args.params = config_file('fusion.yaml')
    if not args.params.is_file():
        parser.error(f'parameter file not found: {args.params}')
    args.output_dir = Path(args.output_dir) if args.output_dir else None
    return args, ros_args


def main(argv: list[str] | None = None) -> int:
    args, ros_args = parse_args(argv)
    from tsjnet_ros.nodes.debug_overlay_node import DebugOverlayNode
    from tsjnet_ros.nodes.fused_image_recorder import FusedImageRecorder
    from tsjnet_ros.nodes.fusion_node import FusionNode
    from tsjnet_ros.nodes.synthetic_cameras import SyntheticCamerasNode

    # cameras and viewers in other processes (see config/fastdds_large_images.xml)
    use_large_image_profile()
    context_args = ['tsjnet-graph', '--ros-args', '--params-file', str(args.params)] + ros_args[1:]
    try:
        isolation = isolated_graph(args.domain_id) if args.input == 'synthetic' else None
    except ValueError as exc:
        print(f'[tsjnet-graph] {exc}', file=sys.stderr)
        return 2
    try:
        init_isolated(isolation, context_args)
    except ParameterFileError as exc:
        print(f'[tsjnet-graph] {args.params}: {exc}', file=sys.stderr)
        return 2
    stop = StopSignals()  # instead of rclpy's handlers: Ctrl-C stops like a node under launch
    print(
        '[tsjnet-graph] '
        + (isolation.describe() if isolation else "environment's ROS graph (--input topics)"),
        flush=True,
    )
    nodes = []
    # One thread: the fusion node infers on its own thread, every callback here is short, and
    # rclpy's multi-threaded executor adds tens of ms of latency per image under CPU load.
    executor = SingleThreadedExecutor()
    summary, interrupted, code = None, True, 1
    try:
        if args.input == 'synthetic':
            nodes.append(SyntheticCamerasNode())
        with waiting(
            '[tsjnet-graph] starting the fusion node (load the model, warm up)', not args.quiet
        ):
            fusion = FusionNode()
        nodes.append(fusion)
        if fusion.state != 'active':
            raise RuntimeError(f'fusion node is {fusion.state}: {fusion.configure_error}')
        if not args.no_overlay:
            nodes.append(DebugOverlayNode())
        recorder = overlays = None
        if not args.no_recorder:
            out = (lambda sub: str(args.output_dir / sub)) if args.output_dir else (lambda sub: '')
            recorder = FusedImageRecorder(
                parameter_overrides=[
                    Parameter('topic', value='fused/image_color'),
                    Parameter('output_dir', value=out('fused')),
                ]
            )
            nodes.append(recorder)
            if not args.no_overlay:
                overlays = FusedImageRecorder(
                    'overlay_recorder',
                    parameter_overrides=[
                        Parameter('topic', value='debug/overlay'),
                        Parameter('output_dir', value=out('overlay')),
                    ],
                )
                nodes.append(overlays)
        cameras = nodes[0] if args.input == 'synthetic' else None
        print(f'[tsjnet-graph] parameters: {args.params}')
        print(
            '[tsjnet-graph] nodes: '
            f'{", ".join(n.get_fully_qualified_name() for n in nodes)} on one executor',
            flush=True,
        )
        for node in nodes:
            executor.add_node(node)
        progress = None if args.quiet else (REPORT_EVERY_S, _progress(fusion, recorder))
        until = None
        if args.until_fused > 0:

            def until() -> bool:
                recorded = recorder.received if recorder else args.until_fused
                return fusion.stats().fused >= args.until_fused and recorded >= args.until_fused

        interrupted = spin_until_stopped(
            executor, stop, args.duration, every=progress, until=until
        )
        summary = _summary(fusion, recorder, overlays, cameras)
        # Until Ctrl-C (--duration 0, as under ros2 launch): a signal is the normal end.
        code = 130 if interrupted and args.duration > 0 else 0
    except StartupInterrupted:
        code = 0 if args.duration <= 0 else 130
    except RuntimeError as exc:
        print(f'[tsjnet-graph] {exc}', file=sys.stderr)
    except ParameterFileError as exc:
        print(f'[tsjnet-graph] {args.params}: {exc}', file=sys.stderr)
        code = 2
    finally:
        stop.running()
        shut_down(nodes, executor)
    if summary is not None:
        if args.output_dir is not None:
            args.output_dir.mkdir(parents=True, exist_ok=True)
            (args.output_dir / 'summary.json').write_text(json.dumps(summary, indent=2))
        _print_summary(summary, args.output_dir)
        if not interrupted and summary['fused'] == 0:
            code = 1
    return finish(code)


def progress_line(
    elapsed: float,
    interval: float,
    counts: tuple[int, int, int],
    before: tuple[int, int, int],
    pairs: int,
    skipped: int,
    latency: dict,
) -> str:
    """Format one progress line.

    ``counts``/``before`` are (ir received, visible received, fused) now and one ``interval``
    (s) ago, so each rate is what happened in that interval.
    """
    ir, visible, fused = ((now - then) / interval for now, then in zip(counts, before))
    lat = f'latency p50 {latency["p50"]:.1f} ms' if latency else 'latency - (no output yet)'
    return (
        f'[tsjnet-graph] t={elapsed:5.1f}s  ir {ir:5.1f} Hz  '
        f'visible {visible:5.1f} Hz  fused {fused:5.1f} Hz  '
        f'pairs {pairs}  fused {counts[2]}  skipped {skipped}  {lat}'
    )


def _progress(fusion, recorder):
    """Return the progress printer called every REPORT_EVERY_S seconds while the graph spins."""
    start = time.monotonic()
    c = fusion.stats()
    before = [(c.received[0], c.received[1], c.fused)]

    def report() -> None:
        c = fusion.stats()
        counts = (c.received[0], c.received[1], c.fused)
        latency = recorder.latency_ms.summary() if recorder else c.latency_ms.as_dict()
        print(
            progress_line(
                time.monotonic() - start,
                REPORT_EVERY_S,
                counts,
                before[0],
                c.pairs,
                c.skipped,
                latency,
            ),
            flush=True,
        )
        before[0] = counts

    return report


def _summary(fusion, recorder, overlays, cameras) -> dict:
    c = fusion.stats()
    return {
        'backend': c.backend,
        'sent': {'ir': cameras.sent[0], 'visible': cameras.sent[1]} if cameras else None,
        'received': {'ir': c.received[0], 'visible': c.received[1]},
        'invalid': {'ir': c.invalid[0], 'visible': c.invalid[1]},
        'pairs': c.pairs,
        'fused': c.fused,
        'skipped': c.skipped,
        'unpaired_dropped': c.unpaired_dropped,
        'out_of_order': c.out_of_order,
        'errors': c.errors,
        'recorded': recorder.received if recorder else None,
        'inference_ms': c.inference_ms.as_dict(),
        'fusion_latency_ms': c.latency_ms.as_dict(),
        'end_to_end_latency_ms': recorder.latency_ms.summary() if recorder else {},
        'saved': [str(p) for p in recorder.saved] if recorder else [],
        'saved_overlays': [str(p) for p in overlays.saved] if overlays else [],
    }


def _fmt(stats: dict) -> str:
    if not stats:
        return 'n/a'
    return (
        f'mean {stats["mean"]:.1f}, p50 {stats["p50"]:.1f}, '
        f'p95 {stats["p95"]:.1f}, max {stats["max"]:.1f} ms'
    )


def _print_summary(s: dict, output_dir: Path | None) -> None:
    print('[tsjnet-graph] summary')
    if s['sent']:
        print(f'  cameras sent       ir {s["sent"]["ir"]}, visible {s["sent"]["visible"]}')
    print(
        f'  fusion received    ir {s["received"]["ir"]}, visible {s["received"]["visible"]} '
        f'(invalid {s["invalid"]["ir"]}/{s["invalid"]["visible"]})'
    )
    print(
        f'  pairs {s["pairs"]}, fused {s["fused"]} with {s["backend"]}, skipped {s["skipped"]}, '
        f'unpaired {s["unpaired_dropped"]}, errors {s["errors"]}'
    )
    print(f'  fusion time        {_fmt(s["inference_ms"])}')
    print(f'  capture->consumer  {_fmt(s["end_to_end_latency_ms"])}')
    if output_dir is not None:
        print(
            f'  fused PNGs         {len(s["saved"])} in '
            f'{output_dir / "fused"}/ (fused colour images)'
        )
        print(
            f'  overlay PNGs       {len(s["saved_overlays"])} in {output_dir / "overlay"}/ '
            '(fused + boxes + segmentation)'
        )
        print(f'  summary            {output_dir / "summary.json"}')


if __name__ == '__main__':
    sys.exit(main())
