"""Fixtures of the Thrift API tests: one real scheduler daemon with three users, and two
independent Thrift clients built from our ``api.thrift`` at test time.

* Apache Thrift's own: Debian's ``thrift`` compiler generates the Python code, PyPI's
  ``thrift`` runs it over ``THttpClient`` with ``TJSONProtocol``, as Aurora's client did.
* thriftpy2's, with TBinary, over a small httpx transport (thriftpy2's own HTTP client
  sends ``Content-Type: application/x-thrift``, which Aurora's servers read as TJSON).
"""

from __future__ import annotations

import base64
import importlib
import io
import json
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from thriftpy2.protocol.binary import TBinaryProtocol  # pure Python: takes any transport
from thriftpy2.thrift import TClient

from aurora_provider.framework.thrift.idl import IDL_PATH, api
from tests.daemon import Daemon

ADMIN, ALICE, BOB = "admin-token-0123456789", "alice-token-0123456789", "bob-token-0123456789"
MAX_BODY = 1_000_000  # the daemon's --max-body-bytes
THRIFT_TOKENS = {
    ADMIN: {"user": "root", "roles": [], "admin": True},
    ALICE: {"user": "alice", "roles": ["www"], "admin": False},
    BOB: {"user": "bob", "roles": ["batch"], "admin": False},
}


@pytest.fixture(scope="session")
def thrift_daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    """One daemon for the Thrift tests (each test uses job names of its own)."""
    root = tmp_path_factory.mktemp("thrift")
    auth = root / "auth.json"
    auth.write_text(json.dumps({"tokens": THRIFT_TOKENS}))
    auth.chmod(0o600)
    daemon = Daemon(root / "work", root / "home",
                    ["--auth-file", str(auth), "--max-body-bytes", str(MAX_BODY)])
    daemon.start()
    yield daemon
    daemon.stop(signal.SIGKILL)
    daemon.kill_runners()


def _hashable(module: ModuleType) -> None:
    # Apache's generated structs define __eq__ but no __hash__, so on Python 3 they cannot
    # be members of the set<struct> fields the IDL is full of (Aurora's client ran on
    # Python 2, where they could). Hash by value, as the equality is.
    for value in vars(module).values():
        if isinstance(value, type) and hasattr(value, "thrift_spec") \
                and value.__module__ == module.__name__:
            value.__hash__ = lambda self: hash(repr(self))  # type: ignore[method-assign]


@pytest.fixture(scope="session")
def apache_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The package Debian's ``thrift --gen py`` makes of our IDL: ``.ttypes``,
    ``.AuroraAdmin``, ``.constants``."""
    compiler = shutil.which("thrift")
    if compiler is None:
        pytest.fail("Debian's thrift-compiler is not installed (scripts/test.sh installs it)")
    out = tmp_path_factory.mktemp("thrift-gen")
    run = subprocess.run([compiler, "--gen", "py", "-out", str(out), str(IDL_PATH)],
                         capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode == 0, f"thrift --gen py failed: {run.stderr}"
    sys.path.insert(0, str(out))
    try:
        package = importlib.import_module("gen.apache.aurora.api")
        for name in ("ttypes", "constants", "AuroraAdmin"):
            importlib.import_module(f"gen.apache.aurora.api.{name}")
        _hashable(sys.modules["gen.apache.aurora.api.ttypes"])
        yield package
    finally:
        sys.path.remove(str(out))
        for name in [n for n in sys.modules if n == "gen" or n.startswith("gen.")]:
            del sys.modules[name]


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.fixture
def apache_client(thrift_daemon: Daemon, apache_api: ModuleType
                  ) -> Iterator[Callable[..., Any]]:
    """``apache_client(token=ALICE)`` or ``apache_client(authorization=basic(...))``: an
    Apache-generated ``AuroraAdmin.Client`` over THttpClient and TJSON."""
    from thrift.protocol.TJSONProtocol import TJSONProtocol
    from thrift.transport.THttpClient import THttpClient

    opened: list[Any] = []

    def make(token: str | None = ALICE, authorization: str | None = None) -> Any:
        transport = THttpClient(f"{thrift_daemon.url}/api")
        header = authorization or (f"Bearer {token}" if token else None)
        if header:
            transport.setCustomHeaders({"Authorization": header})
        transport.open()
        opened.append(transport)
        return apache_api.AuroraAdmin.Client(TJSONProtocol(transport))

    yield make
    for transport in opened:
        transport.close()


class HttpxTransport:
    """A thriftpy2 transport: each flushed call is one POST; the answer is read back."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        self._url = url
        self._headers = headers
        self._out = io.BytesIO()
        self._in = io.BytesIO()
        self.last: httpx.Response | None = None

    def is_open(self) -> bool:
        return True

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    def write(self, data: bytes) -> None:
        self._out.write(data)

    def read(self, size: int) -> bytes:
        return self._in.read(size)

    def flush(self) -> None:
        body, self._out = self._out.getvalue(), io.BytesIO()
        self.last = httpx.post(self._url, content=body, headers=self._headers, timeout=30)
        self.last.raise_for_status()
        self._in = io.BytesIO(self.last.content)


BINARY = "application/vnd.apache.thrift.binary"


@pytest.fixture
def binary_client(thrift_daemon: Daemon) -> Callable[..., Any]:
    """``binary_client(token=ALICE)``: a thriftpy2 client of our IDL, speaking TBinary."""

    def make(token: str = ALICE) -> Any:
        transport = HttpxTransport(f"{thrift_daemon.url}/api", {
            "Content-Type": BINARY, "Accept": BINARY, "Authorization": f"Bearer {token}"})
        proto = TBinaryProtocol(transport)
        return TClient(api().AuroraAdmin, proto)

    return make


def rest(daemon: Daemon, token: str = ADMIN) -> httpx.Client:
    return httpx.Client(base_url=daemon.url, headers={"Authorization": f"Bearer {token}"},
                        timeout=30)


def tmp_job_file(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / f"{name}.aurora"
    path.write_text(text)
    return path
