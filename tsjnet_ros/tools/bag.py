"""tsjnet-bag: make, evaluate and replay rosbag2 bags of an IR/visible camera pair.

``make``      writes a bag (mcap or sqlite3) from the synthetic scene or a folder of pairs,
              with camera rates, clock offset, stamp jitter and optional ground truth.
``evaluate``  runs the pipeline offline on every synchronised pair of a bag and writes an
              output bag, a report folder and a one-line summary.
``replay``    plays a bag with /clock through the live fusion node (use_sim_time) in this
              process (raw or compressed camera topics, each on the node's input of that
              transport) and measures output rate, drops, latency and jitter; optionally
              searches the highest rate factor with fewer than 5 % drops. JSON output.

No ROS distro or rosbag2 is needed: bags are read and written with ``rosbags``. Exit
status: 0 success, 1 finished with problems (listed), 2 unusable input.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tsjnet_ros.core.bag.problems import BagError
from tsjnet_ros.core.bag.topics import InputTopics
from tsjnet_ros.core.image.image_encoding import MAX_SIDE
from tsjnet_ros.nodes.dds_profile import use_large_image_profile
from tsjnet_ros.tools.arg_types import in_range
from tsjnet_ros.tools.progress import progress_bar, waiting

DEFAULT_BAG = Path('output/sample_bag')
DEFAULT_REPORT = Path('output/report')
DEFAULT_REPLAY_JSON = Path('output/replay.json')
PROG = 'tsjnet-bag'


# -- argument parsing -------------------------------------------------------------------------
def _add_topic_options(parser: argparse.ArgumentParser, ground_truth: bool = True) -> None:
    defaults = InputTopics()
    group = parser.add_argument_group('topics')
    group.add_argument(
        '--ir-topic', default=defaults.ir, help=f'IR image topic (default {defaults.ir})'
    )
    group.add_argument(
        '--visible-topic',
        default=defaults.visible,
        help=f'visible image topic (default {defaults.visible})',
    )
    if ground_truth:
        group.add_argument(
            '--gt-detections-topic',
            default=defaults.gt_detections,
            help='ground-truth boxes, vision_msgs/Detection2DArray (default '
            f'{defaults.gt_detections})',
        )
        group.add_argument(
            '--gt-segmentation-topic',
            default=defaults.gt_segmentation,
            help=f'ground-truth class maps, mono8 Image (default {defaults.gt_segmentation})',
        )


def add_pipeline_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        'pipeline (defaults: the fusion_node section of the parameter file)'
    )
    group.add_argument(
        '--params',
        type=Path,
        default=None,
        help="parameter YAML (default: the package's config/fusion.yaml)",
    )
    group.add_argument('--backend', help='fusion backend, overriding fusion_backend')
    group.add_argument(
        '--checkpoint', help='checkpoint for the tsjnet backend, overriding checkpoint'
    )
    group.add_argument('--device', help='auto | cpu | cuda:N, overriding device')
    group.add_argument(
        '--detector-model',
        help='ONNX detector run on the fused image (sets detector_backend onnx)',
    )
    group.add_argument(
        '--detector-labels', help="its class names (text: one per line, or YAML 'names')"
    )
    group.add_argument(
        '--detector-layout',
        help='auto | yolov5 | yolov8 | nms (default auto: from the output shapes)',
    )
    group.add_argument(
        '--segmentation-model',
        help='ONNX segmenter run on the fused image (sets segmentation_backend onnx)',
    )
    group.add_argument('--segmentation-labels', help='its class names')
    group.add_argument(
        '--score-threshold',
        type=float,
        help='lowest detection score kept, overriding score_threshold',
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description='Make, evaluate and replay IR/visible rosbag2 bags (no ROS distro needed).',
    )
    sub = parser.add_subparsers(dest='command', required=True, metavar='{make,evaluate,replay}')

    make = sub.add_parser(
        'make',
        help='write a bag from the synthetic scene or a folder of pairs',
        description='Write a rosbag2 bag of an IR/visible camera pair with optional ground truth.',
    )
    make.add_argument(
        '--source',
        default='synthetic',
        help="'synthetic' (default) or a folder of registered pairs (MSRS "
        'layout: ir/, vi/, labels/)',
    )
    make.add_argument(
        '--out',
        type=Path,
        default=DEFAULT_BAG,
        help=f'bag folder to create (default {DEFAULT_BAG})',
    )
    make.add_argument(
        '--storage',
        choices=('mcap', 'sqlite3'),
        default='mcap',
        help='storage format (default mcap)',
    )
    make.add_argument('--force', action='store_true', help='replace an existing bag at --out')
    timing = make.add_argument_group('cameras')
    timing.add_argument(
        '--ir-rate', type=float, default=30.0, help='IR frame rate, Hz (default 30)'
    )
    timing.add_argument(
        '--visible-rate',
        type=float,
        default=30.0,
        help='visible frame rate, Hz (default 30); a folder plays one pair per visible frame',
    )
    timing.add_argument(
        '--ir-clock-offset',
        type=float,
        default=0.004,
        help='constant offset of the IR stamps, s (default 0.004)',
    )
    timing.add_argument(
        '--jitter', type=float, default=0.002, help='std-dev of stamp jitter, s (default 0.002)'
    )
    timing.add_argument(
        '--start-time', type=float, default=1_700_000_000.0, help='bag start, s since the epoch'
    )
    timing.add_argument('--seed', type=int, default=0, help='scene and jitter seed')
    timing.add_argument('--ir-encoding', choices=('mono8', 'mono16'), default='mono8')
    timing.add_argument('--visible-encoding', choices=('bgr8', 'rgb8', 'mono8'), default='bgr8')
    timing.add_argument(
        '--transport',
        choices=('raw', 'compressed'),
        default='raw',
        help="raw: sensor_msgs/Image on the camera topics; compressed: image_transport's "
        'CompressedImage on <topic>/compressed (IR PNG, 16 bit kept; visible JPEG)',
    )
    timing.add_argument(
        '--frame-id', default='camera_optical_frame', help='header frame_id of both cameras'
    )
    synthetic = make.add_argument_group('synthetic scene')
    synthetic.add_argument(
        '--duration',
        type=in_range(float, 0.0, above=True),
        default=2.0,
        help='seconds of synthetic scene (default 2)',
    )
    synthetic.add_argument(
        '--frames', type=int, help='visible frames to write (instead of --duration)'
    )
    side = in_range(int, 32, MAX_SIDE)  # the synthetic scene's least, the node's largest
    synthetic.add_argument('--width', type=side, default=640)
    synthetic.add_argument('--height', type=side, default=480)
    synthetic.add_argument('--num-targets', type=in_range(int, 0), default=5)
    folder = make.add_argument_group('folder of pairs')
    folder.add_argument(
        '--layout',
        default='auto',
        help='dataset layout (auto, msrs, llvip, m3fd, folders, flat, pairs)',
    )
    folder.add_argument('--split', help='split sub-folder, e.g. test')
    folder.add_argument(
        '--box-source', help='YOLO box set when labels/ has one per modality (fused, vi, ir)'
    )
    folder.add_argument('--limit', type=int, help='use at most this many pairs')
    make.add_argument(
        '--no-ground-truth', action='store_true', help='write the camera topics only'
    )
    make.add_argument('--no-progress', action='store_true', help='hide the progress bar')
    _add_topic_options(make)

    evaluate = sub.add_parser(
        'evaluate',
        help='run the pipeline on every pair of a bag; report + output bag',
        description='Offline evaluation: every synchronised pair, fusion metrics, '
        'mAP/mIoU with ground truth.',
    )
    evaluate.add_argument(
        'bag',
        nargs='?',
        type=Path,
        default=DEFAULT_BAG,
        help=f'bag folder or .mcap/.db3 file (default {DEFAULT_BAG})',
    )
    evaluate.add_argument(
        '--out',
        type=Path,
        default=DEFAULT_REPORT,
        help=f'report folder (default {DEFAULT_REPORT})',
    )
    evaluate.add_argument(
        '--out-bag',
        type=Path,
        help='output bag folder (default: OUT/fused_bag; replaced on each run)',
    )
    evaluate.add_argument('--no-out-bag', action='store_true', help='write no output bag')
    evaluate.add_argument(
        '--out-storage',
        choices=('mcap', 'sqlite3'),
        default='mcap',
        help='output bag storage (default mcap)',
    )
    evaluate.add_argument(
        '--metrics', help="comma-separated fusion metrics, or 'none' (default: all)"
    )
    evaluate.add_argument(
        '--convention', default='default', help='metric convention preset (see docs/metrics.md)'
    )
    evaluate.add_argument(
        '--class-names', help='comma-separated ground-truth class names (default: from the bag)'
    )
    evaluate.add_argument(
        '--contact-sheet',
        type=int,
        default=6,
        metavar='N',
        help='pairs in the contact sheet (default 6)',
    )
    evaluate.add_argument(
        '--tile-width', type=int, default=480, help='contact sheet tile width, px (default 480)'
    )
    evaluate.add_argument(
        '--baselines',
        default='average,max,laplacian_pyramid',
        help="classical methods fused on some pairs for comparison, comma-separated, or 'none' "
        '(default average,max,laplacian_pyramid)',
    )
    evaluate.add_argument(
        '--baseline-pairs',
        type=int,
        default=10,
        metavar='N',
        help='pairs, spread over the bag, the baselines run on (default 10)',
    )
    evaluate.add_argument('--no-progress', action='store_true', help='hide the progress bar')
    add_pipeline_options(evaluate)
    _add_topic_options(evaluate)

    replay = sub.add_parser(
        'replay',
        help='play a bag through the live fusion node and benchmark it',
        description='Play a bag (with /clock, use_sim_time) through the fusion '
        'node in this process and '
        'measure output fps, sent vs received, missed frames, latency and jitter.',
    )
    replay.add_argument(
        'bag',
        nargs='?',
        type=Path,
        default=DEFAULT_BAG,
        help=f'bag folder or .mcap/.db3 file (default {DEFAULT_BAG})',
    )
    replay.add_argument(
        '--rate',
        type=in_range(float, 0.0, above=True),
        default=1.0,
        help='playback rate factor (default 1 = real time)',
    )
    replay.add_argument(
        '--pacing',
        choices=('auto', 'timed', 'paced'),
        default='auto',
        help="timed: the bag's timing (/ --rate), measuring drops and latency at that input rate; "
        'paced: each message once the node has handled the previous pair (nothing dropped), '
        'measuring per-pair latency and the closed-loop rate; auto (default): paced for bags of '
        'still pairs (made from a folder), timed otherwise',
    )
    replay.add_argument(
        '--domain-id',
        type=int,
        default=None,
        help="ROS domain of the replay's own graph (default: a random one "
        'other than ROS_DOMAIN_ID; '
        'discovery is always localhost only)',
    )
    replay.add_argument(
        '--search',
        action='store_true',
        help='also search the peak rate factor with fewer than --max-drop drops',
    )
    replay.add_argument(
        '--max-drop',
        type=float,
        default=0.05,
        help='drop fraction limit of the search (default 0.05)',
    )
    replay.add_argument(
        '--search-max', type=float, default=16.0, help='highest rate factor tried (default 16)'
    )
    replay.add_argument(
        '--search-min', type=float, default=0.125, help='lowest rate factor tried (default 0.125)'
    )
    replay.add_argument(
        '--bisections', type=int, default=3, help='bisection steps after bracketing (default 3)'
    )
    replay.add_argument(
        '--drain-timeout',
        type=float,
        default=10.0,
        help='seconds to wait for outputs after playback (default 10)',
    )
    replay.add_argument(
        '--out',
        type=Path,
        default=DEFAULT_REPLAY_JSON,
        help=f'JSON result file (default {DEFAULT_REPLAY_JSON})',
    )
    replay.add_argument(
        '--quiet', action='store_true', help='no progress and no line per search trial'
    )
    replay.add_argument(
        '--log-level',
        default='warn',
        choices=('debug', 'info', 'warn', 'error'),
        help='ROS log level of the nodes (default warn)',
    )
    add_pipeline_options(replay)
    _add_topic_options(replay, ground_truth=False)
    return parser


def _topics(args: argparse.Namespace) -> InputTopics:
    kwargs = {'ir': args.ir_topic, 'visible': args.visible_topic}
    if hasattr(args, 'gt_detections_topic'):
        kwargs.update(
            gt_detections=args.gt_detections_topic, gt_segmentation=args.gt_segmentation_topic
        )
    return InputTopics(**kwargs)


def pipeline_settings(args: argparse.Namespace) -> tuple[Any, Path]:
    """Return the settings and the parameter file.

    Settings come from ``--params`` (or the package's config/fusion.yaml) with the options of
    :func:`add_pipeline_options` applied.
    """
    from tsjnet_ros.core.runtime.stream_settings import StreamSettings
    from tsjnet_ros.resources import config_file

    params = args.params if args.params is not None else config_file('fusion.yaml')
    if not Path(params).is_file():
        raise BagError(f'parameter file not found: {params}')
    settings = StreamSettings.from_parameter_file(params).with_overrides(
        fusion_backend=args.backend,
        checkpoint=args.checkpoint,
        device=args.device,
        score_threshold=args.score_threshold,
        detector_model=args.detector_model,
        detector_backend='onnx' if args.detector_model else None,
        detector_labels=args.detector_labels,
        detector_layout=args.detector_layout,
        segmentation_model=args.segmentation_model,
        segmentation_backend='onnx' if args.segmentation_model else None,
        segmentation_labels=args.segmentation_labels,
    )
    return settings, Path(params)


# -- make -------------------------------------------------------------------------------------
def cmd_make(args: argparse.Namespace) -> int:
    from tsjnet_ros.core.bag.frame_sources import FolderSource, SyntheticSource
    from tsjnet_ros.core.bag.maker import CameraTiming, MakeOptions, make_bag

    timing = CameraTiming(
        ir_rate=args.ir_rate,
        visible_rate=args.visible_rate,
        ir_clock_offset=args.ir_clock_offset,
        jitter=args.jitter,
        start_time=args.start_time,
        seed=args.seed,
    )
    options = MakeOptions(
        storage=args.storage,
        ir_encoding=args.ir_encoding,
        visible_encoding=args.visible_encoding,
        frame_id=args.frame_id,
        ground_truth=not args.no_ground_truth,
        overwrite=args.force,
        transport=args.transport,
    )
    if args.source == 'synthetic':
        if args.frames is not None and args.frames < 1:
            raise ValueError('--frames must be >= 1')
        duration = args.frames / args.visible_rate if args.frames is not None else args.duration
        source = SyntheticSource(
            duration,
            args.width,
            args.height,
            args.num_targets,
            args.seed,
            ir_bits=16 if args.ir_encoding == 'mono16' else 8,
        )
    else:
        folder = Path(args.source)
        if not folder.is_dir():
            what = 'is a file, not a folder' if folder.exists() else 'no such folder'
            raise BagError(
                f"--source {folder}: {what} (use 'synthetic' or a folder of IR/visible pairs)"
            )
        if args.limit is not None and args.limit < 1:
            raise ValueError('--limit must be >= 1')
        source = FolderSource(
            folder, args.visible_rate, args.layout, args.split, args.box_source, args.limit
        )
    if args.out.exists() and not args.force:
        raise BagError(f'{args.out} already exists; pass --force to replace it')
    progress, close = progress_bar(not args.no_progress, 'make', 'frame')
    try:
        summary = make_bag(args.out, source, timing, options, _topics(args), progress)
    finally:
        close()
    counts = ', '.join(f'{topic} {count}' for topic, count in summary.counts.items())
    print(
        f'{PROG} make: wrote {summary.path} ({summary.storage}, '
        f'{summary.size_bytes / 1e6:.1f} MB, '
        f'{summary.duration_s:.2f} s of {summary.source}): {counts}'
    )
    return 0


# -- evaluate ---------------------------------------------------------------------------------
def cmd_evaluate(args: argparse.Namespace) -> int:
    from tsjnet_ros.core.bag.evaluation import EvaluationOptions, evaluate_bag
    from tsjnet_ros.core.bag.evaluation_report import one_line, write_report

    settings, _ = pipeline_settings(args)
    metrics = None
    if args.metrics:
        metrics = (
            ()
            if args.metrics.strip().lower() == 'none'
            else tuple(m.strip() for m in args.metrics.split(',') if m.strip())
        )
    if args.contact_sheet < 0:
        raise ValueError('--contact-sheet must be >= 0')
    if args.baseline_pairs < 0:
        raise ValueError('--baseline-pairs must be >= 0')
    from tsjnet_ros.core.fusion import available_backends

    baselines = (
        ()
        if args.baselines.strip().lower() == 'none'
        else tuple(b.strip() for b in args.baselines.split(',') if b.strip())
    )
    unknown = [b for b in baselines if b not in available_backends()]
    if unknown:
        raise ValueError(
            f'--baselines: unknown {unknown}; known: {", ".join(available_backends())}'
        )
    options = EvaluationOptions(
        metrics=metrics,
        convention=args.convention,
        contact_sheet_rows=args.contact_sheet,
        tile_width=args.tile_width,
        output_storage=args.out_storage,
        overwrite=True,
        class_names=tuple(n.strip() for n in args.class_names.split(','))
        if args.class_names
        else None,
        baselines=baselines,
        baseline_pairs=args.baseline_pairs,
    )
    options.metric_names()  # unknown metric names fail before the backend loads
    out_bag = None if args.no_out_bag else (args.out_bag or args.out / 'fused_bag')
    if out_bag is not None and out_bag.resolve() == Path(args.bag).resolve():
        raise BagError('the output bag would replace the input bag; choose another --out-bag')
    try:
        with waiting(f'{PROG} evaluate: loading {settings.fusion_backend}', not args.no_progress):
            backend = settings.build_backend()
    except Exception as exc:  # any failure to build the backend is a user-facing error
        raise BagError(
            f'cannot start the {settings.fusion_backend!r} fusion with its tasks: {exc}'
        ) from None
    progress, close = progress_bar(not args.no_progress, 'evaluate', 'pair')
    try:
        result = evaluate_bag(
            args.bag, backend, settings, out_bag, _topics(args), options, progress=progress
        )
    finally:
        close()
    write_report(result, args.out, args.tile_width)
    for problem in result.problems:
        print(f'{PROG} evaluate: problem: {problem}', file=sys.stderr)
    print(f'{PROG} evaluate: {one_line(result, args.out)}')
    if result.status != 'complete' or result.processed_pairs == 0:
        return 2 if result.processed_pairs == 0 else 1
    return 1 if result.problems else 0


# -- replay -----------------------------------------------------------------------------------
@dataclass
class _PlayedMessage:
    log_time_ns: int
    stream: int  # 0 IR, 1 visible
    data: bytes
    stamp_ns: int


@dataclass
class _ReplayInput:
    messages: list[_PlayedMessage]
    expected_outputs: int  # pairs the live node can emit (the end-of-bag flush excluded)
    pair_rate_hz: float
    plan_summary: dict
    stills: bool  # the bag shows still pairs as a slide show (made from a folder)
    transports: tuple[str, str] = (
        'raw',
        'raw',
    )  # IR, visible: Image or image_transport's CompressedImage


PACING_MEANING = {
    'timed': "messages at the bag's timing divided by the rate factor: whether the node "
    'keeps up with that input '
    'rate (drops), its output rate and latency',
    'paced': 'each camera message once the node has received the previous one and '
    'finished the pair before it, '
    'so nothing is dropped: latency of every pair through the graph and the closed-loop rate '
    '(pairs per second when each pair waits for the one before); a folder of still pairs has no '
    'camera timing to keep up with',
}


def _load_replay_input(bag: Path, topics: InputTopics, settings: Any) -> _ReplayInput:
    from tsjnet_ros.core.bag.messages import header_stamp_from_cdr
    from tsjnet_ros.core.bag.pairing import camera_topics, plan_pairs
    from tsjnet_ros.core.bag.reader import BagReader
    from tsjnet_ros.core.bag.topics import STILLS_KEY
    from tsjnet_ros.core.bag.typestore import COMPRESSED_IMAGE

    with BagReader(bag) as reader:
        topics = camera_topics(reader, topics)
        pairs, account = plan_pairs(reader, topics, settings)
        messages = [
            _PlayedMessage(
                m.log_time_ns,
                0 if m.topic == topics.ir else 1,
                bytes(m.data),
                header_stamp_from_cdr(m.data),
            )
            for m in reader.messages([topics.ir, topics.visible])
        ]
        problems = [str(p) for p in reader.problems + account.problems]
        stills = reader.custom_data.get(STILLS_KEY) == 'true'
        transports = tuple(
            'compressed' if reader.topics[t].msgtype == COMPRESSED_IMAGE else 'raw'
            for t in (topics.ir, topics.visible)
        )
    expected = len(pairs) - account.flushed_pairs
    span = (messages[-1].log_time_ns - messages[0].log_time_ns) / 1e9 if len(messages) > 1 else 0.0
    summary = {
        'messages': account.messages,
        'invalid': account.invalid,
        'pairs_offline': len(pairs),
        'flushed_at_end': account.flushed_pairs,
        'problems': problems,
    }
    return _ReplayInput(
        messages, expected, expected / span if span > 0 else 0.0, summary, stills, transports
    )


@dataclass(frozen=True)
class _TrialSetup:
    """How every trial of one replay runs."""

    params: Path
    settings: Any
    drain_timeout: float
    log_level: str = 'warn'
    paced: bool = False
    isolation: Any = None  # GraphIsolation; None: the environment's graph
    progress: bool = False


def _start_fusion_node(context: Any, overrides: list, show_progress: bool, settings: Any) -> Any:
    from tsjnet_ros.nodes.fusion_node import FusionNode

    what = settings.fusion_backend + (f' ({settings.checkpoint})' if settings.checkpoint else '')
    with waiting(
        f'{PROG} replay: starting the fusion node ({what}: load, warm up)', show_progress
    ):
        return FusionNode(context=context, parameter_overrides=overrides)


def _run_trial(data: _ReplayInput, setup: _TrialSetup, factor: float) -> Any:
    """Play the bag once at ``factor`` (or paced) through a fresh FusionNode in its own graph.

    Returns a TrialMeasurement that counts only outputs carrying a stamp this trial published.
    """
    import rclpy
    from builtin_interfaces.msg import Time
    from rclpy.context import Context
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.parameter import Parameter
    from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
    from rosgraph_msgs.msg import Clock
    from sensor_msgs.msg import CompressedImage, Image

    from tsjnet_ros.core.bag.messages import header_stamp_from_cdr
    from tsjnet_ros.core.bag.replay_stats import TrialMeasurement
    from tsjnet_ros.nodes.graph_isolation import init_isolated
    from tsjnet_ros.nodes.qos import quiet_publisher_events
    from tsjnet_ros.nodes.spin import stop_graph

    if factor <= 0:
        raise ValueError(f'rate factor must be > 0, got {factor}')
    settings = setup.settings
    context = Context()
    init_isolated(
        setup.isolation,
        ['--ros-args', '--params-file', str(setup.params), '--log-level', setup.log_level],
        context,
    )
    executor = SingleThreadedExecutor(
        context=context
    )  # inference runs on the node's inference thread
    nodes = []
    measurement = TrialMeasurement(
        factor, {'ir': 0, 'visible': 0}, data.expected_outputs, data.pair_rate_hz
    )
    published: dict[int, float] = {}  # visible stamp (or /clock time if unstamped) -> sent at
    # header.stamp 0: the node stamps such images on arrival, so outputs carry /clock times
    unstamped = any(m.stamp_ns == 0 for m in data.messages if m.stream == 1)
    last_publish = [0.0]  # paced: at most one pair in flight, completed by the latest message
    lock = threading.Lock()
    spinner = None
    try:
        overrides = [
            Parameter('use_sim_time', value=True),
            Parameter('fusion_backend', value=settings.fusion_backend),
            Parameter('checkpoint', value=settings.checkpoint),
            Parameter('device', value=settings.device),
            Parameter('score_threshold', value=settings.score_threshold),
            *(
                Parameter(f'{name}_transport', value=transport)
                for name, transport in zip(('ir', 'visible'), data.transports)
            ),
            *(Parameter(k, value=v) for k, v in settings.tasks.parameters().items()),
        ]
        fusion = _start_fusion_node(context, overrides, setup.progress, settings)
        nodes.append(fusion)
        if fusion.state != 'active':
            raise BagError(
                f'the fusion node did not start: {fusion.configure_error or fusion.state}'
            )
        # Player and receiver stand for processes of their own: no parameter services and no
        # publisher event callbacks, so they add little to the shared executor's wait set.
        player = rclpy.create_node('bag_player', context=context, start_parameter_services=False)
        receiver = rclpy.create_node(
            'replay_receiver', context=context, start_parameter_services=False
        )
        nodes += [player, receiver]
        reliable = QoSProfile(
            depth=10, history=HistoryPolicy.KEEP_LAST, reliability=ReliabilityPolicy.RELIABLE
        )
        quiet = quiet_publisher_events()
        # the node's input topics of each camera's transport (the bag's raw or compressed
        # messages as they are)
        image_pubs = tuple(
            player.create_publisher(
                CompressedImage, f'/{name}/image/compressed', reliable, event_callbacks=quiet
            )
            if transport == 'compressed'
            else player.create_publisher(Image, f'/{name}/image', reliable, event_callbacks=quiet)
            for name, transport in zip(('ir', 'visible'), data.transports)
        )
        clock_pub = player.create_publisher(Clock, '/clock', reliable, event_callbacks=quiet)

        def on_output(raw: bytes) -> None:
            now = time.monotonic()
            stamp = header_stamp_from_cdr(raw)
            with lock:
                sent_at = published.pop(stamp, None)
                if sent_at is None and unstamped:
                    # The node stamped the visible image with its (simulated) clock on
                    # arrival: the newest visible image published by then is the one.
                    key = max((k for k in published if k <= stamp), default=None)
                    sent_at = None if key is None else published.pop(key)
                if sent_at is None:  # not an output of a pair this trial sent: counted apart
                    measurement.unmatched_outputs += 1
                else:
                    measurement.arrivals.append(now)
                    measurement.latencies_ms.append(
                        (now - (last_publish[0] if setup.paced else sent_at)) * 1000.0
                    )

        output_sub = receiver.create_subscription(
            Image,
            '/fused/image',
            on_output,
            QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE),
            raw=True,
        )
        for node in nodes:
            executor.add_node(node)
        spinner = threading.Thread(target=executor.spin, daemon=True)
        spinner.start()
        _wait(
            lambda: (
                all(p.get_subscription_count() > 0 for p in image_pubs)
                and output_sub.get_publisher_count() > 0
            ),
            10.0,
            'the player and the fusion node did not discover each other',
        )

        names = ('ir', 'visible')

        def settled(stream: int) -> bool:
            """Check that the node has this message and no pair waits for inference or delivery."""
            s = fusion.stats()
            return (
                s.received[stream] >= measurement.sent[names[stream]]
                and s.fused + s.skipped + s.errors >= s.pairs
                and len(measurement.arrivals) >= s.fused
            )

        update, close = progress_bar(
            setup.progress, f'{PROG} replay ({"paced" if setup.paced else f"x{factor:g}"})', 'msg'
        )
        first = data.messages[0].log_time_ns
        start = time.monotonic() + 0.05
        try:
            for done, message in enumerate(data.messages, start=1):
                if not setup.paced:
                    delay = start + (message.log_time_ns - first) / 1e9 / factor - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                clock_pub.publish(
                    Clock(
                        clock=Time(
                            sec=message.log_time_ns // 1_000_000_000,
                            nanosec=message.log_time_ns % 1_000_000_000,
                        )
                    )
                )
                with lock:
                    last_publish[0] = time.monotonic()
                    if message.stream == 1:
                        # an unstamped image is known by the /clock time it is sent at
                        key = message.stamp_ns or message.log_time_ns
                        published[key] = last_publish[0]
                image_pubs[message.stream].publish(message.data)
                measurement.sent[names[message.stream]] += 1
                if setup.paced:
                    _wait(lambda: settled(message.stream), setup.drain_timeout, None)
                if update is not None:
                    update(done, len(data.messages))
        finally:
            close()
        measurement.playback_s = time.monotonic() - start

        def drained() -> bool:
            s = fusion.stats()
            return len(measurement.arrivals) >= data.expected_outputs or (
                s.fused + s.skipped + s.errors >= s.pairs
                and len(measurement.arrivals) >= s.fused
                and time.monotonic() - (max(measurement.arrivals, default=start)) > 0.3
            )

        _wait(drained, setup.drain_timeout, None)
        s = fusion.stats()
        measurement.node = {
            'received': {'ir': s.received[0], 'visible': s.received[1]},
            'invalid': {'ir': s.invalid[0], 'visible': s.invalid[1]},
            'pairs': s.pairs,
            'fused': s.fused,
            'skipped_busy': s.skipped,
            'errors': s.errors,
            'unpaired_dropped': s.unpaired_dropped,
            'out_of_order': s.out_of_order,
            'inference_ms': s.inference_ms.as_dict(),
            'clock_at_end_ns': fusion.get_clock().now().nanoseconds,
        }
    finally:
        stop_graph(executor, spinner, nodes, context)
    return measurement


def _wait(predicate: Callable[[], bool], timeout: float, failure: str | None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.005)
    if failure is not None and not predicate():
        raise BagError(failure)


def _trial_line(trial: dict) -> str:
    lat = trial['latency_ms']
    latency = (
        f'latency p50 {lat["p50"]:.1f} / p95 {lat["p95"]:.1f} / max {lat["max"]:.1f} ms'
        if lat
        else 'no latency samples'
    )
    foreign = (
        f', {trial["unmatched_outputs"]} foreign outputs ignored'
        if trial.get('unmatched_outputs')
        else ''
    )
    if trial.get('pacing') == 'paced':
        return (
            'paced, one pair at a time: '
            f'{trial["frames_received"]}/{trial["expected_outputs"]} received, '
            f'{trial["missed_frames"]} missed, {latency}, closed-loop '
            f'{trial["mean_output_fps"]:.2f} pairs/s{foreign}'
        )
    return (
        f'rate x{trial["rate_factor"]:.3g} ({trial["input_pair_rate_hz"]:.1f} pairs/s in): '
        f'{trial["frames_received"]}/{trial["expected_outputs"]} received, '
        f'{trial["missed_frames"]} missed '
        f'({trial["drop_fraction"] * 100:.1f} %), '
        f'{trial["mean_output_fps"]:.1f} fps out, {latency}, '
        f'jitter {trial["jitter_ms"].get("std", 0.0):.1f} ms{foreign}'
    )


def cmd_replay(args: argparse.Namespace) -> int:
    from tsjnet_ros.core.bag.replay_stats import search_peak_rate, summarize_trial
    from tsjnet_ros.nodes.graph_isolation import isolated_graph

    if args.rate <= 0:
        raise ValueError('--rate must be > 0')
    if args.search and args.pacing == 'paced':
        raise ValueError(
            '--search measures drops at input rates; it needs --pacing timed (or auto)'
        )
    settings, params = pipeline_settings(args)
    data = _load_replay_input(args.bag, _topics(args), settings)
    if data.expected_outputs == 0:
        raise BagError('the bag yields no pair the live node could emit')
    pacing = (
        args.pacing
        if args.pacing != 'auto'
        else ('paced' if data.stills and not args.search else 'timed')
    )
    isolation = isolated_graph(args.domain_id)
    print(f'{PROG} replay: {isolation.describe()}', file=sys.stderr, flush=True)
    print(f'{PROG} replay: {pacing}: {PACING_MEANING[pacing]}', file=sys.stderr, flush=True)
    setup = _TrialSetup(
        params,
        settings,
        args.drain_timeout,
        args.log_level,
        pacing == 'paced',
        isolation,
        progress=not args.quiet,
    )

    done: dict[float, dict] = {}

    def trial(factor: float) -> dict:
        if factor not in done:
            done[factor] = {**summarize_trial(_run_trial(data, setup, factor)), 'pacing': pacing}
            if (
                args.search and not args.quiet
            ):  # progress of the search; the final lines follow on stdout
                print(
                    f'{PROG} replay: trial {_trial_line(done[factor])}',
                    file=sys.stderr,
                    flush=True,
                )
        return dict(done[factor])

    document: dict[str, Any] = {
        'bag': str(args.bag),
        'backend': settings.fusion_backend,
        'settings': settings.as_dict(),
        'bag_pair_rate_hz': data.pair_rate_hz,
        'offline': data.plan_summary,
        'input_transports': dict(zip(('ir', 'visible'), data.transports)),
        'pacing': pacing,
        'measures': PACING_MEANING[pacing],
        'ros_domain_id': isolation.domain_id,
        'latency_definition': (
            'publish of the camera message that completed the pair'
            if pacing == 'paced'
            else 'publish of the visible image'
        )
        + ' -> receipt of fused/image with its stamp',
    }
    document['trial'] = trial(args.rate)
    if args.search:
        document['search'] = search_peak_rate(
            trial,
            args.max_drop,
            start=min(max(args.rate, args.search_min), args.search_max),
            lowest=args.search_min,
            highest=args.search_max,
            bisections=args.bisections,
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(document, indent=2))
    print(f'{PROG} replay: {_trial_line(document["trial"])}')
    if args.search:
        s = document['search']
        peak = (
            'none passed'
            if s['peak_rate_factor'] is None
            else (
                f'x{s["peak_rate_factor"]:.3g} = {s["peak_input_pair_rate_hz"]:.1f} pairs/s in, '
                f'{s["peak_output_fps"]:.1f} fps out'
                + (' (search range limit)' if s['limited_by_search_range'] else '')
            )
        )
        print(f'{PROG} replay: peak rate with < {args.max_drop * 100:.0f} % drops: {peak}')
    print(f'{PROG} replay: wrote {args.out}')
    if document['trial']['frames_received'] == 0:
        print(
            f"{PROG} replay: error: the fusion node delivered no fused image of this bag's pairs "
            f'(node counters: {document["trial"]["node"]})',
            file=sys.stderr,
        )
        return 1
    return 0


# -- entry point ------------------------------------------------------------------------------
COMMANDS = {'make': cmd_make, 'evaluate': cmd_evaluate, 'replay': cmd_replay}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == 'replay':
        use_large_image_profile()  # subscribers in other processes (rviz2, recorders)
    try:
        return COMMANDS[args.command](args)
    except (BagError, ValueError, FileNotFoundError) as exc:
        print(f'{PROG} {args.command}: error: {exc}', file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f'{PROG} {args.command}: interrupted', file=sys.stderr)
        return 130


if __name__ == '__main__':
    sys.exit(main())
