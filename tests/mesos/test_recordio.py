"""RecordIO framing: records split anywhere across chunks, bad length lines, oversized records."""

from __future__ import annotations

import json
from typing import Any

import pytest

from aurora_provider.mesos.recordio import Decoder, RecordIOError, encode

pytestmark = pytest.mark.unit

EVENTS: list[dict[str, Any]] = [
    {"type": "SUBSCRIBED", "subscribed": {"framework_id": {"value": "fw-1"}}},
    {"type": "HEARTBEAT"},
    {"type": "MESSAGE", "message": {"data": "aGVsbG8g4pyT"}, "text": "héllo ✓"},
]


def test_encode_writes_the_byte_length_then_the_json() -> None:
    record = encode({"type": "HEARTBEAT"})
    assert record == b'20\n{"type":"HEARTBEAT"}'
    unicode = encode({"a": "é"})
    length, _, data = unicode.partition(b"\n")
    assert int(length) == len(data) == len(json.dumps({"a": "é"}, separators=(",", ":")))


def test_whole_records_come_out_once_in_order() -> None:
    stream = b"".join(encode(e) for e in EVENTS)
    assert list(Decoder().messages(stream)) == EVENTS


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64])
def test_records_split_across_chunks_of_any_size(size: int) -> None:
    stream = b"".join(encode(e) for e in EVENTS)
    decoder = Decoder()
    got: list[dict[str, Any]] = []
    for start in range(0, len(stream), size):
        got.extend(decoder.messages(stream[start:start + size]))
    assert got == EVENTS


def test_a_partial_record_waits_for_the_rest() -> None:
    record = encode(EVENTS[0])
    decoder = Decoder()
    assert list(decoder.messages(record[:-1])) == []
    assert list(decoder.messages(record[-1:])) == [EVENTS[0]]


@pytest.mark.parametrize("stream, problem", [
    (b"12x\n{}", "bad length line"),
    (b"-2\n{}", "bad length line"),
    (b"\n{}", "bad length line"),
    (b"123456789012345678901234", "no length line"),
])
def test_a_bad_length_line_is_an_error(stream: bytes, problem: str) -> None:
    with pytest.raises(RecordIOError, match=problem):
        list(Decoder().feed(stream))


def test_an_oversized_record_is_refused_before_it_is_buffered() -> None:
    decoder = Decoder(max_record=100)
    with pytest.raises(RecordIOError, match="101 bytes is too long"):
        list(decoder.feed(b"101\n"))
    assert list(Decoder(max_record=100).feed(b"2\n{}")) == [b"{}"]


@pytest.mark.parametrize("record, problem", [
    (b"3\n{x}", "not JSON"),
    (b"2\n[]", "not a JSON object"),
])
def test_a_record_that_is_not_a_json_object_is_an_error(record: bytes, problem: str) -> None:
    with pytest.raises(RecordIOError, match=problem):
        list(Decoder().messages(record))
