"""Making a rosbag2 bag of an IR/visible camera pair, as a real recording would look.

Each camera samples the source at its own rate. A message's header stamp is its capture
time plus Gaussian jitter (and, for IR, a constant clock offset); its log time is the
capture time plus a small transport delay, so the bag is ordered the way a recorder
receives messages. Ground truth (boxes as vision_msgs/Detection2DArray, class maps as mono8
images) is written with the visible image's stamp and frame, in visible pixels.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tsjnet_ros.core.bag.frame_sources import FrameSource, SourceFrame
from tsjnet_ros.core.bag.messages import detections_message
from tsjnet_ros.core.bag.topics import (
    CLASS_NAMES_KEY,
    GROUND_TRUTH_KEY,
    PAIR_NAMES_KEY,
    SEGMENTATION_CLASSES_KEY,
    SOURCE_KEY,
    STILLS_KEY,
    InputTopics,
)
from tsjnet_ros.core.bag.typestore import COMPRESSED_IMAGE, DETECTIONS, IMAGE
from tsjnet_ros.core.bag.writer import BagWriter
from tsjnet_ros.core.image.image_encoding import swap_red_blue, to_mono

IR_ENCODINGS = ('mono8', 'mono16')
VISIBLE_ENCODINGS = ('bgr8', 'rgb8', 'mono8')
TRANSPORTS = ('raw', 'compressed')


@dataclass(frozen=True)
class CameraTiming:
    """Rates (Hz), IR clock offset and stamp jitter (s), bag start (s since the epoch)."""

    ir_rate: float = 30.0
    visible_rate: float = 30.0
    ir_clock_offset: float = 0.004
    jitter: float = 0.002
    start_time: float = 1_700_000_000.0
    transport_delay: float = 0.001
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ('ir_rate', 'visible_rate'):
            value = getattr(self, name)
            if not 0.1 <= value <= 1000.0:
                raise ValueError(f'{name} must be in [0.1, 1000] Hz, got {value}')
        if not 0.0 <= self.jitter <= 1.0:
            raise ValueError(f'jitter must be in [0, 1] s, got {self.jitter}')
        if abs(self.ir_clock_offset) > 10.0:
            raise ValueError(f'ir_clock_offset must be within +-10 s, got {self.ir_clock_offset}')
        if self.start_time < 0 or self.transport_delay < 0:
            raise ValueError('start_time and transport_delay must be >= 0')


@dataclass(frozen=True)
class MakeOptions:
    storage: str = 'mcap'
    ir_encoding: str = 'mono8'
    visible_encoding: str = 'bgr8'
    frame_id: str = 'camera_optical_frame'
    ground_truth: bool = True
    overwrite: bool = False
    # compressed: the cameras as image_transport's CompressedImage on <topic>/compressed,
    # IR lossless PNG (16 bit kept), visible JPEG, as most recordings hold them
    transport: str = 'raw'

    def __post_init__(self) -> None:
        if self.transport not in TRANSPORTS:
            raise ValueError(f'transport must be one of {TRANSPORTS}, got {self.transport!r}')
        if self.ir_encoding not in IR_ENCODINGS:
            raise ValueError(
                f'ir_encoding must be one of {IR_ENCODINGS}, got {self.ir_encoding!r}'
            )
        if self.visible_encoding not in VISIBLE_ENCODINGS:
            raise ValueError(
                f'visible_encoding must be one of {VISIBLE_ENCODINGS}, got '
                f'{self.visible_encoding!r}'
            )


@dataclass
class MakeSummary:
    path: Path
    storage: str
    counts: dict[str, int]
    duration_s: float
    size_bytes: int
    source: str
    class_names: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            'path': str(self.path),
            'storage': self.storage,
            'counts': self.counts,
            'duration_s': self.duration_s,
            'size_bytes': self.size_bytes,
            'source': self.source,
            'class_names': self.class_names,
        }


def capture_schedule(duration: float, timing: CameraTiming) -> list[tuple[float, int, int]]:
    """(capture time s, camera 0=IR/1=visible, frame number) in log order for ``duration``."""
    events = []
    for camera, rate in ((1, timing.visible_rate), (0, timing.ir_rate)):
        frames = max(1, int(np.floor(duration * rate + 1e-6)))
        events.extend((k / rate, camera, k) for k in range(frames))
    events.sort(key=lambda e: (e[0], -e[1]))  # same instant: visible first
    return events


def _ir_image(frame: SourceFrame, encoding: str) -> np.ndarray:
    ir = frame.ir
    if encoding == 'mono16':
        return ir if ir.dtype == np.uint16 else ir.astype(np.uint16) * np.uint16(257)
    if ir.dtype == np.uint16:
        return (ir >> 8).astype(np.uint8)
    return ir


def _visible_image(frame: SourceFrame, encoding: str) -> np.ndarray:
    if encoding == 'rgb8':
        return frame.visible
    if encoding == 'bgr8':
        return swap_red_blue(frame.visible)
    return to_mono(frame.visible, 'rgb8')


class _CameraWriter:
    """Camera-topic writer: raw (sensor_msgs/Image) or compressed (MakeOptions.transport)."""

    def __init__(self, options: MakeOptions, topics: InputTopics) -> None:
        self.options = options
        self.compressed = options.transport == 'compressed'
        suffix = '/compressed' if self.compressed else ''
        self.topics = (topics.ir + suffix, topics.visible + suffix)

    def declare(self, writer: BagWriter) -> None:
        for topic in self.topics:
            writer.add_topic(topic, COMPRESSED_IMAGE if self.compressed else IMAGE)

    def write(
        self, writer: BagWriter, camera: int, log_time: int, frame: SourceFrame, stamp: int
    ) -> None:
        options, topic = self.options, self.topics[camera]
        if camera == 0:
            array, encoding, fmt = (
                _ir_image(frame, options.ir_encoding),
                options.ir_encoding,
                'png',
            )
        elif (
            self.compressed and options.visible_encoding != 'mono8'
        ):  # OpenCV encodes colour in BGR order
            array, encoding, fmt = _visible_image(frame, 'bgr8'), 'bgr8', 'jpg'
        else:
            array, encoding, fmt = (
                _visible_image(frame, options.visible_encoding),
                options.visible_encoding,
                'jpg',
            )
        if self.compressed:
            writer.write_compressed_image(
                topic, log_time, array, encoding, fmt, stamp, options.frame_id
            )
        else:
            writer.write_image(topic, log_time, array, encoding, stamp, options.frame_id)


def make_bag(
    path: str | Path,
    source: FrameSource,
    timing: CameraTiming = CameraTiming(),
    options: MakeOptions = MakeOptions(),
    topics: InputTopics = InputTopics(),
    progress: Callable[[int, int], None] | None = None,
) -> MakeSummary:
    """Write the bag; ``progress(done, total)`` is called after each camera frame."""
    schedule = capture_schedule(source.duration, timing)
    rng = np.random.default_rng(timing.seed)
    start_ns = int(round(timing.start_time * 1e9))
    offset_ns = int(round(timing.ir_clock_offset * 1e9))
    delay_ns = int(round(timing.transport_delay * 1e9))
    cameras = _CameraWriter(options, topics)
    with BagWriter(path, options.storage, overwrite=options.overwrite) as writer:
        cameras.declare(writer)
        writer.set_custom_data(SOURCE_KEY, source.description)
        if options.ground_truth and source.class_names:
            writer.set_custom_data(CLASS_NAMES_KEY, json.dumps(source.class_names))
        if options.ground_truth and source.segmentation_class_names:
            writer.set_custom_data(
                SEGMENTATION_CLASSES_KEY, json.dumps(source.segmentation_class_names)
            )
        if options.ground_truth:
            writer.set_custom_data(GROUND_TRUTH_KEY, source.ground_truth)
        pair_names: dict[str, str] = {}
        for done, (t, camera, _) in enumerate(schedule, start=1):
            capture_ns = start_ns + int(round(t * 1e9))
            noise = int(round(rng.normal(0.0, timing.jitter) * 1e9)) if timing.jitter > 0 else 0
            log_time = capture_ns + delay_ns
            frame = source.render(t)
            if camera == 0:
                stamp = capture_ns + noise + offset_ns
                cameras.write(writer, 0, log_time, frame, stamp)
            else:
                stamp = capture_ns + noise
                pair_names[str(stamp)] = frame.name
                cameras.write(writer, 1, log_time, frame, stamp)
                if options.ground_truth:
                    _write_ground_truth(writer, topics, frame, stamp, log_time, options.frame_id)
            if progress is not None:
                progress(done, len(schedule))
        if source.stills:  # reports name each pair by its input files; replays pace stills
            writer.set_custom_data(STILLS_KEY, 'true')
            writer.set_custom_data(PAIR_NAMES_KEY, json.dumps(pair_names))
        counts = dict(writer.counts)
        storage_file = writer.storage_file
    return MakeSummary(
        path=Path(path),
        storage=options.storage,
        counts=counts,
        duration_s=source.duration,
        size_bytes=storage_file.stat().st_size,
        source=source.description,
        class_names=list(source.class_names),
    )


def _write_ground_truth(
    writer: BagWriter,
    topics: InputTopics,
    frame: SourceFrame,
    stamp: int,
    log_time: int,
    frame_id: str,
) -> None:
    if frame.boxes is not None:
        writer.add_topic(topics.gt_detections, DETECTIONS)
        writer.write(
            topics.gt_detections,
            log_time,
            detections_message(frame.boxes.as_detections(), stamp, frame_id),
        )
    if frame.class_map is not None:
        writer.add_topic(topics.gt_segmentation, IMAGE)
        writer.write_image(
            topics.gt_segmentation, log_time, frame.class_map, 'mono8', stamp, frame_id
        )
