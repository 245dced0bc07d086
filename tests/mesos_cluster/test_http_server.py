"""The master's HTTP/1.1 server over a raw socket: pipelined requests answered in order."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.mesos_cluster.cluster import MesosCluster

pytestmark = pytest.mark.process


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[MesosCluster]:
    with MesosCluster(tmp_path, agents=0) as running:
        yield running


def exchange(cluster: MesosCluster, data: bytes) -> bytes:
    """Send ``data`` at once, and nothing more; what the master answers until it closes."""
    host, port = cluster.master_address.split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
        return received


def post(body: bytes, *extra: str) -> bytes:
    head = "".join(f"{h}\r\n" for h in extra)
    return (b"POST /api/v1/scheduler HTTP/1.1\r\nHost: m\r\nContent-Type: application/json\r\n"
            + head.encode() + b"Content-Length: %d\r\n\r\n%s" % (len(body), body))


def test_pipelined_requests_are_answered_in_order(cluster: MesosCluster) -> None:
    unknown = b'{"type": "REVIVE", "framework_id": {"value": "nobody"}}'
    data = (post(unknown) + b"GET /health HTTP/1.1\r\nHost: m\r\n\r\n" + post(b"{")
            + b"GET /nowhere HTTP/1.1\r\nHost: m\r\n\r\n")
    received = exchange(cluster, data)
    assert re.findall(rb"HTTP/1\.1 (\d+)", received) == [b"400", b"200", b"400", b"404"]
    assert received.index(b"Framework cannot be found") < received.index(
        b"Failed to parse body into JSON") < received.index(b"Not Found")
    assert [c.status for c in cluster.calls] == [400]  # the unreadable body is no call


def test_head_answers_without_a_body_and_close_ends_the_connection(
        cluster: MesosCluster) -> None:
    received = exchange(cluster, b"HEAD /master/health HTTP/1.1\r\nHost: m\r\n\r\n"
                        b"GET /health HTTP/1.1\r\nConnection: close\r\n\r\n"
                        b"GET /health HTTP/1.1\r\n\r\n")
    assert received.count(b"HTTP/1.1 200 OK") == 2  # nothing is read after the close
    assert b"connection: close" in received


def test_a_malformed_request_is_refused_and_the_connection_closed(
        cluster: MesosCluster) -> None:
    received = exchange(cluster, b"GET /health HTTP/1.1\r\n\r\nNONSENSE\r\n\r\n")
    first, second = received.split(b"HTTP/1.1 ")[1:]
    assert first.startswith(b"200 OK")
    assert second.startswith(b"400 Bad Request") and b"Malformed request line" in second
