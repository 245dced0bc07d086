"""A small Docker registry (HTTP API v2) on 127.0.0.1, for the ``docker.image`` binding tests.

It serves ``GET /v2/NAME/manifests/TAG`` from a dict of manifests, with their digest in
``Docker-Content-Digest``, and answers 404 with the registry's ``MANIFEST_UNKNOWN`` error for
anything else. With ``wants_token``, a manifest request without the token is answered 401
with a Bearer challenge whose realm is the registry's own ``/token``, as Docker Hub does.
Every request is recorded (``GET path?query``) so tests can say none was made.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json"
TOKEN = "token-for-the-test"
SERVICE = "test-registry"


def manifest(label: str) -> bytes:
    """A v2 manifest's bytes; ``label`` makes each one's digest distinct."""
    return json.dumps({"schemaVersion": 2, "mediaType": MANIFEST_TYPE, "label": label}).encode()


def digest_of(body: bytes) -> str:
    return f"sha256:{hashlib.sha256(body).hexdigest()}"


@dataclass
class Registry:
    """What the registry serves (``"name:tag"`` -> manifest bytes) and the requests it saw."""

    manifests: dict[str, bytes]
    wants_token: bool = False
    seen: list[str] = field(default_factory=list)
    url: str = ""

    @property
    def host(self) -> str:
        return self.url.removeprefix("http://")

    def digest(self, image: str) -> str:
        return digest_of(self.manifests[image])


def _handler(registry: Registry) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # keep the test output clean
            pass

        def do_GET(self) -> None:
            registry.seen.append(f"GET {self.path}")
            url = urlsplit(self.path)
            if url.path == "/token":
                query = parse_qs(url.query)
                ok = query.get("service") == [SERVICE] and "scope" in query
                self._answer(200 if ok else 400, json.dumps({"token": TOKEN}).encode())
            elif registry.wants_token and self.headers.get("Authorization") != f"Bearer {TOKEN}":
                repository = url.path.split("/manifests/")[0].removeprefix("/v2/")
                self._answer(401, b"{}", {"WWW-Authenticate": (
                    f'Bearer realm="{registry.url}/token",service="{SERVICE}",'
                    f'scope="repository:{repository}:pull"')})
            else:
                self._manifest(url.path.removeprefix("/v2/").replace("/manifests/", ":"))

        def _manifest(self, image: str) -> None:
            if image not in registry.manifests:
                errors = {"errors": [{"code": "MANIFEST_UNKNOWN", "message": "unknown"}]}
                self._answer(404, json.dumps(errors).encode())
                return
            body = registry.manifests[image]
            self._answer(200, body, {"Docker-Content-Digest": digest_of(body),
                                     "Content-Type": MANIFEST_TYPE})

        def _answer(self, status: int, body: bytes, headers: dict[str, str] | None = None
                    ) -> None:
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


@contextmanager
def serving(manifests: dict[str, bytes]) -> Iterator[Registry]:
    """A registry serving ``manifests`` until the block ends."""
    registry = Registry(dict(manifests))
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(registry))
    registry.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield registry
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def closed_port_url() -> str:
    """The URL of a port nothing listens on (bound, then released)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    server.server_close()
    return url
