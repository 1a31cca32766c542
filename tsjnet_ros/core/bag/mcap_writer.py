"""The MCAP storage of rosbags' rosbag2 writer, written by the ``mcap`` library.

rosbags writes ``metadata.yaml`` (type names, RIHS01 hashes, QoS) and hands each record to
a storage plugin; this plugin has ``mcap``'s :class:`~mcap.writer.Writer` write the file as
rosbag2's own mcap plugin does: profile ``ros2``, ``ros2msg`` schemas, ``cdr`` channels
with ``offered_qos_profiles`` and ``topic_type_hash``, chunks with CRCs and message indexes,
the ``rosbag2`` metadata record and a summary. rosbags' own MCAP storage leaves out the
type hash, which ``ros2 bag play`` checks; hence this plugin.
"""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path
from typing import Any

from mcap.well_known import Profile, SchemaEncoding
from mcap.writer import CompressionType, Writer
from rosbags.interfaces import MessageDefinitionFormat
from rosbags.rosbag2.enums import CompressionMode


class McapStorage:
    """rosbags ``StorageWriter`` for MCAP; ``CompressionMode.STORAGE`` gives zstd chunks."""

    def __init__(self, path: Path, compression: CompressionMode) -> None:
        self.path = path / f'{path.name}.mcap'
        self._file = self.path.open('xb')
        chunk_compression = (
            CompressionType.ZSTD
            if compression == CompressionMode.STORAGE
            else CompressionType.NONE
        )
        self._writer = Writer(self._file, compression=chunk_compression)
        self._writer.start(
            profile=Profile.ROS2, library=f'tsjnet_ros bag tools (mcap {version("mcap")})'
        )
        self._schemas: dict[str, int] = {}  # msgtype -> schema id
        self._channels: dict[int, int] = {}  # rosbags connection id -> channel id

    def add_msgtype(self, connection: Any) -> None:
        msgdef = connection.msgdef
        encoding = (
            SchemaEncoding.ROS2
            if msgdef.format == MessageDefinitionFormat.MSG
            else SchemaEncoding.ROS2IDL
        )
        self._schemas[connection.msgtype] = self._writer.register_schema(
            connection.msgtype, encoding, msgdef.data.encode('utf-8')
        )

    def add_connection(self, connection: Any, offered_qos_profiles: str) -> None:
        metadata = {'offered_qos_profiles': offered_qos_profiles}
        if connection.digest:
            metadata['topic_type_hash'] = connection.digest
        self._channels[connection.id] = self._writer.register_channel(
            connection.topic,
            connection.ext.serialization_format,
            self._schemas[connection.msgtype],
            metadata,
        )

    def write(self, connection: Any, timestamp: int, data: bytes | memoryview) -> None:
        self._writer.add_message(self._channels[connection.id], timestamp, data, timestamp)

    def close(self, version: int, metadata: str) -> None:  # noqa: ARG002 - protocol signature
        self._writer.add_metadata('rosbag2', {'serialized_metadata': metadata})
        self._writer.finish()
        self._file.close()

    def abort(self) -> None:
        self._file.close()
