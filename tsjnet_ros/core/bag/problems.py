"""Errors and recorded problems of bag processing.

A :class:`BagError` stops the command (missing topic, wrong type, nothing to pair). A
:class:`BagProblem` is recorded and processing goes on (one undecodable message, a bag
truncated after some good data): what was read is kept and every problem is listed in
the results, so nothing is lost silently.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


class BagError(ValueError):
    """The bag cannot be used as asked; the message names the topic, type or byte offset."""


@dataclass(frozen=True)
class BagProblem:
    """One non-fatal problem: what happened, where in the bag, and its effect.

    ``kind`` is a short tag (``truncated``, ``corrupt``, ``undecodable``, ``invalid_image``,
    ``out_of_order``, ``count_mismatch``, ``fusion_failed``, ...). ``topic``, ``index`` (message
    number on that topic, from 0), ``log_time_ns`` and ``offset`` (byte offset in the storage
    file) are filled in where known.
    """

    kind: str
    detail: str
    topic: str | None = None
    index: int | None = None
    log_time_ns: int | None = None
    offset: int | None = None

    def __str__(self) -> str:
        where = []
        if self.topic is not None:
            where.append(self.topic)
        if self.index is not None:
            where.append(f'message {self.index}')
        if self.log_time_ns is not None:
            where.append(f't={self.log_time_ns / 1e9:.6f}s')
        if self.offset is not None:
            where.append(f'byte offset {self.offset}')
        prefix = f'{", ".join(where)}: ' if where else ''
        return f'[{self.kind}] {prefix}{self.detail}'

    def as_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}
