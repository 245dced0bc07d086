"""Checkpoint streams: append-only, checksummed JSON lines, one stream per task.

Each record is one line ``<crc32 as 8 hex digits> <json>\\n``; the JSON carries ``n``, the
record's position in the stream, so records out of order are caught on replay. A runner
killed mid-write leaves a last line without its newline: that torn tail is ignored when
reading and cut off before the next runner appends. A *complete* line whose checksum or
position is wrong is corruption and is reported, never skipped silently.

Files of a task, under ``<checkpoint_root>/<task_id>/``: ``runner.ckpt`` (the stream),
``task.json`` (the bound task, to resume from), ``lock`` (held by the live runner),
``exit/<process>.<run>`` (exit codes written by the process wrapper) and ``resources.json``
(the latest resource samples, rewritten in place).
"""

from __future__ import annotations

import fcntl
import json
import os
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

from .errors import CheckpointError, CorruptCheckpoint, TaskLocked

Record = dict[str, Any]
LOCK_ATTEMPTS = 10


class TaskPaths(NamedTuple):
    """Where a task's files live."""

    root: Path
    task_id: str

    @property
    def dir(self) -> Path:
        return self.root / self.task_id

    @property
    def stream(self) -> Path:
        return self.dir / "runner.ckpt"

    @property
    def task_json(self) -> Path:
        return self.dir / "task.json"

    @property
    def lock(self) -> Path:
        return self.dir / "lock"

    @property
    def resources(self) -> Path:
        return self.dir / "resources.json"

    @property
    def runner_log(self) -> Path:
        return self.dir / "runner.log"

    def exit_file(self, process: str, run: int) -> Path:
        return self.dir / "exit" / f"{process}.{run}"


def encode(record: Record) -> bytes:
    body = json.dumps(record, separators=(",", ":"), sort_keys=True).encode()
    return b"%08x %s\n" % (zlib.crc32(body), body)


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
        record = json.loads(body)
    except ValueError as e:
        raise CorruptCheckpoint(f"{where}: not JSON ({e})") from e
    if not isinstance(record, dict) or record.get("n") != expected_n:
        got = record.get("n") if isinstance(record, dict) else None
        raise CorruptCheckpoint(f"{where}: record number {got}, expected {expected_n}")
    return record


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

    def append(self, record: Record) -> Record:
        record = {**record, "n": self.next_n}
        data = encode(record)
        written = os.write(self._fd, data)
        if written != len(data):
            raise CheckpointError(f"{self.path}: short write ({written} of {len(data)} bytes)")
        self.next_n += 1
        return record

    def touch(self) -> None:
        os.utime(self._fd)

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


def write_json_atomic(path: Path, value: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(value, sort_keys=True))
    os.replace(tmp, path)
