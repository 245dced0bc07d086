"""What the scheduler and executor endpoints check alike, with Mesos's status codes and
texts: the method, the media types, the JSON body against the v1 schema.

``read_call`` (``check_call`` for a body already read) returns the normalized call or raises
``Refusal`` carrying the response the real endpoint would give (400 for a body it cannot
read, 415, 405).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response

from tests.mesos_cluster import schema
from tests.mesos_cluster.wire import Json

if TYPE_CHECKING:
    from tests.mesos_cluster.actor import Actor

APPLICATION_JSON = "application/json"
APPLICATION_PROTOBUF = "application/x-protobuf"
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]


class Refusal(Exception):
    """An HTTP error answer, raised from deep in a handler."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None,
                 body: Json | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}
        self.body = body  # the JSON call, when it could be read

    def response(self) -> Response:
        return PlainTextResponse(self.message, self.status, headers=self.headers)


class Incoming(Protocol):
    """What the checks read of a request (a Starlette ``Request`` or the master's own)."""

    @property
    def method(self) -> str: ...

    @property
    def headers(self) -> Mapping[str, str]: ...


async def read_call(request: Request, message: str) -> Json:
    """The POSTed call as ``message`` (``scheduler.Call`` / ``executor.Call``), normalized."""
    return check_call(request, await request.body(), message)


def check_call(request: Incoming, raw: bytes, message: str) -> Json:
    """``read_call`` of a request whose body ``raw`` has been read."""
    if request.method != "POST":
        raise Refusal(405, f"Expecting one of {{ 'POST' }}, but received '{request.method}'",
                      {"Allow": "POST"})
    content_type = request.headers.get("content-type")
    if content_type is None:
        raise Refusal(400, "Expecting 'Content-Type' to be present")
    if content_type == APPLICATION_PROTOBUF:
        raise Refusal(415, "The test Mesos cluster speaks JSON only: send 'Content-Type: "
                      f"{APPLICATION_JSON}'")
    if content_type != APPLICATION_JSON:  # Mesos compares the header exactly
        raise Refusal(415, f"Expecting 'Content-Type' of {APPLICATION_JSON} or "
                      f"{APPLICATION_PROTOBUF}")
    try:
        body = json.loads(raw)
    except ValueError as e:
        raise Refusal(400, f"Failed to parse body into JSON: {e}") from e
    if not isinstance(body, dict):
        raise Refusal(400, "Failed to convert JSON into Call protobuf: Expecting a JSON object")
    try:
        return schema.check(message, body, "call")
    except schema.SchemaError as e:
        raise Refusal(400, f"Failed to convert JSON into Call protobuf: {e}", body=body) from e


def accepts_json(request: Incoming) -> bool:
    """Mesos's acceptsMediaType(application/json): no Accept header accepts anything."""
    accept = request.headers.get("accept")
    if accept is None:
        return True
    for item in accept.split(","):
        media, *params = (p.strip() for p in item.split(";"))
        quality = next((p[2:] for p in params if p.startswith("q=")), "1")
        try:
            if float(quality) <= 0:
                continue
        except ValueError:
            continue
        if media in ("*/*", "application/*", APPLICATION_JSON):
            return True
    return False


def require_json_accept(request: Incoming) -> None:
    if not accepts_json(request):
        raise Refusal(406, f"Expecting 'Accept' to allow '{APPLICATION_PROTOBUF}' or "
                      f"'{APPLICATION_JSON}' (the test Mesos cluster streams JSON only)")


def basic_principal(request: Incoming) -> tuple[str, str] | None:
    """The (principal, secret) of an ``Authorization: Basic`` header, if any."""
    header = request.headers.get("authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        principal, _, secret = base64.b64decode(encoded.strip()).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return principal, secret


def unexpected(actor: Actor, path: str, error: Exception) -> Response:
    """The answer to an exception that is not a refusal: a caller that went away mid-request
    (it was killed) is no failure; anything else is a bug of the test cluster, recorded so
    that it cannot pass unnoticed (``MesosCluster.stop`` raises it)."""
    if isinstance(error, ClientDisconnect):
        return PlainTextResponse("client disconnected", 499)
    actor.record(f"{path} failed: {error!r}", error)
    return PlainTextResponse(f"test Mesos cluster failure: {error!r}", 500)
