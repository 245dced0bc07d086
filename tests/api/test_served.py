"""Every row of the endpoint table is served by the real scheduler: method, path template
and response model, read from its OpenAPI document."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from aurora_provider.api.endpoint import Endpoint
from aurora_provider.api.endpoints import ENDPOINTS
from tests.daemon import Daemon

pytestmark = pytest.mark.integration

_OPTIONAL = re.compile(r"\[([^\]]*)\]")


@pytest.fixture(scope="module")
def openapi(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    base = tmp_path_factory.mktemp("served")
    daemon = Daemon(base / "work", base / "home", [])
    daemon.start()
    try:
        yield httpx.get(f"{daemon.url}/openapi.json", timeout=10).json()
    finally:
        daemon.stop()
        daemon.kill_runners()


def templates(endpoint: Endpoint[Any, Any]) -> list[str]:
    """The server's path templates: an optional ``[part]`` with and without it."""
    return sorted({_OPTIONAL.sub(r"\1", endpoint.path), _OPTIONAL.sub("", endpoint.path)})


@pytest.mark.parametrize("name", sorted(ENDPOINTS))
def test_the_scheduler_serves_the_endpoint(openapi: dict[str, Any], name: str) -> None:
    endpoint = ENDPOINTS[name]
    for path in templates(endpoint):
        operation = openapi["paths"].get(path, {}).get(endpoint.method.lower())
        assert operation is not None, f"{endpoint.method} {path} is not served"
        success = next(v for k, v in operation["responses"].items() if k.startswith("2"))
        if endpoint.response is str:
            assert "text/plain" in success["content"]
        else:
            ref = success["content"]["application/json"]["schema"]["$ref"]
            assert ref.rsplit("/", 1)[-1] == endpoint.response.__name__
