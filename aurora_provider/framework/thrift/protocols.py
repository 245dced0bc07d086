"""Which Thrift protocol a request speaks, by its media types, as Aurora's scheduler chose.

Aurora read a request by its ``Content-Type``: TBinary for Thrift's registered binary type,
TJSON for the JSON types and for none at all; any other type was refused (415). It answered
by ``Accept`` (TBinary only when asked for). One difference, on purpose: with no ``Accept``
naming a Thrift type, the answer is in the request's own protocol (Aurora answered TJSON),
so a TBinary client that forgets ``Accept`` is not sent JSON it cannot read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from thrift.protocol.TBinaryProtocol import TBinaryProtocol
from thrift.protocol.TJSONProtocol import TJSONProtocol
from thrift.protocol.TProtocol import TProtocolBase
from thrift.transport.TTransport import TTransportBase


@dataclass(frozen=True)
class Protocol:
    name: str
    media_type: str  # what the answer's Content-Type says
    make: Callable[[TTransportBase], TProtocolBase]


TJSON = Protocol("TJSON", "application/vnd.apache.thrift.json", TJSONProtocol)
TBINARY = Protocol("TBinary", "application/vnd.apache.thrift.binary", TBinaryProtocol)

_BY_MEDIA_TYPE = {
    "application/vnd.apache.thrift.json": TJSON,
    "application/vnd.apache.thrift.binary": TBINARY,
    # Aurora's older clients sent these with TJSON bodies.
    "application/x-thrift": TJSON,
    "application/json": TJSON,
}
DEFAULT = TJSON  # a request without Content-Type (curl) is TJSON, as Aurora read it


def _media_type(header: str) -> str:
    return header.split(";", 1)[0].strip().lower()


def for_request(content_type: str | None) -> Protocol | None:
    """The protocol of the body; None when its type is not one Aurora read."""
    if content_type is None or not content_type.strip():
        return DEFAULT
    return _BY_MEDIA_TYPE.get(_media_type(content_type))


def for_answer(accept: str | None, request: Protocol) -> Protocol:
    if accept:
        for part in accept.split(","):
            chosen = _BY_MEDIA_TYPE.get(_media_type(part))
            if chosen is not None:
                return chosen
    return request
