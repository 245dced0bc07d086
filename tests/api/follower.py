"""Stand-ins for scheduler replicas on 127.0.0.1, for the clients' redirect tests.

``Follower`` answers every request as a replica that is not the leader does: 307 with the
leader's URL (same path and query) in ``Location``, and records what it was asked. Its
``leader`` may be changed, or be any Location at all (a loop, a non-http URL). ``Relay``
passes every request on to a real scheduler: a leader that a test can make disappear.
``service_wire`` is a one-process service for the jobs these tests create.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from aurora_provider.config import job_to_wire, load


def service_wire(tmp_path: Path, name: str) -> dict[str, Any]:
    """``devcluster/www/test/<name>``, one ``sleep 600``, through the real config loader."""
    path = tmp_path / f"{name}.aurora"
    path.write_text(
        "jobs = [Service(cluster='devcluster', role='www', environment='test', "
        f"name={name!r}, task=SimpleTask('main', 'sleep 600'))]")
    return job_to_wire(load(str(path)).pick(f"devcluster/www/test/{name}"))


@dataclass(frozen=True)
class Asked:
    method: str
    path: str
    authorization: str | None


class _StandIn:
    """An HTTP server in a thread; ``answer(handler, body)`` answers each request."""

    def __init__(self, answer: Callable[[BaseHTTPRequestHandler, bytes], None]) -> None:
        self.asked: list[Asked] = []
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                stand_in.asked.append(Asked(self.command, self.path,
                                            self.headers.get("Authorization")))
                answer(self, body)

            do_GET = do_POST = do_PUT = do_DELETE = _any

            def log_message(self, *_: object) -> None:  # keep the test output clean
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        kwargs={"poll_interval": 0.05})
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


class Follower(_StandIn):
    """Answers 307 to ``leader`` + the request's path and query (``leader`` None: 503)."""

    def __init__(self, leader: str | None) -> None:
        self.leader = leader
        super().__init__(self._redirect)

    def _redirect(self, handler: BaseHTTPRequestHandler, _: bytes) -> None:
        if self.leader is None:
            handler.send_response(503)
            body = b'{"code": "UNAVAILABLE", "message": "no leader is known"}'
            handler.send_header("Content-Type", "application/json")
        else:
            handler.send_response(307)
            handler.send_header("Location", self.leader + handler.path)
            body = b""
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)


class Relay(_StandIn):
    """Passes every request on to the scheduler at ``target`` and its answer back."""

    def __init__(self, target: str) -> None:
        self.target = target
        super().__init__(self._relay)

    def _relay(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        headers = {k: v for k, v in handler.headers.items()
                   if k.lower() in ("authorization", "content-type")}
        answer = httpx.request(handler.command, self.target + handler.path, content=body,
                               headers=headers, timeout=30)
        handler.send_response(answer.status_code)
        handler.send_header("Content-Type", answer.headers.get("Content-Type", "text/plain"))
        handler.send_header("Content-Length", str(len(answer.content)))
        handler.end_headers()
        handler.wfile.write(answer.content)
