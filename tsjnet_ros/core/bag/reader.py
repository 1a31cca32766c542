"""Reading rosbag2 bags (mcap or sqlite3) without a ROS installation, damage included.

Accepts a bag folder (``metadata.yaml`` + storage files) or a single ``.mcap`` / ``.db3``
file. MCAP files are read through their summary with the ``mcap`` library; sqlite3 bags and
bags compressed file by file with ``rosbags``. An MCAP file whose summary or footer is
missing (recording cut short, copy truncated) is read record by record up to the damage
(:class:`McapSalvage`) instead of being refused; the damage is recorded as a
:class:`BagProblem` naming the byte offset, and messages that the metadata lists but that
could not be read are reported per topic.
"""

from __future__ import annotations

import queue
import re
import sqlite3
import struct
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from mcap.exceptions import McapError
from mcap.reader import make_reader
from rosbags.rosbag2 import Reader, ReaderError

from tsjnet_ros.core.bag.mcap_salvage import McapSalvage
from tsjnet_ros.core.bag.problems import BagError, BagProblem
from tsjnet_ros.core.bag.typestore import bag_typestore

_FILE_STORAGES = {'.mcap': 'mcap', '.db3': 'sqlite3'}


@dataclass(frozen=True)
class TopicInfo:
    """A topic as the bag lists it; ``count`` is -1 when the bag does not say."""

    topic: str
    msgtype: str
    count: int


@dataclass(frozen=True)
class RawMessage:
    """One serialised message; ``index`` counts messages of its topic from 0 in log order."""

    topic: str
    msgtype: str
    index: int
    log_time_ns: int
    data: bytes | memoryview


class _Yaml12Loader(getattr(yaml, 'CSafeLoader', yaml.SafeLoader)):  # type: ignore[misc]
    """PyYAML reading booleans as YAML 1.2 does (rosbag2 writes 1.2).

    ``yes``/``on`` stay strings.
    """


_Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != 'tag:yaml.org,2002:bool']
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Yaml12Loader.add_implicit_resolver(
    'tag:yaml.org,2002:bool', re.compile(r'^(?:true|True|TRUE|false|False|FALSE)$'), list('tTfF')
)


def _load_metadata(folder: Path) -> dict[str, Any]:
    path = folder / 'metadata.yaml'
    try:
        document = yaml.load(path.read_text(), Loader=_Yaml12Loader)
        return document['rosbag2_bagfile_information']
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise BagError(f'{path}: not a readable rosbag2 metadata file ({exc})') from None


class BagReader:
    """Topics, custom data and raw messages of one bag; see module docstring."""

    def __init__(self, path: str | Path) -> None:
        path = Path(path)
        if not path.exists():
            raise BagError(f'bag not found: {path}')
        if (
            path.is_file()
            and (path.parent / 'metadata.yaml').is_file()
            and path.suffix in _FILE_STORAGES
        ):
            path = path.parent  # a storage file inside its bag folder: read the whole bag
        if path.is_dir():
            if not (path / 'metadata.yaml').is_file():
                raise BagError(f'{path} is a folder without metadata.yaml, not a rosbag2 bag')
            self.metadata: dict[str, Any] = _load_metadata(path)
            self.storage = str(self.metadata.get('storage_identifier', ''))
            self.files = [
                path / Path(p).name for p in self.metadata.get('relative_file_paths', [])
            ]
        elif path.suffix in _FILE_STORAGES:
            self.metadata = {}
            self.storage = _FILE_STORAGES[path.suffix]
            self.files = [path]
        else:
            raise BagError(
                f'{path}: not a rosbag2 bag (expected a folder with '
                'metadata.yaml, a .mcap or a .db3 file)'
            )
        if self.storage not in ('mcap', 'sqlite3'):
            raise BagError(f'{path}: storage {self.storage!r} is not supported (mcap or sqlite3)')
        self.path = path
        self.typestore = bag_typestore()
        self.problems: list[BagProblem] = []
        self.salvaged = False
        self._reader: Reader | None = None
        self.topics: dict[str, TopicInfo] = {}

    # -- lifecycle -----------------------------------------------------------------------
    def _index_path(self) -> Path:
        """Return what rosbags opens.

        That is the storage file itself when the folder holds one uncompressed file (its index
        lists the same topics and counts, without a second metadata parse).
        """
        if (
            self.path.is_dir()
            and len(self.files) == 1
            and not self._file_compressed()
            and self.files[0].is_file()
        ):
            return self.files[0]
        return self.path

    def _file_compressed(self) -> bool:
        return bool(
            self.metadata.get('compression_mode') or self.metadata.get('compression_format')
        )

    def open(self) -> BagReader:
        if self.storage == 'mcap' and not self._file_compressed():
            self._open_mcap()
            return self
        try:
            reader = Reader(self._index_path())
            reader.open()
        except (ReaderError, sqlite3.Error, OSError, ValueError, KeyError, AssertionError) as exc:
            raise BagError(f'{self.path}: cannot open the {self.storage} bag: {exc}') from None
        self._reader = reader
        for connection in reader.connections:
            self._add_topic(connection.topic, connection.msgtype, connection.msgcount)
        return self

    def _add_topic(self, topic: str, msgtype: str, count: int) -> None:
        """Record a topic of one storage file; counts add up over files (-1: unknown)."""
        known = self.topics.get(topic)
        if known is not None:
            count = -1 if min(count, known.count) < 0 else count + known.count
        self.topics[topic] = TopicInfo(topic, msgtype, count)

    def _open_mcap(self) -> None:
        """Topics and counts from each file's summary; salvage when one has none."""
        missing = [f for f in self.files if not f.is_file()]
        if missing:
            raise BagError(f'{self.path}: storage file {missing[0]} is missing')
        summaries = []
        for storage_file in self.files:
            try:
                with storage_file.open('rb') as handle:
                    summary = make_reader(handle).get_summary()
            except (McapError, struct.error, ValueError, OSError, UnicodeDecodeError) as exc:
                self._open_salvage(str(exc) or type(exc).__name__)
                return
            if summary is None:
                self._open_salvage('the file has no summary section')
                return
            summaries.append(summary)
        for summary in summaries:
            counts = summary.statistics.channel_message_counts if summary.statistics else {}
            for cid, channel in summary.channels.items():
                schema = summary.schemas.get(channel.schema_id)
                self._add_topic(channel.topic, schema.name if schema else '', counts.get(cid, -1))

    def _open_salvage(self, reason: str) -> None:
        self.salvaged = True
        self.add_problem(
            BagProblem('unindexed', f'index unreadable ({reason}); reading record by record')
        )
        listed = {
            t['topic_metadata']['name']: TopicInfo(
                t['topic_metadata']['name'], t['topic_metadata']['type'], int(t['message_count'])
            )
            for t in self.metadata.get('topics_with_message_count', [])
        }
        for storage_file in self.files:
            salvage = McapSalvage(storage_file)
            for _ in salvage.messages():  # a first pass to learn the channels
                pass
            if not salvage.state.channels and salvage.state.problems and not listed:
                raise BagError(str(salvage.state.problems[0]))
            for topic, schema in salvage.state.channels.values():
                self.topics.setdefault(topic, listed.get(topic, TopicInfo(topic, schema, -1)))
        for topic, info in listed.items():
            self.topics.setdefault(topic, info)

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    def __enter__(self) -> BagReader:
        return self.open()

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    # -- queries -------------------------------------------------------------------------
    @property
    def custom_data(self) -> dict[str, str]:
        return dict(self.metadata.get('custom_data') or {})

    def describe_topics(self) -> str:
        return (
            ', '.join(
                f'{t.topic} ({t.msgtype})'
                for t in sorted(self.topics.values(), key=lambda t: t.topic)
            )
            or 'none'
        )

    def require(self, topic: str, msgtype: str) -> TopicInfo:
        """Return the topic's info.

        Raises :class:`BagError` naming the topic if it is absent or of another type.
        """
        info = self.topics.get(topic)
        if info is None:
            raise BagError(
                f'topic {topic} is not in bag {self.path}; topics: {self.describe_topics()}'
            )
        if info.msgtype != msgtype:
            raise BagError(f'topic {topic} has type {info.msgtype}, expected {msgtype}')
        return info

    def deserialize(self, message: RawMessage) -> Any:
        return self.typestore.deserialize_cdr(message.data, message.msgtype)

    def add_problem(self, problem: BagProblem) -> None:
        if problem not in self.problems:
            self.problems.append(problem)

    # -- messages ------------------------------------------------------------------------
    def messages(self, topics: Iterable[str], prefetch: int = 0) -> Iterator[RawMessage]:
        """Yield the messages of ``topics`` in log-time order.

        File order for a damaged MCAP, one file after the other for a split bag.

        Reading stops at damage with a recorded problem instead of an exception; at the end,
        a topic that yielded fewer messages than the bag lists gets a ``count_mismatch``.
        ``prefetch`` > 0 reads that many messages ahead on a background thread, so file
        reading overlaps with the caller's work.
        """
        if prefetch > 0:
            return _prefetched(self._messages(list(topics)), prefetch)
        return self._messages(list(topics))

    def _messages(self, topics: list[str]) -> Iterator[RawMessage]:
        wanted = {t: self.topics[t] for t in topics if t in self.topics}
        counts = dict.fromkeys(wanted, 0)
        if self.salvaged:
            source = self._salvaged_messages(wanted)
        elif self._reader is None:
            source = self._mcap_messages(wanted)
        else:
            source = self._indexed_messages(wanted)
        for topic, log_time, data in source:
            info = wanted[topic]
            yield RawMessage(topic, info.msgtype, counts[topic], log_time, data)
            counts[topic] += 1
        for topic, info in wanted.items():
            if info.count >= 0 and counts[topic] < info.count:
                self.add_problem(
                    BagProblem(
                        'count_mismatch',
                        f'the bag lists {info.count} messages, {counts[topic]} could be read; '
                        f'{info.count - counts[topic]} lost',
                        topic=topic,
                    )
                )

    def _indexed_messages(self, wanted: dict[str, TopicInfo]) -> Iterator[tuple[str, int, bytes]]:
        assert self._reader is not None, 'bag is not open'
        connections = [c for c in self._reader.connections if c.topic in wanted]
        if not connections:
            return
        last_time = None
        try:
            for connection, log_time, data in self._reader.messages(connections=connections):
                last_time = log_time
                yield connection.topic, log_time, data
        except (ReaderError, sqlite3.Error, OSError, ValueError, EOFError) as exc:
            self.add_problem(
                BagProblem('corrupt', f'reading stopped: {exc}', log_time_ns=last_time)
            )

    def _mcap_messages(self, wanted: dict[str, TopicInfo]) -> Iterator[tuple[str, int, bytes]]:
        if not wanted:
            return
        last_time = None
        try:
            for storage_file in self.files:
                with storage_file.open('rb') as handle:
                    for _, channel, message in make_reader(handle).iter_messages(
                        topics=list(wanted)
                    ):
                        last_time = message.log_time
                        yield channel.topic, message.log_time, message.data
        except (McapError, struct.error, ValueError, OSError, EOFError) as exc:
            self.add_problem(
                BagProblem('corrupt', f'reading stopped: {exc}', log_time_ns=last_time)
            )

    def _salvaged_messages(self, wanted: dict[str, TopicInfo]) -> Iterator[tuple[str, int, bytes]]:
        for storage_file in self.files:
            salvage = McapSalvage(storage_file)
            for message in salvage.messages():
                topic, _ = salvage.state.channels.get(message.channel_id, ('', ''))
                if topic in wanted:
                    yield topic, message.log_time_ns, message.data
            for problem in salvage.state.problems:
                self.add_problem(problem)


_END = object()


def _prefetched(source: Iterator[RawMessage], depth: int) -> Iterator[RawMessage]:
    """Run ``source`` on a thread, ``depth`` items ahead; its exceptions surface here."""
    items: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in source:
                while not stop.is_set():
                    try:
                        items.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            items.put(_END)
        except BaseException as exc:  # handed to the consumer
            items.put(exc)

    thread = threading.Thread(target=produce, name='bag_prefetch', daemon=True)
    thread.start()
    try:
        while True:
            item = items.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join(timeout=5.0)
