"""What the scheduler and executor drivers share on the wire.

* bytes fields travel base64 in the v1 JSON API (``b64encode``/``b64decode``);
* retries wait an exponential, capped, jittered ``Backoff``;
* ``EventStream`` reads a subscription's RecordIO body incrementally and can be cut from
  another thread (a blocked read does not wake up when a socket is merely closed);
* ``SilenceWatchdog`` says when a stream has been quiet too long (missed heartbeats);
* ``redirect_address`` reads a 307's ``Location``; ``failure_reason`` makes an httpx or
  socket error one short phrase ("connection refused");
* ``CallConnections`` POSTs calls on kept-alive connections, one per concurrent caller.
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
from collections.abc import Callable, Iterator, Mapping
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
    master (or opens one), sends, reads the whole answer and puts it back.

    Many threads make a driver's calls at once; one ``httpx.Client`` made them wait on its
    pool's lock and cost more Python per request than the master spends answering it.
    Here a request is one ``sendall`` and its answer one parse. A connection the master
    closed while idle is noticed before use (it reads as ready), so a call is never sent
    on a dead socket, and never sent twice. ``post`` raises one of ``TRANSPORT_ERRORS``
    when no answer came, and ``RuntimeError`` once ``close()`` was called.

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
        head = (f"POST {path} HTTP/1.1\r\nHost: {address}\r\n{self._headers}"
                + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
                + f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
        sock = self._take(address)
        try:
            sock.sendall(head.encode("latin-1") + body)
            response = http.client.HTTPResponse(sock, method="POST")
            response.begin()
            data = response.read()
        except BaseException:
            sock.close()
            raise
        if response.will_close:
            sock.close()
        else:
            self._give_back(address, sock)
        return response.status, data.decode("utf-8", errors="replace")

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


def _readable(sock: socket.socket) -> bool:
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))


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
