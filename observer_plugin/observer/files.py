"""Reading a sandbox's files: byte ranges (log tails), binary detection, listings, streams.

Offsets and lengths are bytes. A read with no offset is the tail: the last ``length``
bytes. An offset past the end of a file that shrank (a log rotated by copy-and-truncate)
starts over at 0, as ``tail -F`` does. Text is decoded as UTF-8 with replacement, so a range
that cuts a character in two still reads; a *file* is binary when its first 8 KiB hold a NUL
byte or are not UTF-8, and a binary file is never rendered, only downloaded.
"""

from __future__ import annotations

import codecs
import contextlib
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from .errors import BadRequest

DEFAULT_LENGTH = 64 * 1024
MAX_LENGTH = 4 * 1024 * 1024  # one JSON answer; larger files are downloaded
SNIFF_BYTES = 8192
STREAM_CHUNK = 256 * 1024


@dataclass(frozen=True)
class Chunk:
    data: str
    offset: int
    length: int  # bytes read from ``offset``
    size: int  # the file's size when read

    def as_json(self) -> dict[str, object]:
        return {"data": self.data, "offset": self.offset, "length": self.length,
                "size": self.size}  # fmt: skip


def check_range(offset: int | None, length: int | None) -> tuple[int | None, int]:
    """``offset`` and ``length`` checked (a 400 naming the bad one); the default length."""
    if offset is not None and offset < 0:
        raise BadRequest(f"offset={offset}: must be 0 or more")
    if length is None:
        return offset, DEFAULT_LENGTH
    if not 0 <= length <= MAX_LENGTH:
        raise BadRequest(f"length={length}: must be between 0 and {MAX_LENGTH}")
    return offset, length


def size_of(f: BinaryIO) -> int:
    return os.fstat(f.fileno()).st_size


def read_range(f: BinaryIO, offset: int | None, length: int) -> tuple[bytes, int, int]:
    """The bytes at ``offset`` (the tail when None), the offset used, the file's size."""
    size = size_of(f)
    if offset is None:
        offset = max(0, size - length)
    elif offset > size:
        offset = 0  # the file shrank under a follower: it was truncated, start over
    f.seek(offset)
    data = f.read(min(length, max(0, size - offset)))
    return data, offset, size


def read_text(f: BinaryIO, offset: int | None, length: int) -> Chunk:
    data, offset, size = read_range(f, offset, length)
    return Chunk(data.decode("utf-8", errors="replace"), offset, len(data), size)


def is_binary(f: BinaryIO) -> bool:
    """A NUL byte in the first 8 KiB, or bytes there that are not UTF-8."""
    f.seek(0)
    head = f.read(SNIFF_BYTES)
    if b"\x00" in head:
        return True
    at_end = len(head) < SNIFF_BYTES
    try:
        # A character cut by the 8 KiB boundary is not an error unless the file ends there.
        codecs.getincrementaldecoder("utf-8")().decode(head, final=at_end)
    except UnicodeDecodeError:
        return True
    return False


def stream(f: BinaryIO) -> Iterator[bytes]:
    """The file from its start in chunks, closed at the end (a download never loads it whole)."""
    try:
        f.seek(0)
        while chunk := f.read(STREAM_CHUNK):
            yield chunk
    finally:
        f.close()


@dataclass(frozen=True)
class Entry:
    name: str
    is_dir: bool
    size: int
    mtime: float

    def as_json(self) -> dict[str, object]:
        return {"name": self.name, "is_dir": self.is_dir, "size": self.size,
                "mtime": self.mtime}  # fmt: skip


def list_dir(directory: Path, sandbox_real: str) -> list[Entry]:
    """Directories first, then files, by name. A symlink is described by its target only when
    the target is inside the sandbox (else by the link itself: nothing outside is shown)."""
    entries: list[Entry] = []
    try:
        scan = list(os.scandir(directory))
    except NotADirectoryError as e:
        raise BadRequest(f"{directory.name}: not a directory") from e
    for entry in scan:
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue  # removed meanwhile
        if stat.S_ISLNK(st.st_mode):
            target = os.path.realpath(entry.path)
            if target == sandbox_real or target.startswith(sandbox_real.rstrip("/") + "/"):
                with contextlib.suppress(OSError):  # dangling: the link itself is shown
                    st = os.stat(target)
        entries.append(Entry(entry.name, stat.S_ISDIR(st.st_mode), st.st_size, st.st_mtime))
    entries.sort(key=lambda e: (not e.is_dir, e.name))
    return entries

