"""Reading an MCAP file record by record: fast in-order reading, and salvage after damage.

Two jobs share this sequential scanner:

* Intact files whose chunks are stored in time order (what rosbag2 and these tools
  write) are read front to back with one copy per chunk, messages sorted by log time
  within each chunk, which gives log-time order overall.
* A file cut short or damaged (no summary or footer; indexed readers refuse it) is read
  up to the damage: chunks are checked against their size and CRC, and reading stops at
  the first record that does not fit in the file, reporting its byte offset.
"""

from __future__ import annotations

import mmap
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from tsjnet_ros.core.bag.problems import BagProblem

MAGIC = b"\x89MCAP0\r\n"
OP_FOOTER, OP_SCHEMA, OP_CHANNEL, OP_MESSAGE, OP_CHUNK = 0x02, 0x03, 0x04, 0x05, 0x06
OP_CHUNK_INDEX, OP_STATISTICS, OP_DATA_END = 0x08, 0x0B, 0x0F
_FOOTER = struct.Struct("<BQQQI")  # opcode, length, summary start, summary offset start, crc


class _Damaged(Exception):
    def __init__(self, offset: int, detail: str) -> None:
        super().__init__(detail)
        self.offset, self.detail = offset, detail


@dataclass(frozen=True)
class ScannedMessage:
    """One message record: channel id, log time, CDR bytes, offset of its (chunk) record."""

    channel_id: int
    log_time_ns: int
    data: memoryview
    offset: int


@dataclass
class ScanState:
    """Channels met so far (id -> (topic, schema name)) and the problems found."""

    channels: dict[int, tuple[str, str]] = field(default_factory=dict)
    schemas: dict[int, str] = field(default_factory=dict)
    problems: list[BagProblem] = field(default_factory=list)
    complete: bool = False  # True when the data section ended normally


@dataclass
class McapSummary:
    """What an intact file's summary section says: channels, message counts, chunk order."""

    channels: dict[int, tuple[str, str]]  # id -> (topic, schema name)
    counts: dict[int, int]  # channel id -> messages
    chunks_in_time_order: bool  # chunks in file order do not overlap in time


def read_summary(path: str | Path) -> McapSummary | None:
    """The summary of an MCAP file, or None when it has no valid footer and summary.

    With ``chunks_in_time_order``, reading front to back and sorting within each chunk
    yields log-time order.
    """
    path = Path(path)
    try:
        with path.open("rb") as handle:
            size = handle.seek(0, 2)
            if size < len(MAGIC) * 2 + _FOOTER.size:
                return None
            handle.seek(size - len(MAGIC) - _FOOTER.size)
            tail = handle.read(_FOOTER.size + len(MAGIC))
            if tail[-len(MAGIC):] != MAGIC:
                return None
            opcode, _, summary_start, _, _ = _FOOTER.unpack_from(tail, 0)
            if opcode != OP_FOOTER or not summary_start or summary_start > size:
                return None
            handle.seek(summary_start)
            summary = memoryview(handle.read(size - len(MAGIC) - _FOOTER.size - summary_start))
    except OSError:
        return None
    schemas: dict[int, str] = {}
    channels: dict[int, tuple[str, str]] = {}
    counts: dict[int, int] = {}
    chunks: list[tuple[int, int, int]] = []
    pos = 0
    try:
        while pos + 9 <= len(summary):
            opcode, length = struct.unpack_from("<BQ", summary, pos)
            body = summary[pos + 9 : pos + 9 + length]
            pos += 9 + length
            if opcode == OP_SCHEMA:
                schemas[struct.unpack_from("<H", body, 0)[0]] = _string(body, 2)[0]
            elif opcode == OP_CHANNEL:
                channel_id, schema_id = struct.unpack_from("<HH", body, 0)
                channels[channel_id] = (_string(body, 4)[0], schema_id)
            elif opcode == OP_CHUNK_INDEX:
                start, end, offset = struct.unpack_from("<QQQ", body, 0)
                chunks.append((offset, start, end))
            elif opcode == OP_STATISTICS:
                (map_length,) = struct.unpack_from("<I", body, 42)
                for k in range(map_length // 10):
                    cid, count = struct.unpack_from("<HQ", body, 46 + 10 * k)
                    counts[cid] = count
    except (struct.error, UnicodeDecodeError):
        return None
    chunks.sort()
    ordered = bool(chunks) and all(prev[2] <= cur[1] for prev, cur in zip(chunks, chunks[1:]))
    named = {cid: (topic, schemas.get(sid, "")) for cid, (topic, sid) in channels.items()}
    return McapSummary(named, counts, ordered)


def _decompress(data: memoryview, compression: str, size: int) -> memoryview:
    if compression == "":
        return data
    if compression == "zstd":
        import zstandard

        return memoryview(zstandard.ZstdDecompressor().decompress(data, max_output_size=size))
    if compression == "lz4":
        import lz4.frame

        return memoryview(lz4.frame.decompress(data))
    raise ValueError(f"unsupported chunk compression {compression!r}")


def _string(buf: memoryview, pos: int) -> tuple[str, int]:
    (n,) = struct.unpack_from("<I", buf, pos)
    end = pos + 4 + n
    if end > len(buf):
        raise struct.error("string runs past its record")
    return bytes(buf[pos + 4 : end]).decode("utf-8"), end


class McapScanner:
    """Iterates the messages of an MCAP file from the front (see module docstring).

    ``sort_chunks`` orders the messages inside each chunk by log time. After iteration,
    :attr:`state` holds the channels and the problems, each naming a byte offset.
    """

    def __init__(self, path: str | Path, sort_chunks: bool = True) -> None:
        self.path = Path(path)
        self.sort_chunks = sort_chunks
        self.state = ScanState()

    def messages(self) -> Iterator[ScannedMessage]:
        self.state = ScanState()
        with self.path.open("rb") as handle:
            size = handle.seek(0, 2)
            # memory-mapped: message data are views of the file, not copies
            mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
        try:
            yield from self._records(memoryview(mapped))
        except _Damaged as damage:
            self.state.problems.append(BagProblem(
                "truncated", f"{self.path.name}: {damage.detail}; reading stopped here, messages before it were kept",
                offset=damage.offset,
            ))

    def _records(self, buf: memoryview) -> Iterator[ScannedMessage]:
        size = len(buf)
        if bytes(buf[: len(MAGIC)]) != MAGIC:
            raise _Damaged(0, f"not an MCAP file (magic {bytes(buf[:8])!r})")
        offset = len(MAGIC)
        while True:
            if offset + 9 > size:
                raise _Damaged(offset, "file ends without the MCAP data-end record (truncated)")
            opcode, length = struct.unpack_from("<BQ", buf, offset)
            end = offset + 9 + length
            if end > size:
                raise _Damaged(offset, f"record 0x{opcode:02x} of {length} bytes runs past the end of the "
                               f"{size}-byte file (truncated)")
            if opcode in (OP_DATA_END, OP_FOOTER):
                self.state.complete = True
                return
            body = buf[offset + 9 : end]
            if opcode == OP_CHUNK:
                yield from self._chunk(body, offset)
            else:
                yield from self._record(opcode, body, offset)
            offset = end

    def _record(self, opcode: int, body: memoryview, offset: int) -> Iterator[ScannedMessage]:
        try:
            if opcode == OP_SCHEMA:
                (schema_id,) = struct.unpack_from("<H", body, 0)
                name, _ = _string(body, 2)
                self.state.schemas[schema_id] = name
            elif opcode == OP_CHANNEL:
                channel_id, schema_id = struct.unpack_from("<HH", body, 0)
                topic, _ = _string(body, 4)
                self.state.channels[channel_id] = (topic, self.state.schemas.get(schema_id, ""))
            elif opcode == OP_MESSAGE:
                channel_id, _, log_time, _ = struct.unpack_from("<HIQQ", body, 0)
                yield ScannedMessage(channel_id, log_time, body[22:], offset)
        except (struct.error, UnicodeDecodeError) as exc:
            raise _Damaged(offset, f"malformed record 0x{opcode:02x}: {exc}") from None

    def _chunk(self, body: memoryview, offset: int) -> Iterator[ScannedMessage]:
        try:
            _, _, uncompressed_size, crc = struct.unpack_from("<QQQI", body, 0)
            compression, pos = _string(body, 28)
            (records_size,) = struct.unpack_from("<Q", body, pos)
            records = body[pos + 8 : pos + 8 + records_size]
            if len(records) != records_size:
                raise struct.error("chunk records run past the chunk")
            data = _decompress(records, compression, uncompressed_size)
        except Exception as exc:  # a damaged chunk: skip it, its framing is still intact
            self.state.problems.append(BagProblem("corrupt", f"chunk cannot be read ({exc}); its messages were skipped", offset=offset))
            return
        if len(data) != uncompressed_size or (crc and zlib.crc32(data) != crc):
            self.state.problems.append(
                BagProblem("corrupt", "chunk fails its size or CRC check; its messages were skipped", offset=offset)
            )
            return
        found: list[ScannedMessage] = []
        pos = 0
        while pos < len(data):
            if pos + 9 > len(data):
                raise _Damaged(offset, "chunk ends inside a record header")
            opcode, length = struct.unpack_from("<BQ", data, pos)
            start, pos = pos + 9, pos + 9 + length
            if pos > len(data):
                raise _Damaged(offset, f"record 0x{opcode:02x} runs past the end of its chunk")
            found.extend(self._record(opcode, data[start:pos], offset))
        if self.sort_chunks:
            found.sort(key=lambda m: m.log_time_ns)  # stable: equal times keep file order
        yield from found
