"""Writing standard rosbag2 bags (mcap or sqlite3) without a ROS installation.

The result is what ``ros2 bag record`` produces: a folder with ``metadata.yaml``
(format version 9, type names and RIHS01 type hashes per topic) and one storage file.
MCAP files are written by the ``mcap`` library (:class:`McapStorage`), sqlite3 files by
``rosbags``.
Every topic is declared with a reliable, volatile, keep-last-10 QoS so that ``ros2 bag
play`` publishes it in a way both reliable and best-effort subscribers accept.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from rosbags.interfaces import (
    Qos,
    QosDurability,
    QosHistory,
    QosLiveliness,
    QosReliability,
    QosTime,
)
from rosbags.rosbag2 import StoragePlugin, Writer, WriterError

from tsjnet_ros.core.bag.mcap_writer import McapStorage
from tsjnet_ros.core.bag.messages import compressed_image_message, image_message
from tsjnet_ros.core.bag.problems import BagError
from tsjnet_ros.core.bag.typestore import bag_typestore

STORAGES = {'mcap': StoragePlugin.MCAP, 'sqlite3': StoragePlugin.SQLITE3}
STORAGE_SUFFIX = {'mcap': '.mcap', 'sqlite3': '.db3'}

_ZERO = QosTime(0, 0)  # 0 = the middleware default (no deadline, infinite lifespan/lease)
PLAYBACK_QOS = Qos(
    QosHistory.KEEP_LAST,
    10,
    QosReliability.RELIABLE,
    QosDurability.VOLATILE,
    _ZERO,
    _ZERO,
    QosLiveliness.AUTOMATIC,
    _ZERO,
    False,
)


class _Rosbag2Writer(Writer):
    """rosbags' rosbag2 writer (metadata.yaml, type hashes) with the ``mcap`` library's storage."""

    STORAGE_PLUGINS = {**Writer.STORAGE_PLUGINS, StoragePlugin.MCAP: McapStorage}


def is_bag_directory(path: Path) -> bool:
    return path.is_dir() and (path / 'metadata.yaml').is_file()


def remove_bag(path: Path) -> None:
    """Delete an existing bag folder; refuses anything that is not one."""
    if not path.exists():
        return
    if not is_bag_directory(path):
        raise BagError(
            f'{path} exists and is not a rosbag2 folder (no metadata.yaml); not deleting it'
        )
    shutil.rmtree(path)


class BagWriter:
    """Writes messages to a new rosbag2 folder; use as a context manager.

    ``storage`` is ``"mcap"`` (default) or ``"sqlite3"``. ``overwrite`` replaces an existing
    bag folder at ``path``. Topics are declared with :meth:`add_topic` before writing.
    Closing writes the index and ``metadata.yaml``; an exception inside the ``with`` block
    still closes the bag so that what was written stays readable.
    """

    def __init__(self, path: str | Path, storage: str = 'mcap', overwrite: bool = False) -> None:
        if storage not in STORAGES:
            raise ValueError(f'unknown storage {storage!r}; expected one of {", ".join(STORAGES)}')
        self.path = Path(path)
        self.storage = storage
        if self.path.exists():
            if not overwrite:
                raise BagError(f'{self.path} already exists; choose another path or overwrite it')
            remove_bag(self.path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.typestore = bag_typestore()
        self._writer = _Rosbag2Writer(
            self.path, version=Writer.VERSION_LATEST, storage_plugin=STORAGES[storage]
        )
        self._connections: dict[str, Any] = {}
        self._types: dict[str, str] = {}
        self.counts: dict[str, int] = {}
        self._open = False

    # -- lifecycle -----------------------------------------------------------------------
    def open(self) -> BagWriter:
        try:
            self._writer.open()
        except WriterError as exc:
            raise BagError(f'cannot create bag {self.path}: {exc}') from None
        self._open = True
        return self

    def close(self) -> None:
        if self._open:
            self._open = False
            self._writer.close()

    def __enter__(self) -> BagWriter:
        return self.open()

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    @property
    def storage_file(self) -> Path:
        return self.path / f'{self.path.name}{STORAGE_SUFFIX[self.storage]}'

    # -- content -------------------------------------------------------------------------
    def set_custom_data(self, key: str, value: str) -> None:
        """Set a string entry in metadata.yaml's ``custom_data`` (ignored by ROS tools)."""
        self._writer.set_custom_data(key, value)

    def add_topic(self, topic: str, msgtype: str) -> None:
        """Declare ``topic`` with message type ``msgtype`` (e.g. ``sensor_msgs/msg/Image``)."""
        if not self._open:
            raise BagError(f'bag {self.path} is not open')
        if not topic.startswith('/'):
            raise ValueError(f'topic names in bags are absolute; got {topic!r}')
        if topic in self._connections:
            if self._types[topic] != msgtype:
                raise ValueError(
                    f'topic {topic} already declared as {self._types[topic]}, not {msgtype}'
                )
            return
        if msgtype not in self.typestore.fielddefs:
            raise ValueError(f'unknown message type {msgtype!r}')
        self._connections[topic] = self._writer.add_connection(
            topic, msgtype, typestore=self.typestore, offered_qos_profiles=[PLAYBACK_QOS]
        )
        self._types[topic] = msgtype
        self.counts[topic] = 0

    def write(self, topic: str, log_time_ns: int, message: Any) -> None:
        """Serialise ``message`` (a typestore message object) and append it at ``log_time_ns``."""
        self.write_raw(
            topic, log_time_ns, self.typestore.serialize_cdr(message, self._types[topic])
        )

    def write_raw(self, topic: str, log_time_ns: int, data: bytes | memoryview) -> None:
        """Append already serialised CDR bytes."""
        if topic not in self._connections:
            raise BagError(f'topic {topic} was not declared in bag {self.path}')
        self._writer.write(self._connections[topic], int(log_time_ns), data)
        self.counts[topic] += 1

    def write_image(
        self, topic: str, log_time_ns: int, array: Any, encoding: str, stamp_ns: int, frame_id: str
    ) -> None:
        """Append a sensor_msgs/Image of ``array`` (encoding checked against shape and dtype)."""
        self.write(topic, log_time_ns, image_message(array, encoding, stamp_ns, frame_id))

    def write_compressed_image(
        self,
        topic: str,
        log_time_ns: int,
        array: Any,
        encoding: str,
        fmt: str,
        stamp_ns: int,
        frame_id: str,
    ) -> None:
        """Append a CompressedImage as image_transport's ``compressed`` publisher sends it.

        The message is a sensor_msgs/CompressedImage; ``fmt`` is ``"png"`` or ``"jpg"``; colour
        is in OpenCV's BGR order.
        """
        self.write(
            topic, log_time_ns, compressed_image_message(array, encoding, fmt, stamp_ns, frame_id)
        )
