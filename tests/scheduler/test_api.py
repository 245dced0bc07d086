"""Authorization, malformed requests, probes and the clients, against the real daemon."""

from __future__ import annotations

import asyncio
import json
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from aurora_provider.api import ApiError, AsyncSchedulerClient, RetryPolicy, SchedulerClient
from tests.daemon import Daemon, free_port
from tests.scheduler.conftest import job_wire

pytestmark = pytest.mark.integration

TOKENS = {"admin-t": {"user": "root", "roles": [], "admin": True},
          "alice-t": {"user": "alice", "roles": ["www"]},
          "bob-t": {"user": "bob", "roles": ["other"]}}


@pytest.fixture
def secured(make_daemon: Callable[..., Daemon], tmp_path: Path) -> Daemon:
    auth = tmp_path / "auth.json"
    auth.write_text(json.dumps({"tokens": TOKENS}))
    return make_daemon("--auth-file", str(auth), name="secured")


def call(daemon: Daemon, method: str, path: str, token: str | None = None,
         body: Any = None, content: bytes | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if content is not None:
        headers["Content-Type"] = "application/json"
    return httpx.request(method, daemon.url + path, headers=headers, json=body,
                         content=content, timeout=10)


def test_authorization_matrix(secured: Daemon, tmp_path: Path) -> None:
    wire = job_wire(tmp_path, "authz", "sleep 600", service=True)
    job = "/api/v1/jobs/www/test/authz"
    create = {"job": wire}
    # No token, a malformed header, an unknown token: 401.
    assert call(secured, "GET", "/api/v1/jobs").status_code == 401
    response = httpx.get(secured.url + "/api/v1/jobs", headers={"Authorization": "Basic x"})
    assert response.status_code == 401 and response.json()["code"] == "UNAUTHENTICATED"
    assert call(secured, "GET", "/api/v1/jobs", "nope").status_code == 401
    assert call(secured, "POST", "/api/v1/jobs", None, create).status_code == 401
    # Another role's user may not create, kill, restart or add; reads need any valid token.
    forbidden = call(secured, "POST", "/api/v1/jobs", "bob-t", create)
    assert forbidden.status_code == 403 and "bob" in forbidden.json()["message"]
    assert call(secured, "POST", "/api/v1/jobs", "alice-t", create).status_code == 201
    for token in ("alice-t", "bob-t", "admin-t"):
        assert call(secured, "GET", job, token).status_code == 200
        assert call(secured, "GET", "/api/v1/jobs", token).status_code == 200
    assert call(secured, "POST", f"{job}/kill", "bob-t", {"instances": [0]}).status_code == 403
    assert call(secured, "POST", f"{job}/restart", "bob-t", {}).status_code == 403
    assert call(secured, "POST", f"{job}/instances", "bob-t",
                {"template_instance": 0, "count": 1}).status_code == 403
    assert call(secured, "POST", f"{job}/instances", "alice-t",
                {"template_instance": 0, "count": 1}).status_code == 201
    # The admin may change every role's jobs.
    assert call(secured, "POST", f"{job}/kill", "admin-t", {}).status_code == 200
    who = call(secured, "GET", "/api/v1/whoami", "alice-t").json()
    assert who == {"user": "alice", "roles": ["www"], "admin": False}
    # Probes are open.
    assert call(secured, "GET", "/health").status_code == 200


def test_malformed_requests_are_rejected_with_their_message(daemon: Daemon,
                                                            tmp_path: Path) -> None:
    token = daemon.token()
    wire = job_wire(tmp_path, "valid", "sleep 600", service=True)

    def rejected(response: httpx.Response, status: int, *words: str) -> None:
        assert response.status_code == status, response.text
        body = response.json()
        assert set(body) == {"code", "message"}
        for word in words:
            assert word in body["message"], body["message"]

    rejected(call(daemon, "POST", "/api/v1/jobs", token, content=b"{not json"), 400, "JSON")
    rejected(call(daemon, "POST", "/api/v1/jobs", token, {"job": {}}), 400, "job.key")
    broken = json.loads(json.dumps(wire))
    broken["instances"] = 0
    rejected(call(daemon, "POST", "/api/v1/jobs", token, {"job": broken}), 400,
             "job.instances")
    broken = json.loads(json.dumps(wire))
    broken["task"]["resources"]["cpu"] = "lots"
    rejected(call(daemon, "POST", "/api/v1/jobs", token, {"job": broken}), 400,
             "job.task.resources.cpu")
    broken = json.loads(json.dumps(wire))
    broken["key"]["name"] = "bad name!"
    rejected(call(daemon, "POST", "/api/v1/jobs", token, {"job": broken}), 400, "job.key.name")
    cron = json.loads(json.dumps(wire))
    cron["cron_schedule"] = "* * * * *"
    rejected(call(daemon, "POST", "/api/v1/jobs", token, {"job": cron}), 400, "cron")
    other = json.loads(json.dumps(wire))
    other["key"]["cluster"] = "elsewhere"
    rejected(call(daemon, "POST", "/api/v1/jobs", token, {"job": other}), 400, "elsewhere")
    env = json.loads(json.dumps(wire))
    env["key"]["environment"] = "qa"
    rejected(call(daemon, "POST", "/api/v1/jobs", token, {"job": env}), 400, "environment")
    rejected(call(daemon, "GET", "/api/v1/jobs/www/test/nothing", token), 404, "not found")
    rejected(call(daemon, "GET", "/api/v1/jobs/www/te st/x", token), 400, "environment")
    rejected(call(daemon, "POST", "/api/v1/jobs/www/test/nothing/kill", token, {}), 404)
    rejected(call(daemon, "POST", "/api/v1/jobs/www/test/x/kill", token,
                  {"instances": [-1]}), 400, "instances")
    rejected(call(daemon, "POST", "/api/v1/jobs/www/test/x/restart", token,
                  {"batch_size": 0}), 400, "batch_size")
    rejected(call(daemon, "POST", "/api/v1/jobs/www/test/x/kill", token,
                  {"surprise": 1}), 400, "surprise")
    rejected(call(daemon, "GET", "/api/v1/tasks/unknown-task", token), 404, "unknown-task")
    rejected(call(daemon, "GET", "/api/v1/nowhere", token), 404)
    # A duplicate create conflicts; the first one stands.
    assert call(daemon, "POST", "/api/v1/jobs", token, {"job": wire}).status_code == 201
    rejected(call(daemon, "POST", "/api/v1/jobs", token, {"job": wire}), 409, "already exists")
    rejected(call(daemon, "POST", "/api/v1/jobs/www/test/valid/restart", token,
                  {"instances": [7]}), 400, "[7]")
    assert call(daemon, "POST", "/api/v1/jobs/www/test/valid/kill", token, {}).status_code == 200


def test_probes_metrics_and_openapi(daemon: Daemon) -> None:
    assert httpx.get(daemon.url + "/leaderhealth").status_code == 200
    spec = httpx.get(daemon.url + "/openapi.json").json()
    assert "/api/v1/jobs/{role}/{environment}/{name}/restart" in spec["paths"]
    with daemon.client() as c:
        c.list_jobs()
        text = c.metrics()
    assert 'aurora_api_request_seconds_count{method="GET",route="/api/v1/jobs",status="200"}' \
        in text
    assert "aurora_placements_total" in text and "aurora_offers" in text


def test_embedded_token_file_is_private_and_found_by_default(
        daemon: Daemon, monkeypatch: pytest.MonkeyPatch) -> None:
    token_file = daemon.home / "token"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    monkeypatch.setenv("AURORA_HOME", str(daemon.home))
    monkeypatch.delenv("AURORA_TOKEN", raising=False)
    with SchedulerClient(daemon.url) as c:  # no token given: the file is found
        assert c.whoami().admin is True


def test_async_client(daemon: Daemon, tmp_path: Path) -> None:
    wire = job_wire(tmp_path, "asyncjob", "sleep 600", service=True)

    async def scenario() -> None:
        async with AsyncSchedulerClient(daemon.url, token=daemon.token()) as c:
            created = await c.create_job(wire)
            st = await c.job_status("devcluster/www/test/asyncjob")
            assert [t.task_id for t in st.active] == created.task_ids
            diff = await c.diff(wire)
            assert diff.unchanged == [0] and diff.changes == []
            killed = await c.killall("devcluster/www/test/asyncjob")
            assert killed.killed == created.task_ids
            with pytest.raises(ApiError) as info:
                await c.job_status("devcluster/www/test/absent")
            assert info.value.status == 404

    asyncio.run(scenario())


def test_client_retries_only_what_never_reached_the_server() -> None:
    slept: list[float] = []
    policy = RetryPolicy(attempts=3, initial=0.01, sleep=slept.append)
    client = SchedulerClient(f"http://127.0.0.1:{free_port()}", token="t", retry=policy)
    with pytest.raises(ApiError) as info:
        client.health()
    assert info.value.code == "UNAVAILABLE" and len(slept) == 2
    client.close()


def test_missing_token_says_where_to_put_one(secured: Daemon, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AURORA_HOME", str(tmp_path / "empty-home"))
    monkeypatch.delenv("AURORA_TOKEN", raising=False)
    with SchedulerClient(secured.url) as c, pytest.raises(ApiError) as info:
        c.list_jobs()
    assert info.value.status == 401 and "AURORA_TOKEN" in str(info.value)
