"""Byte ranges, tails and follows, binary detection and directory listings."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from observer_plugin.observer import files
from observer_plugin.observer.errors import BadRequest

pytestmark = pytest.mark.unit


def _read(path: Path, offset: int | None, length: int) -> files.Chunk:
    with open(path, "rb") as f:
        return files.read_text(f, offset, length)


def test_no_offset_is_the_tail_and_following_asks_from_offset_plus_length(
    tmp_path: Path,
) -> None:
    log = tmp_path / "stdout"
    log.write_bytes(b"0123456789")
    tail = _read(log, None, 4)
    assert (tail.data, tail.offset, tail.length, tail.size) == ("6789", 6, 4, 10)
    assert _read(log, None, 100) == files.Chunk("0123456789", 0, 10, 10)
    nothing_new = _read(log, tail.offset + tail.length, 4)
    assert (nothing_new.data, nothing_new.offset, nothing_new.length) == ("", 10, 0)
    with open(log, "ab") as f:
        f.write(b"abc")
    more = _read(log, 10, 64)
    assert (more.data, more.offset, more.length, more.size) == ("abc", 10, 3, 13)
    assert _read(log, 2, 3).data == "234"


def test_a_follower_past_the_end_of_a_truncated_log_starts_over(tmp_path: Path) -> None:
    log = tmp_path / "stdout"
    log.write_bytes(b"new")
    chunk = _read(log, 500, 64)
    assert (chunk.data, chunk.offset, chunk.size) == ("new", 0, 3)


def test_a_range_cutting_a_character_still_reads(tmp_path: Path) -> None:
    log = tmp_path / "stdout"
    log.write_bytes("é!".encode())
    assert _read(log, 1, 10).data == "\ufffd!"


def test_ranges_are_checked() -> None:
    assert files.check_range(None, None) == (None, files.DEFAULT_LENGTH)
    assert files.check_range(5, 10) == (5, 10)
    for offset, length in ((-1, None), (None, -1), (None, files.MAX_LENGTH + 1)):
        with pytest.raises(BadRequest):
            files.check_range(offset, length)


@pytest.mark.parametrize(("content", "binary"), [
    (b"plain text\n", False),
    ("UTF-8 text: é ü 日本\n".encode(), False),
    (b"", False),
    (b"a\x00b", True),
    ("latin-1: é".encode("latin-1"), True),
    (b"\xff\xfe\xfa", True),
    # A character cut by the 8 KiB boundary is text; a NUL after 8 KiB is not looked at.
    (b"a" * 8191 + "é".encode() + b"\x00", False),
])  # fmt: skip
def test_binary_files_are_told_from_text(tmp_path: Path, content: bytes, binary: bool) -> None:
    path = tmp_path / "f"
    path.write_bytes(content)
    with open(path, "rb") as f:
        assert files.is_binary(f) is binary


def test_stream_yields_the_whole_file_in_chunks_and_closes_it(tmp_path: Path) -> None:
    path = tmp_path / "big"
    data = os.urandom(files.STREAM_CHUNK * 2 + 7)
    path.write_bytes(data)
    f = open(path, "rb")  # noqa: SIM115 - the stream closes it
    chunks = list(files.stream(f))
    assert b"".join(chunks) == data and len(chunks) == 3 and f.closed


def test_listing_puts_directories_first_and_describes_links_out_by_the_link(
    tmp_path: Path,
) -> None:
    box = tmp_path / "box"
    (box / "zdir").mkdir(parents=True)
    (box / "a.txt").write_text("12345")
    (box / "out").symlink_to("/etc")
    (box / "in").symlink_to(box / "zdir")
    entries = files.list_dir(box, str(box))
    assert [(e.name, e.is_dir) for e in entries] == [
        ("in", True), ("zdir", True), ("a.txt", False), ("out", False)]
    assert next(e for e in entries if e.name == "a.txt").size == 5
