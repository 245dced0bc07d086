"""``CallConnections.post_many`` against a raw TCP peer: how pipelined answers are read."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from aurora_provider.mesos.http import CallConnections

pytestmark = pytest.mark.process


class Peer:
    """Reads ``expect`` requests on the first connection, then writes ``reply`` and closes
    (or keeps the connection open when ``close`` is False)."""

    def __init__(self, reply: bytes, expect: int, *, close: bool = True) -> None:
        self.reply, self.expect, self.close = reply, expect, close
        self.received = b""
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self._listener.getsockname()[1]}"
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        conn, _ = self._listener.accept()
        with conn:
            while self.received.count(b"\r\n\r\n") < self.expect:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                self.received += chunk
            conn.sendall(self.reply)
            if not self.close:
                conn.recv(1)  # until the client goes

    def stop(self) -> None:
        self._listener.close()
        self._thread.join(5)


@pytest.fixture
def connections() -> Iterator[CallConnections]:
    pool = CallConnections(5.0, {"Accept": "application/json"})
    yield pool
    pool.close()


def test_answers_are_matched_to_requests_in_order(connections: CallConnections) -> None:
    reply = (b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n"
             b"HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\n"
             b"4\r\nFail\r\n3;x=y\r\ned!\r\n0\r\nTrailer: 1\r\n\r\n"
             b"HTTP/1.1 100 Continue\r\n\r\n"
             b"HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\nok")
    peer = Peer(reply, 3, close=False)
    answers = connections.post_many(peer.address, "/api/v1/scheduler", [b"{}", b"[]", b"1"],
                                    {"Mesos-Stream-Id": "s-1"})
    assert answers == [(202, ""), (400, "Failed!"), (202, "ok")]
    requests = peer.received.split(b"POST ")[1:]
    assert len(requests) == 3
    assert requests[1].startswith(b"/api/v1/scheduler HTTP/1.1\r\n")
    assert b"\r\nMesos-Stream-Id: s-1\r\n" in requests[1]
    assert requests[1].endswith(b"Content-Length: 2\r\n\r\n[]")
    connections.close()  # the kept-alive connection ends: so does the peer
    peer.stop()


def test_requests_after_a_closing_answer_fail(connections: CallConnections) -> None:
    reply = b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    peer = Peer(reply, 2)
    first, second = connections.post_many(peer.address, "/p", [b"{}", b"{}"], {})
    assert first == (202, "")
    assert isinstance(second, ConnectionError)
    peer.stop()


def test_a_garbled_answer_fails_what_it_did_not_answer(connections: CallConnections) -> None:
    peer = Peer(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\nSMTP ready\r\n\r\n", 2)
    first, second = connections.post_many(peer.address, "/p", [b"{}", b"{}"], {})
    assert first == (202, "") and isinstance(second, OSError)
    peer.stop()


def test_one_post_raises_when_nothing_answers(connections: CallConnections) -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        address = f"127.0.0.1:{listener.getsockname()[1]}"
    with pytest.raises(ConnectionRefusedError):
        connections.post(address, "/p", b"{}", {})
