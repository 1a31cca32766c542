"""An MCAP storage writer for rosbag2 bags that copies large messages only once.

Plugged into ``rosbags``' rosbag2 writer (which still writes ``metadata.yaml`` with type
hashes and QoS), it writes the same kind of file as rosbag2's own mcap plugin: profile
``ros2``, ``ros2msg`` schemas, ``cdr`` channels with their QoS and type hash, chunks with
message indexes, a ``rosbag2`` metadata record and an indexed summary. Small messages are
gathered into ~1 MiB chunks; a message of 256 KiB or more (an image) gets a chunk of its
own that is streamed straight to the file, so its pixels are not copied through buffers.
CRC fields are 0 ("not computed"), as the MCAP specification allows.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from importlib.metadata import version
from io import BytesIO
from pathlib import Path
from typing import Any

from rosbags.interfaces import MessageDefinitionFormat

MAGIC = b"\x89MCAP0\r\n"
CHUNK_SIZE = 1 << 20
OP_HEADER, OP_FOOTER, OP_SCHEMA, OP_CHANNEL, OP_MESSAGE, OP_CHUNK = 0x01, 0x02, 0x03, 0x04, 0x05, 0x06
OP_MESSAGE_INDEX, OP_CHUNK_INDEX, OP_STATISTICS, OP_METADATA, OP_METADATA_INDEX = 0x07, 0x08, 0x0B, 0x0C, 0x0D
OP_SUMMARY_OFFSET, OP_DATA_END = 0x0E, 0x0F
_MESSAGE_HEAD = struct.Struct("<BQHIQQ")  # opcode, length, channel, sequence, log time, publish time


def _string(text: str) -> bytes:
    data = text.encode("utf-8")
    return struct.pack("<I", len(data)) + data


def _record(opcode: int, body: bytes) -> bytes:
    return struct.pack("<BQ", opcode, len(body)) + body


def _string_map(entries: dict[str, str]) -> bytes:
    body = b"".join(_string(k) + _string(v) for k, v in entries.items())
    return struct.pack("<I", len(body)) + body


@dataclass
class _Chunk:
    start: int = 2**63 - 1
    end: int = 0
    parts: BytesIO = field(default_factory=BytesIO)
    index: dict[int, list[tuple[int, int]]] = field(default_factory=dict)  # channel -> (log time, offset)


class McapStreamWriter:
    """rosbags ``StorageWriter`` for MCAP (see module docstring)."""

    def __init__(self, path: Path, compression: Any) -> None:
        if getattr(compression, "name", "NONE") not in ("NONE",):
            raise ValueError("the streaming MCAP writer writes uncompressed chunks only")
        self.path = path / f"{path.name}.mcap"
        self._file = self.path.open("xb")
        self._file.write(MAGIC)
        self._file.write(_record(OP_HEADER, _string("ros2") + _string(f"tsjnet_ros bag tools (rosbags {version('rosbags')})")))
        self._schemas: dict[str, tuple[int, bytes]] = {}  # msgtype -> (id, record)
        self._channels: list[bytes] = []
        self._chunk = _Chunk()
        self._chunk_indexes: list[bytes] = []
        self._counts: dict[int, int] = {}
        self._start, self._end = 2**63 - 1, 0

    # -- StorageWriter protocol -----------------------------------------------------------
    def add_msgtype(self, connection: Any) -> None:
        encoding = "ros2msg" if connection.msgdef.format == MessageDefinitionFormat.MSG else "ros2idl"
        schema_id = len(self._schemas) + 1
        body = struct.pack("<H", schema_id) + _string(connection.msgtype) + _string(encoding)
        definition = connection.msgdef.data.encode("utf-8")
        record = _record(OP_SCHEMA, body + struct.pack("<I", len(definition)) + definition)
        self._schemas[connection.msgtype] = (schema_id, record)
        self._file.write(record)

    def add_connection(self, connection: Any, offered_qos_profiles: str) -> None:
        schema_id = self._schemas[connection.msgtype][0]
        metadata = {"offered_qos_profiles": offered_qos_profiles}
        if connection.digest:
            metadata["topic_type_hash"] = connection.digest
        body = (struct.pack("<HH", connection.id, schema_id) + _string(connection.topic)
                + _string(connection.ext.serialization_format) + _string_map(metadata))
        record = _record(OP_CHANNEL, body)
        self._channels.append(record)
        self._counts[connection.id] = 0
        self._file.write(record)

    def write(self, connection: Any, timestamp: int, data: bytes | memoryview | tuple) -> None:
        """Append one message; ``data`` may also be a tuple of buffers forming the message."""
        parts = data if isinstance(data, tuple) else (data,)
        size = sum(memoryview(p).nbytes for p in parts)
        cid = connection.id
        self._counts[cid] += 1
        self._start, self._end = min(self._start, timestamp), max(self._end, timestamp)
        head = _MESSAGE_HEAD.pack(OP_MESSAGE, 22 + size, cid, 0, timestamp, timestamp)
        if size >= CHUNK_SIZE // 4:
            self._close_chunk()
            self._write_single_message_chunk(cid, timestamp, head, parts, size)
            return
        chunk = self._chunk
        chunk.start, chunk.end = min(chunk.start, timestamp), max(chunk.end, timestamp)
        chunk.index.setdefault(cid, []).append((timestamp, chunk.parts.tell()))
        chunk.parts.write(head)
        for part in parts:
            chunk.parts.write(part)
        if chunk.parts.tell() >= CHUNK_SIZE:
            self._close_chunk()

    def close(self, version: int, metadata: str) -> None:  # noqa: ARG002 - protocol signature
        self._close_chunk()
        f = self._file
        metadata_start = f.tell()
        f.write(_record(OP_METADATA, _string("rosbag2") + _string_map({"serialized_metadata": metadata})))
        metadata_end = f.tell()
        f.write(_record(OP_DATA_END, struct.pack("<I", 0)))
        schema_start = f.tell()
        for _, record in self._schemas.values():
            f.write(record)
        channel_start = f.tell()
        for record in self._channels:
            f.write(record)
        chunk_index_start = f.tell()
        for record in self._chunk_indexes:
            f.write(record)
        metadata_index_start = f.tell()
        f.write(_record(OP_METADATA_INDEX, struct.pack("<QQ", metadata_start, metadata_end - metadata_start) + _string("rosbag2")))
        statistics_start = f.tell()
        total = sum(self._counts.values())
        counts = b"".join(struct.pack("<HQ", cid, n) for cid, n in sorted(self._counts.items()))
        f.write(_record(OP_STATISTICS, struct.pack(
            "<QHIIIIQQI", total, len(self._schemas), len(self._channels), 0, 1, len(self._chunk_indexes),
            self._start if total else 0, self._end if total else 0, len(counts),
        ) + counts))
        summary_offset_start = f.tell()
        groups = ((OP_SCHEMA, schema_start, channel_start), (OP_CHANNEL, channel_start, chunk_index_start),
                  (OP_CHUNK_INDEX, chunk_index_start, metadata_index_start),
                  (OP_METADATA_INDEX, metadata_index_start, statistics_start), (OP_STATISTICS, statistics_start, summary_offset_start))
        for opcode, begin, end in groups:
            if end > begin:
                f.write(_record(OP_SUMMARY_OFFSET, struct.pack("<BQQ", opcode, begin, end - begin)))
        f.write(_record(OP_FOOTER, struct.pack("<QQI", schema_start, summary_offset_start, 0)))
        f.write(MAGIC)
        f.close()

    def abort(self) -> None:
        self._file.close()

    # -- chunks ---------------------------------------------------------------------------
    def _chunk_head(self, start: int, end: int, size: int) -> bytes:
        body_length = 8 + 8 + 8 + 4 + 4 + 8 + size  # times, size, crc, empty compression, records
        return struct.pack("<BQQQQI", OP_CHUNK, body_length, start, end, size, 0) + _string("") + struct.pack("<Q", size)

    def _finish_chunk(self, chunk_start: int, start: int, end: int, size: int, index: dict[int, list[tuple[int, int]]]) -> None:
        f = self._file
        chunk_end = f.tell()
        offsets = []
        for cid, entries in index.items():
            offsets.append((cid, f.tell()))
            pairs = b"".join(struct.pack("<QQ", t, o) for t, o in entries)
            f.write(_record(OP_MESSAGE_INDEX, struct.pack("<HI", cid, len(pairs)) + pairs))
        offset_map = b"".join(struct.pack("<HQ", cid, off) for cid, off in offsets)
        self._chunk_indexes.append(_record(OP_CHUNK_INDEX, struct.pack(
            "<QQQQI", start, end, chunk_start, chunk_end - chunk_start, len(offset_map),
        ) + offset_map + struct.pack("<Q", f.tell() - chunk_end) + _string("") + struct.pack("<QQ", size, size)))

    def _close_chunk(self) -> None:
        chunk = self._chunk
        size = chunk.parts.tell()
        if not size:
            return
        chunk_start = self._file.tell()
        self._file.write(self._chunk_head(chunk.start, chunk.end, size))
        self._file.write(chunk.parts.getbuffer())
        self._finish_chunk(chunk_start, chunk.start, chunk.end, size, chunk.index)
        self._chunk = _Chunk()

    def _write_single_message_chunk(self, cid: int, timestamp: int, head: bytes, parts: tuple, data_size: int) -> None:
        size = len(head) + data_size
        chunk_start = self._file.tell()
        self._file.write(self._chunk_head(timestamp, timestamp, size))
        self._file.write(head)
        for part in parts:
            self._file.write(part)
        self._finish_chunk(chunk_start, timestamp, timestamp, size, {cid: [(timestamp, 0)]})
