"""The connection form's Test button, through a real api-server's REST API
(``POST /api/v2/connections/test``): Airflow finds the hook through the provider's entry
points and shows the line ``AuroraHook.test_connection`` answers."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.daemon import Daemon

pytestmark = pytest.mark.integration


def _test(http: httpx.Client, host: str, token: str | None,
          cluster: str = "devcluster") -> dict[str, Any]:
    response = http.post("/api/v2/connections/test", json={
        "connection_id": "aurora_form", "conn_type": "aurora", "host": host,
        "password": token, "extra": json.dumps({"cluster": cluster})})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_the_button_names_the_cluster_and_the_caller(http: httpx.Client,
                                                     aurora_scheduler: Daemon) -> None:
    answer = _test(http, aurora_scheduler.url, aurora_scheduler.token())
    assert answer["status"] is True, answer
    assert answer["message"].startswith(
        f"connected to cluster 'devcluster' at {aurora_scheduler.url} as "), answer


def test_the_button_says_which_part_is_wrong(http: httpx.Client,
                                             aurora_scheduler: Daemon) -> None:
    bad_token = _test(http, aurora_scheduler.url, "not-a-token")
    assert bad_token["status"] is False
    assert "refused the API token" in bad_token["message"], bad_token

    other_cluster = _test(http, aurora_scheduler.url, aurora_scheduler.token(), "prod-east")
    assert other_cluster["status"] is False
    assert "runs cluster 'devcluster', but the connection's cluster is 'prod-east'" in \
        other_cluster["message"], other_cluster

    nothing_there = _test(http, "http://127.0.0.1:9", aurora_scheduler.token())
    assert nothing_there["status"] is False
    assert "127.0.0.1:9" in nothing_there["message"], nothing_there
