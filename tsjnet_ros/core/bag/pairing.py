"""IR/visible pairs from a bag, synchronised by the same fusion stream the node runs.

Playback delivers messages in log-time order and the node pushes each decoded image into
its :class:`~tsjnet_ros.core.runtime.fusion_stream.FusionStream`; :class:`PairStream` does
the same, in one pass over the bag, with a synchronous stream (nothing skipped) built from
the node's settings. Invalid images are refused before synchronisation, as in the node. At
the end of the bag one pair may still wait for a message that would prove it optimal; two
sentinel stamps one second later complete it,
so the last pair is not lost (counted in ``flushed_pairs``).

Every reason that images go unpaired or pair wrongly (zero stamps, which are replaced by
the log time as the node replaces them by the arrival time; camera clocks apart; a queue
too short; frames missing) is listed in the account's problems, named as the node names it.

Ground truth (boxes, class maps) is matched by the visible image's stamp. A pair is
released once the bag has moved ``gt_wait`` seconds of log time past it, so ground truth
logged a little after its image is still found.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

import numpy as np

from tsjnet_ros.core.bag.messages import boxes_from_detections, image_array, stamp_ns
from tsjnet_ros.core.bag.problems import BagError, BagProblem
from tsjnet_ros.core.bag.reader import BagReader, RawMessage
from tsjnet_ros.core.bag.topics import InputTopics
from tsjnet_ros.core.bag.typestore import COMPRESSED_IMAGE, DETECTIONS, IMAGE
from tsjnet_ros.core.image.compressed_image import compressed_to_array
from tsjnet_ros.core.image.image_encoding import ImageFormatError
from tsjnet_ros.core.runtime.fusion_stream import FusionStream, silent
from tsjnet_ros.core.runtime.stream_settings import StreamSettings
from tsjnet_ros.core.sync import SyncStats
from tsjnet_ros.core.types.box_set import BoxSet
from tsjnet_ros.core.types.camera_image import IR, VISIBLE, CameraImage

STREAMS = ('ir', 'visible')
_DECODE_ERRORS = (ImageFormatError, ValueError, TypeError, IndexError, AssertionError, KeyError)


@dataclass
class BagPair:
    """A synchronised pair with its ground truth (None where the bag has none for it)."""

    number: int
    ir: CameraImage
    visible: CameraImage
    gt_boxes: BoxSet | None = None
    gt_segmentation: np.ndarray | None = None


@dataclass
class PairAccount:
    """Where every camera image went: paired, invalid, or not used by the synchroniser."""

    pairs: int = 0
    messages: dict[str, int] = field(default_factory=lambda: {'ir': 0, 'visible': 0})
    invalid: dict[str, int] = field(default_factory=lambda: {'ir': 0, 'visible': 0})
    unpaired: dict[str, int] = field(default_factory=lambda: {'ir': 0, 'visible': 0})
    flushed_pairs: int = 0
    sync_stats: SyncStats | None = None
    stamp_range: dict[str, tuple[int, int] | None] = field(
        default_factory=lambda: {'ir': None, 'visible': None}
    )
    has_gt_detections: bool = False
    has_gt_segmentation: bool = False
    gt_unmatched: int = 0  # ground-truth messages whose stamp is no paired visible image
    problems: list[BagProblem] = field(default_factory=list)
    complete: bool = False  # True once the whole bag was read


class PairStream:
    """Iterate the bag's pairs (see module docstring); :attr:`account` fills in as it goes.

    Raises :class:`BagError` at once when a camera topic is missing or of the wrong type,
    and at the end when no pair at all could be formed (naming both stamp ranges).
    ``decode=False`` validates images but keeps no pixels (for counting pairs);
    ``segmentation=False`` leaves ground-truth class maps unread; ``prefetch`` reads that
    many messages ahead on a thread. ``fusion``: a configured synchronous stream to pair
    with (the evaluation then fuses the pairs with it); None: one that only pairs.
    """

    def __init__(
        self,
        reader: BagReader,
        topics: InputTopics,
        settings: StreamSettings,
        decode: bool = True,
        gt_wait: float = 0.5,
        segmentation: bool = True,
        prefetch: int = 0,
        fusion: FusionStream | None = None,
    ) -> None:
        topics = camera_topics(reader, topics)
        self.reader, self.topics, self.settings, self.decode = reader, topics, settings, decode
        self.read_segmentation = segmentation
        self.prefetch = prefetch
        self.gt_wait_ns = int(gt_wait * 1e9)
        self.account = PairAccount(
            has_gt_detections=topics.gt_detections in reader.topics,
            has_gt_segmentation=topics.gt_segmentation in reader.topics,
        )
        if self.account.has_gt_detections:
            reader.require(topics.gt_detections, DETECTIONS)
        if self.account.has_gt_segmentation:
            reader.require(topics.gt_segmentation, IMAGE)
        self._gt_boxes: dict[int, BoxSet] = {}
        self._gt_seg: dict[int, np.ndarray | None] = {}
        self._stamps: dict[str, list[int]] = {'ir': [], 'visible': []}
        if fusion is None:
            fusion = FusionStream(synchronous=True, report=silent)  # problems go to the account
            fusion.configure(settings, pairing_only=True)
        self.fusion = fusion
        self._last_log_ns = 0

    def estimated_pairs(self) -> int:
        """Pairs to expect from the bag's message counts (for progress bars)."""
        counts = [self.reader.topics[t].count for t in (self.topics.ir, self.topics.visible)]
        return max(0, min(counts))

    # -- iteration -----------------------------------------------------------------------
    def __iter__(self) -> Iterator[BagPair]:
        topics, account = self.topics, self.account
        self.fusion.activate(
            0.0, (topics.ir, topics.visible), timeout=float('inf')
        )  # bag time: no camera is "silent"
        pending: deque[tuple[CameraImage, CameraImage]] = deque()
        wanted = [topics.ir, topics.visible]
        wanted += [
            t
            for t, on in (
                (topics.gt_detections, account.has_gt_detections),
                (topics.gt_segmentation, account.has_gt_segmentation and self.read_segmentation),
            )
            if on
        ]
        for message in self.reader.messages(wanted, prefetch=self.prefetch):
            if message.topic == topics.ir or message.topic == topics.visible:
                stream = IR if message.topic == topics.ir else VISIBLE
                pending.extend(self._camera_pairs(stream, message))
            else:
                self._ground_truth(message)
            while (
                pending
                and message.log_time_ns - max(pending[0][0].log_time_ns, pending[0][1].log_time_ns)
                > self.gt_wait_ns
            ):
                yield self._release(*pending.popleft())
        flushed = self.fusion.flush()
        account.flushed_pairs = len(flushed)
        pending.extend(flushed)
        while pending:
            yield self._release(*pending.popleft())
        self._finish(self.fusion.sync_stats())

    def _camera_pairs(
        self, stream: int, message: RawMessage
    ) -> list[tuple[CameraImage, CameraImage]]:
        """Decode one camera message and push it into the stream: the pairs it completed."""
        name = STREAMS[stream]
        self.account.messages[name] += 1
        log_s = message.log_time_ns / 1e9
        try:
            try:
                decoded = self.reader.deserialize(message)
                if message.msgtype == COMPRESSED_IMAGE:
                    array, encoding = compressed_to_array(decoded)
                else:
                    array, encoding = image_array(decoded), decoded.encoding
            except _DECODE_ERRORS as exc:
                self.fusion.refuse(stream, exc, log_s)
                raise
            image = CameraImage(
                stamp_ns(decoded.header),
                decoded.header.frame_id,
                encoding,
                array,
                log_time_ns=message.log_time_ns,
                index=message.index,
            )
            pairs = self.fusion.push(
                stream, image, log_s, message.log_time_ns
            )  # refuses (and counts) a too small one
        except _DECODE_ERRORS as exc:
            self.account.invalid[name] += 1
            self.account.problems.append(
                BagProblem(
                    'invalid_image',
                    f'{exc}; image skipped',
                    message.topic,
                    message.index,
                    message.log_time_ns,
                )
            )
            return []
        if not self.decode:
            image.array = None
        self._last_log_ns = max(self._last_log_ns, message.log_time_ns)
        self._stamps[name].append(
            image.stamp_ns
        )  # the log time for an unstamped image, as the node's arrival time
        return pairs

    def _ground_truth(self, message: RawMessage) -> None:
        try:
            decoded = self.reader.deserialize(message)
            stamp = stamp_ns(decoded.header)
            if message.topic == self.topics.gt_detections:
                self._gt_boxes[stamp] = boxes_from_detections(decoded)
            else:
                array = image_array(decoded)
                if array.ndim != 2 or array.dtype != np.uint8:
                    raise ValueError(f'class map must be mono8, got {decoded.encoding}')
                self._gt_seg[stamp] = array if self.decode else None
        except _DECODE_ERRORS as exc:
            self.account.problems.append(
                BagProblem(
                    'invalid_ground_truth',
                    f'{exc}; ground truth skipped',
                    message.topic,
                    message.index,
                    message.log_time_ns,
                )
            )

    def _release(self, ir: CameraImage, visible: CameraImage) -> BagPair:
        stamp = visible.stamp_ns
        for table in (self._gt_boxes, self._gt_seg):
            stale = [s for s in table if s < stamp]
            self.account.gt_unmatched += len(stale)
            for s in stale:
                del table[s]
        pair = BagPair(
            self.account.pairs,
            ir,
            visible,
            self._gt_boxes.pop(stamp, None),
            self._gt_seg.pop(stamp, None),
        )
        self.account.pairs += 1
        return pair

    def _finish(self, stats: SyncStats) -> None:
        account = self.account
        account.sync_stats = stats
        account.gt_unmatched += len(self._gt_boxes) + len(self._gt_seg)
        account.stamp_range = {
            k: ((min(v), max(v)) if v else None) for k, v in self._stamps.items()
        }
        for name in STREAMS:
            account.unpaired[name] = account.messages[name] - account.invalid[name] - account.pairs
        for problem in self.fusion.watch(self._last_log_ns / 1e9):
            account.problems.append(BagProblem(problem.cause, problem.message))
        account.complete = True
        if account.pairs == 0:
            damage = '; '.join(str(p) for p in self.reader.problems)
            causes = ''.join(f'; {p.detail}' for p in account.problems)
            raise BagError(
                _no_pairs_message(self.topics, account, self.settings)
                + causes
                + (f'; the bag is damaged: {damage}' if damage else '')
            )


def _no_pairs_message(topics: InputTopics, account: PairAccount, settings: StreamSettings) -> str:
    ranges, counts, invalid = account.stamp_range, account.messages, account.invalid

    def span(name: str) -> str:
        r = ranges[name]
        return 'no valid images' if r is None else f'stamps {r[0] / 1e9:.6f}..{r[1] / 1e9:.6f} s'

    text = (
        f'no IR/visible pair can be formed with sync_policy={settings.sync_policy}, '
        f'slop={settings.slop} s: '
        f'{topics.ir} has {counts["ir"]} messages ({invalid["ir"]} invalid, {span("ir")}), '
        f'{topics.visible} has {counts["visible"]} messages ({invalid["visible"]} '
        f'invalid, {span("visible")})'
    )
    if ranges['ir'] and ranges['visible']:
        gap = max(
            ranges['ir'][0] - ranges['visible'][1], ranges['visible'][0] - ranges['ir'][1], 0
        )
        if gap:
            text += f'; the stamp ranges are {gap / 1e9:.3f} s apart (different clocks?)'
    return text


def camera_topics(reader: BagReader, topics: InputTopics) -> InputTopics:
    """Return ``topics`` with each camera topic checked.

    A camera topic is a sensor_msgs/Image, or image_transport's CompressedImage. A camera
    topic the bag lacks is replaced by ``<topic>/compressed`` when
    the bag has that (most recordings keep only the compressed topics). :class:`BagError`
    names a missing or mistyped topic.
    """
    chosen = {}
    for name in ('ir', 'visible'):
        topic = getattr(topics, name)
        if topic not in reader.topics and reader.topics.get(f'{topic}/compressed') is not None:
            topic = f'{topic}/compressed'
        if reader.topics.get(topic) is None or reader.topics[topic].msgtype != COMPRESSED_IMAGE:
            reader.require(topic, IMAGE)
        chosen[name] = topic
    return replace(topics, **chosen)


def plan_pairs(
    reader: BagReader, topics: InputTopics, settings: StreamSettings
) -> tuple[list[BagPair], PairAccount]:
    """All pairs without decoding the images (stamps, indices, ground truth boxes)."""
    stream = PairStream(reader, topics, settings, decode=False)
    pairs = list(stream)
    return pairs, stream.account
