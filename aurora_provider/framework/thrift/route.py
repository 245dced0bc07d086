"""``POST /api``: Aurora's Thrift endpoint, in front of the REST app (docs/thrift-api.md).

It is an ASGI layer rather than a FastAPI route because a Thrift call answers its own
authentication failures (``AUTH_FAILED`` in a ``Response``, which Aurora's clients read), and
its body is a Thrift message, not a JSON document for the OpenAPI description. The body is
bounded by the same ``--max-body-bytes`` as the REST API's. A replica that does not lead
never gets here: the daemon sends every call to the leader (307) as for REST.
"""

from __future__ import annotations

from types import SimpleNamespace

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from aurora_provider.api.errors import PayloadTooLarge
from aurora_provider.framework.http.deps import ApiServices
from aurora_provider.framework.http.limits import FLAG, read_bounded
from aurora_provider.framework.thrift import protocols
from aurora_provider.framework.thrift.processor import MalformedMessage, process

PATH = "/api"
# What the request-timing middleware labels these requests with (it reads scope["route"]).
_ROUTE = SimpleNamespace(path=PATH)


class ThriftEndpoint:
    """:param services: the scheduler's, as the REST routes get them.
    :param max_body_bytes: the largest message taken (answered 413 above it).
    """

    def __init__(self, app: ASGIApp, *, services: ApiServices, max_body_bytes: int) -> None:
        self._app = app
        self._services = services
        self._max = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") != PATH or scope["method"] != "POST":
            await self._app(scope, receive, send)
            return
        scope["route"] = _ROUTE
        headers = Headers(scope=scope)
        reader = protocols.for_request(headers.get("content-type"))
        if reader is None:
            await _plain(send, 415, f"Unsupported Content-Type: {headers.get('content-type')}"
                         " (expected application/vnd.apache.thrift.json or .binary)")
            return
        try:
            body = await read_bounded(receive, self._max)
        except PayloadTooLarge:
            await _plain(send, 413, f"Thrift message exceeds the limit of {self._max} bytes "
                         f"({FLAG})")
            return
        if body is None:  # the client went away
            return
        writer = protocols.for_answer(headers.get("accept"), reader)
        try:
            answer = await run_in_threadpool(process, body, reader, writer, self._services,
                                             headers.get("authorization"))
        except MalformedMessage as err:
            await _plain(send, 400, str(err))
            return
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", writer.media_type.encode()),
                                (b"content-length", str(len(answer)).encode())]})
        await send({"type": "http.response.body", "body": answer})

async def _plain(send: Send, status: int, text: str) -> None:
    body = text.encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
