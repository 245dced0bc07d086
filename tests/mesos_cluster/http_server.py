"""The master's HTTP/1.1 server: calls handled as they arrive, answers in order, pipelining.

A framework sends the master thousands of small calls, pipelined on one connection as
Mesos's own scheduler library does. Behind uvicorn each was a task of its own, answered by
a write of its own, with the loop turning in between; here every request that arrived in
one read is handled at once, in order, and their answers leave in one write, as
libprocess's HTTP proxy answers a pipeline in order. What a request gets is still decided
by the handlers: ``direct`` ones (the scheduler API) are called at once and answer a
Starlette ``Response`` (a ``StreamingResponse`` for a subscription, whose chunks follow as
they come); every other path goes to the ASGI ``app`` (``/master/state``, ``/redirect``...),
whose answer the server buffers. ``stop(abort=True)`` drops every connection at once, as
the death of the process would.
"""

from __future__ import annotations

import asyncio
import contextlib
import http
import logging
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from starlette.responses import Response, StreamingResponse
from starlette.types import ASGIApp, Message

from tests.mesos_cluster.actor import Actor, bind_socket

log = logging.getLogger(__name__)

MAX_HEAD = 64 * 1024  # a request line and headers longer than this are refused
PHRASES = {s.value: s.phrase for s in http.HTTPStatus}


@dataclass
class RawRequest:
    """One request as read: ``headers`` keyed by lower-case name."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    content: bytes
    version: str = "HTTP/1.1"
    client: tuple[str, int] | None = None
    server: tuple[str, int] | None = None

    @property
    def keep_alive(self) -> bool:
        connection = self.headers.get("connection", "").lower()
        if self.version == "HTTP/1.0":
            return connection == "keep-alive"
        return connection != "close"


Direct = Callable[[RawRequest], Response]


class BadRequest(Exception):
    """What cannot be read as HTTP/1.1: answered 400 (or 431), then the connection closes."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class _Parser:
    """Requests out of the bytes of one connection, as they complete."""

    buffer: bytes = b""
    ready: deque[RawRequest] = field(default_factory=deque)

    def feed(self, data: bytes) -> None:
        buffer = self.buffer + data if self.buffer else data
        at = 0
        while True:
            parsed = _parse_one(buffer, at)
            if parsed is None:
                break
            request, at = parsed
            self.ready.append(request)
        if at == 0 and len(buffer) > MAX_HEAD and buffer.find(b"\r\n\r\n") < 0:
            raise BadRequest("Request header fields too large", 431)
        self.buffer = buffer[at:]


def _parse_one(buffer: bytes, at: int) -> tuple[RawRequest, int] | None:
    end = buffer.find(b"\r\n\r\n", at)
    if end < 0:
        return None
    lines = buffer[at:end].decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise BadRequest(f"Malformed request line {lines[0][:80]!r}")
    method, target, version = parts
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip():
            raise BadRequest(f"Malformed header {line[:80]!r}")
        key = name.lower()
        headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
    start = end + 4
    if "chunked" in headers.get("transfer-encoding", "").lower():
        chunked = _chunked_body(buffer, start)
        if chunked is None:
            return None
        content, start = chunked
    else:
        try:
            length = int(headers.get("content-length", "0"))
        except ValueError:
            raise BadRequest("Malformed Content-Length") from None
        if length < 0:
            raise BadRequest("Malformed Content-Length")
        if len(buffer) < start + length:
            return None
        content, start = buffer[start:start + length], start + length
    url = urlsplit(target)
    return RawRequest(method, url.path or "/", url.query, headers, content, version), start


def _chunked_body(buffer: bytes, start: int) -> tuple[bytes, int] | None:
    parts: list[bytes] = []
    while True:
        line_end = buffer.find(b"\r\n", start)
        if line_end < 0:
            return None
        try:
            size = int(buffer[start:line_end].split(b";")[0].strip(), 16)
        except ValueError:
            raise BadRequest("Malformed chunk size") from None
        start = line_end + 2
        if size == 0:
            end = buffer.find(b"\r\n\r\n", start - 2)
            return None if end < 0 else (b"".join(parts), end + 4)
        if len(buffer) < start + size + 2:
            return None
        parts.append(buffer[start:start + size])
        start += size + 2


def head(status: int, headers: list[tuple[bytes, bytes]]) -> bytes:
    lines = [b"HTTP/1.1 %d %s\r\n" % (status, PHRASES.get(status, "Unknown").encode())]
    lines.extend(b"%s: %s\r\n" % (k, v) for k, v in headers)
    lines.append(b"\r\n")
    return b"".join(lines)


class _Connection(asyncio.Protocol):
    def __init__(self, server: PipelinedHttpServer) -> None:
        self._server = server
        self._parser = _Parser()
        self._transport: asyncio.Transport | None = None
        self._out: list[bytes] = []
        self._busy: asyncio.Task[None] | None = None  # an ASGI answer or an event stream
        self._closing = False
        self._paused = False
        self._bad: BadRequest | None = None  # what could not be read, once answered: close
        self._eof = False  # the peer will send nothing more

    # -- the transport's side -----------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._server.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self._server.connections.discard(self)
        self._transport = None
        if self._busy is not None:
            self._busy.cancel()

    def data_received(self, data: bytes) -> None:
        if self._closing or self._bad is not None:
            return
        try:
            self._parser.feed(data)
        except BadRequest as e:  # answered after the requests before it
            self._bad = e
        self._serve()

    def eof_received(self) -> bool:
        """The peer sent all it will: answer what it sent, then close."""
        self._eof = True
        self._serve()
        return True

    def pause_writing(self) -> None:  # the peer reads slower than we answer: wait for it
        self._paused = True
        if self._transport is not None:
            self._transport.pause_reading()

    def resume_writing(self) -> None:
        self._paused = False
        if self._transport is not None and not self._closing:
            self._transport.resume_reading()
        self._serve()

    def abort(self) -> None:
        if self._transport is not None:
            self._transport.abort()

    def close(self) -> None:
        self._closing = True
        if self._busy is not None:
            self._busy.cancel()
        if self._transport is not None:
            self._transport.close()

    # -- answering, in order -------------------------------------------------------------

    def _serve(self) -> None:
        """Answer the requests read so far, in order, until one needs to wait."""
        ready = self._parser.ready
        while ready and self._busy is None and not self._closing and not self._paused:
            request = ready.popleft()
            transport = self._transport
            if transport is not None:
                request.client = transport.get_extra_info("peername")
                request.server = transport.get_extra_info("sockname")
            direct = self._server.direct.get(request.path)
            if direct is None:
                self._busy = self._server.actor.spawn(self._through_app(request))
                break
            self._respond(request, direct(request))
        if not ready and self._busy is None and not self._closing:
            if self._bad is not None:
                self._answer(_plain(self._bad.status, str(self._bad)), keep_alive=False)
            elif self._eof:
                self._flush()
                self.close()
        self._flush()

    def _respond(self, request: RawRequest, response: Response) -> None:
        if isinstance(response, StreamingResponse):
            headers = [*response.raw_headers, (b"transfer-encoding", b"chunked")]
            self._out.append(head(response.status_code, headers))
            self._busy = self._server.actor.spawn(self._stream(response))
            return
        self._answer(ResponseBytes(response.status_code, response.raw_headers,
                                   b"" if request.method == "HEAD" else bytes(response.body)),
                     keep_alive=request.keep_alive)

    def _answer(self, answer: ResponseBytes, *, keep_alive: bool) -> None:
        headers = answer.headers
        if not keep_alive:
            headers = [*headers, (b"connection", b"close")]
        self._out.append(head(answer.status, headers) + answer.body)
        if not keep_alive:
            self._flush()
            self.close()

    def _flush(self) -> None:
        if self._out and self._transport is not None:
            self._transport.write(b"".join(self._out))
        self._out.clear()

    async def _stream(self, response: StreamingResponse) -> None:
        """A subscription's events, one chunk each time some are there; the connection
        ends with the stream."""
        try:
            async for chunk in response.body_iterator:
                data = chunk if isinstance(chunk, bytes | bytearray | memoryview) else \
                    str(chunk).encode()
                if data and self._transport is not None:
                    self._transport.write(b"%x\r\n%s\r\n" % (len(data), data))
            if self._transport is not None:
                self._transport.write(b"0\r\n\r\n")
        finally:
            self._busy = None
            self.close()

    async def _through_app(self, request: RawRequest) -> None:
        try:
            answer = await _call_app(self._server.app, request)
        except Exception as e:
            self._server.actor.record(f"{request.path} failed: {e!r}", e)
            answer = _plain(500, f"test Mesos cluster failure: {e!r}")
        self._busy = None
        if request.method == "HEAD":
            answer = ResponseBytes(answer.status, answer.headers, b"")
        self._answer(answer, keep_alive=request.keep_alive)
        self._serve()


@dataclass(frozen=True)
class ResponseBytes:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


def _plain(status: int, text: str) -> ResponseBytes:
    body = text.encode()
    return ResponseBytes(status, [(b"content-type", b"text/plain; charset=utf-8"),
                                  (b"content-length", b"%d" % len(body))], body)


async def _call_app(app: ASGIApp, request: RawRequest) -> ResponseBytes:
    """Run ``app`` on one request; its answer, whole."""
    scope: dict[str, Any] = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": request.version[5:],
        "method": request.method, "scheme": "http", "path": request.path,
        "raw_path": request.path.encode(), "query_string": request.query.encode(),
        "root_path": "", "client": request.client, "server": request.server,
        "headers": [(k.encode("latin-1"), v.encode("latin-1"))
                    for k, v in request.headers.items()]}
    sent = False
    status, headers, body = 500, [], []

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": request.content, "more_body": False}
        await asyncio.Event().wait()  # nothing more: the answer is read whole
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        nonlocal status, headers
        if message["type"] == "http.response.start":
            status, headers = message["status"], list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            body.append(bytes(message.get("body", b"")))

    await app(scope, receive, send)
    data = b"".join(body)
    headers = [(k, v) for k, v in headers if k.lower() not in (b"transfer-encoding",
                                                              b"content-length")]
    headers.append((b"content-length", b"%d" % len(data)))
    return ResponseBytes(status, headers, data)


class PipelinedHttpServer:
    """HTTP/1.1 on the actor's loop (see the module's docstring); the interface of
    ``actor.HttpServer``.

    :param direct: path -> handler called at once for every request to that path.
    :param app: the ASGI app for every other path.
    """

    def __init__(self, direct: Mapping[str, Direct], app: ASGIApp, actor: Actor,
                 port: int = 0) -> None:
        self.direct = dict(direct)
        self.app = app
        self.actor = actor
        self.port = port
        self.connections: set[_Connection] = set()
        self._server: asyncio.Server | None = None

    def start(self) -> None:
        sock = bind_socket(self.port)
        self.port = sock.getsockname()[1]

        async def serve() -> None:
            loop = asyncio.get_running_loop()
            self._server = await loop.create_server(lambda: _Connection(self), sock=sock)

        self.actor.run(serve())

    def stop(self, abort: bool = False) -> None:
        server, self._server = self._server, None
        if server is None:
            return

        async def shutdown() -> None:
            server.close()
            for connection in list(self.connections):
                connection.abort() if abort else connection.close()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(server.wait_closed(), 2)

        self.actor.run(shutdown())
