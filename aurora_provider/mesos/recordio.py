"""RecordIO, the framing of Mesos's event streams: ``<decimal length>\\n<length bytes>``.

A stream arrives in chunks that need not align with records; ``Decoder`` buffers what
is incomplete and yields each whole record once.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

# A record longer than this is a broken stream, not a message: Mesos's own messages
# (a full OFFERS event of many agents) stay far below it.
MAX_RECORD_BYTES = 64 * 2**20


class RecordIOError(ValueError):
    """The stream is not RecordIO: a bad length line or an oversized record."""


def encode(message: dict[str, Any]) -> bytes:
    data = json.dumps(message, separators=(",", ":")).encode()
    return b"%d\n%s" % (len(data), data)


class Decoder:
    """Feed chunks, get whole records (bytes)."""

    def __init__(self, max_record: int = MAX_RECORD_BYTES) -> None:
        self._buffer = bytearray()
        self._need: int | None = None
        self._max = max_record

    def feed(self, chunk: bytes) -> Iterator[bytes]:
        self._buffer += chunk
        while True:
            if self._need is None:
                newline = self._buffer.find(b"\n")
                if newline < 0:
                    if len(self._buffer) > 20:
                        raise RecordIOError(
                            f"RecordIO: no length line in {bytes(self._buffer[:20])!r}")
                    return
                head = bytes(self._buffer[:newline]).strip()
                if not head.isdigit():
                    raise RecordIOError(f"RecordIO: bad length line {head[:20]!r}")
                self._need = int(head)
                if self._need > self._max:
                    raise RecordIOError(f"RecordIO: a record of {self._need} bytes is too long")
                del self._buffer[:newline + 1]
            if len(self._buffer) < self._need:
                return
            record = bytes(self._buffer[:self._need])
            del self._buffer[:self._need]
            self._need = None
            yield record

    def messages(self, chunk: bytes) -> Iterator[dict[str, Any]]:
        """Whole records decoded as JSON objects."""
        for record in self.feed(chunk):
            try:
                message = json.loads(record)
            except ValueError as e:
                raise RecordIOError(f"RecordIO: a record is not JSON ({e})") from e
            if not isinstance(message, dict):
                raise RecordIOError("RecordIO: a record is not a JSON object")
            yield message
