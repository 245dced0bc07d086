"""What the scheduler and executor drivers share on the wire.

* bytes fields travel base64 in the v1 JSON API (``b64encode``/``b64decode``);
* retries wait an exponential, capped, jittered ``Backoff``;
* ``EventStream`` reads a subscription's RecordIO body incrementally and can be cut from
  another thread (a blocked read does not wake up when a socket is merely closed);
* ``SilenceWatchdog`` says when a stream has been quiet too long (missed heartbeats);
* ``redirect_address`` reads a 307's ``Location``; ``failure_reason`` makes an httpx or
  socket error one short phrase ("connection refused");
* ``CallConnections`` POSTs calls on kept-alive connections, a batch of them pipelined.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import http.client
import json
import random
import re
import select
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx

from .recordio import Decoder


def b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def b64decode(text: str, what: str = "a bytes field") -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as e:
        raise ValueError(f"{what} is not base64 ({e})") from e


class Backoff:
    """Delays that double from ``initial`` up to ``maximum``, each drawn in [d/2, d].

    The jitter keeps many frameworks (or executors) that lost the same master from
    coming back in lockstep. ``reset()`` after a success.
    """

    def __init__(self, initial: float, maximum: float,
                 rand: Callable[[], float] = random.random) -> None:
        if initial <= 0 or maximum < initial:
            raise ValueError(f"backoff needs 0 < initial <= maximum (got {initial}, {maximum})")
        self._initial = initial
        self._maximum = maximum
        self._rand = rand
        self._next = initial

    def next(self) -> float:
        delay = self._next * (0.5 + self._rand() / 2)
        self._next = min(self._next * 2, self._maximum)
        return delay

    def reset(self) -> None:
        self._next = self._initial


def redirect_address(location: str | None) -> str | None:
    """``host:port`` of a redirect's ``Location`` (``//host:port/path`` or a full URL)."""
    if not location:
        return None
    netloc = urlsplit(location if "//" in location else "//" + location).netloc
    host, _, port = netloc.rpartition(":")
    if not host or not port.isdigit():
        return None
    return netloc


_ERRNO = re.compile(r"^\[Errno -?\d+\]\s*")


def failure_reason(error: BaseException) -> str:
    """One short phrase for a transport error: "connection refused", "timed out"."""
    if isinstance(error, httpx.TimeoutException | TimeoutError):
        return "timed out"
    text = str(error).strip()
    if not text:
        return type(error).__name__
    text = _ERRNO.sub("", text.splitlines()[0])
    return text[:1].lower() + text[1:]


# What a POST raises when it got no answer (refused, reset, timed out, garbled).
TRANSPORT_ERRORS = (OSError, http.client.HTTPException)


def join_driver_thread(thread: threading.Thread | None, timeout: float | None) -> bool:
    """A driver's ``join``: wait for its thread to end; whether it has (a callback, on
    that thread, cannot wait for it)."""
    if thread is None:
        return True
    if thread is threading.current_thread():
        return False
    thread.join(timeout)
    return not thread.is_alive()


def json_body(value: Any) -> bytes:
    """A JSON request body, encoded as httpx encodes ``json=``."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"),
                      allow_nan=False).encode("utf-8")


class CallConnections:
    """POSTs on kept-alive HTTP/1.1 connections: each caller takes an idle connection to the
    master (or opens one), sends, reads the answers and puts it back.

    ``post_many`` pipelines: it writes every request of a batch without waiting, reading
    the answers (in order, as HTTP/1.1 gives them) while it writes, as Mesos's own scheduler
    library sends its calls on one connection. A thousand acknowledgements are then a few
    writes and reads instead of a thousand round trips, each of which made the calling
    thread wait for the GIL again. A connection the master closed while idle is noticed
    before use (it reads as ready), so a call is never sent on a dead socket, and never sent
    twice: when a connection breaks, the requests it has no answer for fail, whether or not
    the master got them. ``post`` raises one of ``TRANSPORT_ERRORS`` when no answer came,
    and ``RuntimeError`` once ``close()`` was called.

    :param timeout: seconds to connect, and to wait for each read or write.
    :param headers: sent with every request (``Accept``, ``Authorization``).
    """

    def __init__(self, timeout: float, headers: Mapping[str, str]) -> None:
        self._timeout = timeout
        self._headers = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self._lock = threading.Lock()
        self._idle: dict[str, list[socket.socket]] = {}  # address -> idle connections
        self._closed = False

    def post(self, address: str, path: str, body: bytes,
             headers: Mapping[str, str]) -> tuple[int, str]:
        """POST ``body`` (JSON) to ``http://{address}{path}``; the status and the body."""
        (answer,) = self.post_many(address, path, [body], headers)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def post_many(self, address: str, path: str, bodies: Sequence[bytes],
                  headers: Mapping[str, str]) -> list[tuple[int, str] | OSError]:
        """POST each of ``bodies`` (JSON) to ``http://{address}{path}``, pipelined on one
        connection: for each, its (status, body), or the transport error of a request that
        got no answer. ``RuntimeError`` when the connections are closed."""
        if not bodies:
            return []
        head = (f"POST {path} HTTP/1.1\r\nHost: {address}\r\n{self._headers}"
                + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
                + "Content-Type: application/json\r\nContent-Length: ").encode("latin-1")
        data = b"".join(b"%s%d\r\n\r\n%s" % (head, len(body), body) for body in bodies)
        try:
            sock = self._take(address)
        except TRANSPORT_ERRORS as e:
            return [_as_os_error(e)] * len(bodies)
        reader = _Responses()
        try:
            _exchange(sock, data, reader, len(bodies), self._timeout)
        except BaseException as e:
            sock.close()
            if not isinstance(e, TRANSPORT_ERRORS):
                raise
            error = _as_os_error(e)
            return [*reader.answers, *[error] * (len(bodies) - len(reader.answers))]
        if reader.closing:
            sock.close()
        else:
            self._give_back(address, sock)
        return list(reader.answers)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, {}
        for sockets in idle.values():
            for sock in sockets:
                sock.close()

    def _take(self, address: str) -> socket.socket:
        while True:
            with self._lock:
                if self._closed:
                    raise RuntimeError("the connections are closed")
                idle = self._idle.get(address)
                sock = idle.pop() if idle else None
            if sock is None:
                return self._connect(address)
            if not _readable(sock):
                return sock
            sock.close()  # idle yet readable: the master closed it (or sent garbage)

    def _give_back(self, address: str, sock: socket.socket) -> None:
        with self._lock:
            if not self._closed:
                self._idle.setdefault(address, []).append(sock)
                return
        sock.close()

    def _connect(self, address: str) -> socket.socket:
        host, _, port = address.rpartition(":")
        if not port.isdigit():
            raise http.client.InvalidURL(f"no port in {address!r}")
        sock = socket.create_connection((host.strip("[]"), int(port)), self._timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # a call is one write
        return sock


def _as_os_error(error: BaseException) -> OSError:
    if isinstance(error, OSError):
        return error
    return ConnectionError(str(error) or type(error).__name__)


def _readable(sock: socket.socket) -> bool:
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))


def _exchange(sock: socket.socket, data: bytes, reader: _Responses, count: int,
              timeout: float) -> None:
    """Write ``data`` while reading answers, until ``count`` came (or the master closes).

    Writing everything first could deadlock a long pipeline: a master stops reading while
    its answers wait to be read.
    """
    out = memoryview(data)
    poller = select.poll()
    sock.setblocking(False)
    try:
        while len(reader.answers) < count:
            if reader.closing:  # the master closes after this answer: the rest get none
                raise ConnectionError("the master closed the connection")
            poller.register(sock, select.POLLIN | (select.POLLOUT if out else 0))
            if not poller.poll(timeout * 1000):
                raise TimeoutError("timed out")
            if out:
                with contextlib.suppress(BlockingIOError):
                    out = out[sock.send(out[:262144]):]
            try:
                chunk = sock.recv(262144)
            except BlockingIOError:
                continue
            if not chunk:
                raise ConnectionError("the master closed the connection")
            reader.feed(chunk)
    finally:
        if sock.fileno() >= 0:
            sock.setblocking(True)
            sock.settimeout(timeout)


class _Responses:
    """HTTP/1.1 answers parsed as their bytes arrive: ``answers`` holds (status, body) of
    each complete one, in order; ``closing`` says the master closes after the last."""

    def __init__(self) -> None:
        self.answers: list[tuple[int, str]] = []
        self.closing = False
        self._buffer = b""

    def feed(self, data: bytes) -> None:
        buffer = self._buffer + data if self._buffer else data
        at = 0
        while not self.closing:
            parsed = self._parse_one(buffer, at)
            if parsed is None:
                break
            at = parsed
        self._buffer = buffer[at:]

    def _parse_one(self, buffer: bytes, at: int) -> int | None:
        """Parse the answer at ``at``; where the next begins, None if it is not all here."""
        end = buffer.find(b"\r\n\r\n", at)
        if end < 0:
            return None
        lines = buffer[at:end].decode("latin-1").split("\r\n")
        version, _, rest = lines[0].partition(" ")
        code = rest.partition(" ")[0]
        if not version.startswith("HTTP/") or not code.isdigit():
            raise http.client.BadStatusLine(lines[0])
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        status = int(code)
        start = end + 4
        if status < 200 or status in (204, 304):
            body = b""
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            chunked = _chunked(buffer, start)
            if chunked is None:
                return None
            body, start = chunked
        elif "content-length" in headers:
            length = int(headers["content-length"])
            if len(buffer) < start + length:
                return None
            body, start = buffer[start:start + length], start + length
        else:  # the body runs to the end of the connection: never kept alive
            raise http.client.HTTPException("an answer without a length")
        if status < 200:  # 100 Continue and the like: the real answer follows
            return start
        connection = headers.get("connection", "").lower()
        self.closing = connection == "close" or (version == "HTTP/1.0"
                                                 and connection != "keep-alive")
        self.answers.append((status, body.decode("utf-8", errors="replace")))
        return start


def _chunked(buffer: bytes, start: int) -> tuple[bytes, int] | None:
    """The body of a chunked answer from ``start`` and where it ends, if all here."""
    parts: list[bytes] = []
    while True:
        line_end = buffer.find(b"\r\n", start)
        if line_end < 0:
            return None
        try:
            size = int(buffer[start:line_end].split(b";")[0].strip(), 16)
        except ValueError as e:
            raise http.client.HTTPException(f"a bad chunk size ({e})") from e
        start = line_end + 2
        if size == 0:  # then trailers, if any, up to an empty line
            end = buffer.find(b"\r\n\r\n", start - 2)
            return None if end < 0 else (b"".join(parts), end + 4)
        if len(buffer) < start + size + 2:
            return None
        parts.append(buffer[start:start + size])
        start += size + 2


class EventStream:
    """The RecordIO events of an open streaming response, readable by one thread and
    cut (shut down) by any other: ``stop()`` and a silent master both need that."""

    def __init__(self, response: httpx.Response, decoder: Decoder | None = None) -> None:
        self._response = response
        self._decoder = decoder or Decoder()
        self._cut = False

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for chunk in self._response.iter_bytes():
            yield from self._decoder.messages(chunk)

    @property
    def was_cut(self) -> bool:
        return self._cut

    def cut(self) -> None:
        """Make the reading thread's blocked read return at once."""
        self._cut = True
        stream = self._response.extensions.get("network_stream")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):  # closed already
                sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self._response.close()


class SilenceWatchdog:
    """Calls ``on_silence`` once when ``touch()`` was not called for ``limit`` seconds.

    ``arm(limit)`` starts (or re-times) the watch, ``disarm()`` pauses it, ``close()`` ends
    its thread. ``on_silence`` runs on the watchdog's thread and must not block.
    """

    def __init__(self, on_silence: Callable[[], None], *, name: str = "mesos-watchdog",
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._on_silence = on_silence
        self._clock = clock
        self._cond = threading.Condition()
        self._limit: float | None = None
        self._last = 0.0
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def arm(self, limit: float) -> None:
        with self._cond:
            self._limit = limit
            self._last = self._clock()
            self._cond.notify()

    def touch(self) -> None:
        self._last = self._clock()  # the watchdog re-reads it when its deadline comes

    def disarm(self) -> None:
        with self._cond:
            self._limit = None
            self._cond.notify()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()
        if threading.current_thread() is not self._thread:
            self._thread.join()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._closed:
                    if self._limit is None:
                        self._cond.wait()
                        continue
                    left = self._last + self._limit - self._clock()
                    if left <= 0:
                        self._limit = None  # once per arm()
                        break
                    self._cond.wait(left)
                if self._closed:
                    return
            self._on_silence()
