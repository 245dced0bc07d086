"""Bounded input, authentication first: an ASGI middleware in front of the routes.

FastAPI reads and parses a request's whole body before it solves any dependency, so the
token check of a route comes too late to spare the scheduler an unauthenticated body. Here,
a request to a route that carries a body (a ``Content-Length`` above 0, or chunked) is
answered:

* 401 when its ``Authorization: Bearer <token>`` is missing or unknown, before a byte of
  the body is read (the server does not read what the app does not ask for);
* 413 when its ``Content-Length`` is above the limit, before reading, or when a chunked
  body grows past the limit while it is read (at most the limit is held);
* otherwise the body, read up to the limit, is handed to the app.

Requests without a body go on to the routes, which check their token themselves; so do
requests no route takes (the router answers 404 or 405 without reading their body).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from starlette.datastructures import Headers
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aurora_provider.api.errors import ApiError, InvalidRequest, PayloadTooLarge

FLAG = "--max-body-bytes"


class RequestLimits:
    """:param authenticate: checks an ``Authorization`` header (None when absent), raising
        ``Unauthorized``.
    :param max_body_bytes: the largest body taken.
    :param routes: the app's routes (a request none of them takes is not checked here).
    """

    def __init__(self, app: ASGIApp, *, authenticate: Callable[[str | None], object],
                 max_body_bytes: int, routes: Sequence[BaseRoute]) -> None:
        self._app = app
        self._authenticate = authenticate
        self._max = max_body_bytes
        self._routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        body: bytes | None = None
        try:
            declared = _content_length(headers.get("content-length"))
            checked = bool(chunked or declared) and self._routed(scope)
            if checked:
                self._authenticate(headers.get("authorization"))
                if declared is not None and declared > self._max:
                    raise PayloadTooLarge(f"request body of {declared} bytes exceeds the "
                                          f"limit of {self._max} bytes ({FLAG})")
                body = await read_bounded(receive, self._max)
        except ApiError as e:
            await _answer(send, e)
            return
        if not checked:
            await self._app(scope, receive, send)
        elif body is not None:  # else the client went away
            await self._app(scope, _replay(body, receive), send)

    def _routed(self, scope: Scope) -> bool:
        return any(route.matches(scope)[0] is Match.FULL for route in self._routes)

async def read_bounded(receive: Receive, limit: int) -> bytes | None:
    """The whole request body, or None when the client went away; past ``limit`` bytes a
    :class:`PayloadTooLarge` (what is read stops there: the rest is never buffered)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"request body exceeds the limit of {limit} bytes ({FLAG})")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _content_length(value: str | None) -> int | None:
    if value is None:
        return None
    if not value.strip().isdigit():
        raise InvalidRequest(f"Content-Length {value!r} is not a number of bytes")
    return int(value)


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body read already, as one message; then the client's own (its disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


async def _answer(send: Send, error: ApiError) -> None:
    body = json.dumps({"code": error.code, "message": error.message},
                      separators=(",", ":")).encode()
    await send({"type": "http.response.start", "status": error.status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
