"""Reading what is left of a damaged MCAP file, record by record, with the ``mcap`` library.

A recording cut short or a truncated copy has no summary and no footer: ``mcap``'s indexed
reader refuses it and its stream reader stops with an exception at the first damage. The
records are still read here by the library's :class:`~mcap.stream_reader.StreamReader`,
taking chunks whole so that each can be checked first: a chunk that fails its size or CRC
check is skipped, and reading stops at the first record that runs past the end of the
file; both are reported with their byte offset and the messages before them are kept.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from mcap.exceptions import EndOfFile, InvalidMagic, McapError
from mcap.records import Channel, Chunk, DataEnd, Footer, Message, Schema
from mcap.stream_reader import StreamReader, breakup_chunk

from tsjnet_ros.core.bag.problems import BagError, BagProblem

_MAGIC_SIZE = 8


@dataclass(frozen=True)
class SalvagedMessage:
    """One message: channel id, log time, CDR bytes, byte offset of its (chunk) record."""

    channel_id: int
    log_time_ns: int
    data: bytes
    offset: int


@dataclass
class SalvageState:
    """Channels met so far (id -> (topic, schema name)) and the problems found."""

    channels: dict[int, tuple[str, str]] = field(default_factory=dict)
    schemas: dict[int, str] = field(default_factory=dict)
    problems: list[BagProblem] = field(default_factory=list)
    complete: bool = False  # True when the data section ended normally


class McapSalvage:
    """Iterates the readable messages of an MCAP file in file order (see module docstring).

    After iteration, :attr:`state` holds the channels and the problems. A file that is no
    MCAP at all raises :class:`BagError`.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.state = SalvageState()

    def messages(self) -> Iterator[SalvagedMessage]:
        self.state = SalvageState()
        with self.path.open('rb') as handle:
            size = handle.seek(0, 2)
            handle.seek(0)
            records = StreamReader(handle, emit_chunks=True, record_size_limit=None).records
            while True:
                offset = max(handle.tell(), _MAGIC_SIZE)
                try:
                    record = next(records)
                except InvalidMagic:
                    raise BagError(
                        f'{self.path}: not an MCAP file (it does not start with the MCAP magic)'
                    ) from None
                except StopIteration:
                    return
                except (EndOfFile, McapError, struct.error, ValueError, UnicodeDecodeError) as exc:
                    if handle.tell() >= size:
                        self._stop(
                            offset,
                            f'the record at byte {offset} runs past the end of the '
                            f'{size}-byte file (truncated)',
                        )
                    else:
                        self._stop(offset, f'malformed record at byte {offset}: {exc}')
                    return
                if isinstance(record, (DataEnd, Footer)):
                    self.state.complete = True
                    return
                if isinstance(record, Chunk):
                    yield from self._chunk(record, offset)
                else:
                    yield from self._record(record, offset)

    def _stop(self, offset: int, detail: str) -> None:
        self.state.problems.append(
            BagProblem(
                'truncated',
                f'{self.path.name}: {detail}; reading stopped here, messages before it were kept',
                offset=offset,
            )
        )

    def _record(self, record: object, offset: int) -> Iterator[SalvagedMessage]:
        if isinstance(record, Schema):
            self.state.schemas[record.id] = record.name
        elif isinstance(record, Channel):
            self.state.channels[record.id] = (
                record.topic,
                self.state.schemas.get(record.schema_id, ''),
            )
        elif isinstance(record, Message):
            yield SalvagedMessage(record.channel_id, record.log_time, record.data, offset)

    def _chunk(self, chunk: Chunk, offset: int) -> Iterator[SalvagedMessage]:
        try:
            if not chunk.compression and len(chunk.data) != chunk.uncompressed_size:
                raise ValueError(
                    f'{len(chunk.data)} bytes where the chunk states {chunk.uncompressed_size}'
                )
            inner = breakup_chunk(chunk, validate_crc=True)
        except Exception as exc:  # noqa: BLE001 - any damage inside: skip the chunk, its framing is intact
            self.state.problems.append(
                BagProblem(
                    'corrupt',
                    f'chunk fails its size or CRC check ({exc}); its messages were skipped',
                    offset=offset,
                )
            )
            return
        for record in inner:
            yield from self._record(record, offset)
