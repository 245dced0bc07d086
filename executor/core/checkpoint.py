"""Checkpoint streams: append-only, checksummed JSON lines, one stream per task.

Each record is one line ``<crc32 as 8 hex digits> <json>\\n``; the JSON carries ``n``, the
record's position in the stream, so records out of order are caught on replay. A runner
killed mid-write leaves a last line without its newline: that torn tail is ignored when
reading and cut off before the next runner appends. A *complete* line whose checksum,
position or content is wrong is corruption and is reported, never skipped silently.
What a record holds is ``records``'s business; this module only frames it.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from ..errors import CheckpointError, CorruptCheckpoint, InvalidRecord, TaskLocked
from .records import Record, from_json, to_json

LOCK_ATTEMPTS = 10


def encode(record: Record, n: int) -> bytes:
    """The line that stores ``record`` as the ``n``-th of its stream."""
    body = json.dumps({**to_json(record), "n": n}, separators=(",", ":"), sort_keys=True)
    data = body.encode()
    return b"%08x %s\n" % (zlib.crc32(data), data)


def _decode(line: bytes, where: str, expected_n: int) -> Record:
    crc, sep, body = line.partition(b" ")
    if not sep or len(crc) != 8:
        raise CorruptCheckpoint(f"{where}: malformed record (no checksum)")
    try:
        ok = int(crc, 16) == zlib.crc32(body)
    except ValueError:
        ok = False
    if not ok:
        raise CorruptCheckpoint(f"{where}: checksum mismatch")
    try:
        raw = json.loads(body)
    except ValueError as e:
        raise CorruptCheckpoint(f"{where}: not JSON ({e})") from e
    if not isinstance(raw, dict) or raw.get("n") != expected_n:
        got = raw.get("n") if isinstance(raw, dict) else None
        raise CorruptCheckpoint(f"{where}: record number {got}, expected {expected_n}")
    try:
        return from_json(raw)
    except InvalidRecord as e:
        raise CorruptCheckpoint(f"{where}: {e}") from e


class StreamScan(NamedTuple):
    records: list[Record]
    good_bytes: int  # length of the well-formed prefix (where appending resumes)
    torn: bool  # a partial last record was ignored
    error: CorruptCheckpoint | None  # the first corrupt record, if any


def scan(path: Path) -> StreamScan:
    """Read every good record; stop at the first corrupt one and say where it is."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return StreamScan([], 0, False, None)
    except OSError as e:
        raise CheckpointError(f"{path}: cannot read checkpoint ({e.strerror})") from e
    records: list[Record] = []
    offset = 0
    while offset < len(data):
        end = data.find(b"\n", offset)
        if end < 0:
            return StreamScan(records, offset, True, None)
        where = f"{path}: record {len(records) + 1} (byte {offset})"
        try:
            records.append(_decode(data[offset:end], where, len(records)))
        except CorruptCheckpoint as e:
            return StreamScan(records, offset, False, e)
        offset = end + 1
    return StreamScan(records, offset, False, None)


def read_records(path: Path) -> Iterator[Record]:
    """The records of a stream; raises ``CorruptCheckpoint`` at a corrupt one."""
    result = scan(path)
    yield from result.records
    if result.error is not None:
        raise result.error


class StreamWriter:
    """Appends records to a stream, after cutting off a torn tail."""

    def __init__(self, path: Path, good_bytes: int, next_n: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        if os.fstat(self._fd).st_size > good_bytes:
            os.ftruncate(self._fd, good_bytes)
        self.next_n = next_n
        self.path = path

    def append(self, record: Record) -> None:
        data = encode(record, self.next_n)
        written = os.write(self._fd, data)
        if written != len(data):
            raise CheckpointError(f"{self.path}: short write ({written} of {len(data)} bytes)")
        self.next_n += 1

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


class TaskLock:
    """An exclusive ``flock`` on the task's lock file; it dies with its holder."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._fd = -1

    def acquire(self) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o644)
        # Readers probe the lock with a brief shared lock (``is_locked``); retry a little so
        # such a probe is not mistaken for another runner.
        for attempt in range(LOCK_ATTEMPTS):
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError as e:
                if attempt == LOCK_ATTEMPTS - 1:
                    os.close(fd)
                    raise TaskLocked(f"{self._path}: another runner holds this task") from e
                time.sleep(0.01)
        os.ftruncate(fd, 0)
        os.write(fd, b"%d\n" % os.getpid())
        self._fd = fd

    def release(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def is_locked(path: Path) -> bool:
    """Whether a live process holds the lock at ``path``."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False
