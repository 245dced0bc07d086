"""The endpoint table: both clients have every endpoint, with one signature, and each row
builds the request today's scheduler expects."""

from __future__ import annotations

import asyncio
import inspect
import re
from typing import Any

import httpx
import pytest

from aurora_provider.api import AsyncSchedulerClient, SchedulerClient
from aurora_provider.api import models as m
from aurora_provider.api.endpoint import Endpoint, Request
from aurora_provider.api.endpoints import ENDPOINTS
from tests.api.fakes import Scheduler, async_client, sync_client

pytestmark = pytest.mark.unit

# The methods of the hand-written clients this table replaced: none may go missing.
BEFORE = (
    "health", "metrics", "whoami", "cluster", "create_job", "list_jobs", "job_status",
    "kill", "killall", "restart", "restart_status", "add_instances", "diff", "task",
    "task_logs", "task_log", "start_update", "update_details", "list_updates",
    "pause_update", "resume_update", "abort_update", "rollback_update", "pulse_update",
    "schedule_cron", "list_cron", "cron_job", "deschedule_cron", "start_cron", "cron_runs",
    "get_quota", "set_quota", "increase_quota", "host_status", "start_maintenance",
    "drain_hosts", "end_maintenance", "backup_now", "list_backups", "restore_backup",
    "prune_tasks", "reconcile_tasks",
)

WIRE = {"key": {"cluster": "c", "role": "r", "environment": "e", "name": "n"},
        "instances": 1}
# A value for every parameter name the builders take (a new name must be added here).
SAMPLES: dict[str, Any] = {
    "key": "c/r/e/n", "job": WIRE, "task_id": "r-e-n-0-abc", "pattern": "c/r/*",
    "instances": [0, 2], "message": "why", "batch_size": 2, "template_instance": 0,
    "count": 3, "process": "main", "run": 1, "stream": "stderr", "tail_bytes": 100,
    "offset": 10,
    "update_id": "u-1", "cluster": "c", "role": "r", "environment": "e", "name": "n",
    "status": "active", "limit": 5, "cpu": 1.5, "ram_mb": 1024.0, "disk_mb": 2048.0,
    "hosts": ["h1", "h2"], "percentage": 50.0, "backup_id": "b-1", "work_dir": "/w",
    "states": ["FINISHED"], "cursor": "a0:r-e-n-0-abc", "events": True,
    "watch_secs": 1.5, "max_per_instance_failures": 1, "max_total_failures": 2,
    "task_ids": ["r-e-n-0-abc"],
    "duration_secs": 60.0, "timeout_secs": 600.0, "min_instance_count": 2,
    "job_limits": {"c/r/e/n": (75.0, 120.0)},
}


def sample_request(endpoint: Endpoint[Any, Any]) -> Request:
    args, kwargs = [], {}
    for p in endpoint.signature.parameters.values():
        if p.kind is p.KEYWORD_ONLY:
            kwargs[p.name] = SAMPLES[p.name]
        else:
            args.append(SAMPLES[p.name])
    return endpoint.request(*args, **kwargs)


def test_no_method_of_the_old_clients_is_missing() -> None:
    assert set(BEFORE) <= set(ENDPOINTS)


@pytest.mark.parametrize("name", sorted(ENDPOINTS))
def test_both_clients_have_the_endpoint_with_one_signature(name: str) -> None:
    blocking = SchedulerClient("http://x", token="t")
    non_blocking = AsyncSchedulerClient("http://x", token="t")
    sync_method, async_method = getattr(blocking, name), getattr(non_blocking, name)
    assert not inspect.iscoroutinefunction(sync_method)
    assert inspect.iscoroutinefunction(async_method)
    assert inspect.signature(sync_method) == inspect.signature(async_method) \
        == ENDPOINTS[name].signature
    assert sync_method.__name__ == async_method.__name__ == name
    assert sync_method.__doc__ and sync_method.__doc__ == async_method.__doc__
    blocking.close()
    asyncio.run(non_blocking.aclose())


@pytest.mark.parametrize("name", sorted(ENDPOINTS))
def test_every_path_parameter_is_filled(name: str) -> None:
    request = sample_request(ENDPOINTS[name])
    assert request.path.startswith("/") and not re.search(r"[{}\[\]]", request.path)
    if request.method in ("POST", "PUT"):
        assert request.body is not None
    else:
        assert request.body is None


@pytest.mark.parametrize(("name", "args", "kwargs", "expected"), [
    ("kill", ("c/r/e/n", [0, 2], "why"), {},
     Request("POST", "/api/v1/jobs/r/e/n/kill", {"instances": [0, 2], "message": "why"})),
    ("killall", ("c/r/e/n",), {},
     Request("POST", "/api/v1/jobs/r/e/n/kill", {"instances": None, "message": None})),
    ("restart", ("r/e/n",), {},
     Request("POST", "/api/v1/jobs/r/e/n/restart", {
        "instances": None, "batch_size": 1, "watch_secs": 0, "max_per_instance_failures": 0,
        "max_total_failures": 0})),
    ("diff", (WIRE,), {}, Request("POST", "/api/v1/jobs/r/e/n/diff", {"job": WIRE})),
    ("create_job", (m.JobConfiguration.model_validate({**WIRE, "task": {
        "resources": {"cpu": 1, "ram_mb": 8, "disk_mb": 8},
        "executor_config": {"data": "{}"}}}),), {}, None),
    ("list_jobs", (), {}, Request("GET", "/api/v1/jobs")),
    ("list_jobs", ("c/*",), {}, Request("GET", "/api/v1/jobs", params={"pattern": "c/*"})),
    ("task_log", ("t-1", "main", 0), {},
     Request("GET", "/api/v1/tasks/t-1/logs/main/0/stdout",
             params={"tail_bytes": str(2**20)})),
    ("update_details", ("c/r/e/n",), {}, Request("GET", "/api/v1/updates/r/e/n")),
    ("update_details", ("c/r/e/n", "u-1"), {}, Request("GET", "/api/v1/updates/r/e/n/u-1")),
    ("list_updates", (), {"role": "r", "limit": 3},
     Request("GET", "/api/v1/updates", params={"role": "r", "limit": "3"})),
    ("pulse_update", ("c/r/e/n",), {},
     Request("POST", "/api/v1/updates/r/e/n/pulse", {"message": None, "update_id": None})),
    ("start_cron", ("c/r/e/n",), {}, Request("POST", "/api/v1/cron/r/e/n/start", {})),
    ("deschedule_cron", ("c/r/e/n",), {}, Request("DELETE", "/api/v1/cron/r/e/n")),
    ("cron_runs", ("c/r/e/n",), {},
     Request("GET", "/api/v1/cron/r/e/n/runs", params={"limit": "20"})),
    ("job_configs", ("c/r/e/n",), {},
     Request("GET", "/api/v1/jobs/r/e/n/configs", params={"limit": "20"})),
    ("job_configs", ("r/e/n", 2), {},
     Request("GET", "/api/v1/jobs/r/e/n/configs", params={"limit": "2"})),
    ("set_quota", ("www", 1.0, 64.0, 128.0), {},
     Request("PUT", "/api/v1/quotas/www", {"cpu": 1.0, "ram_mb": 64.0, "disk_mb": 128.0})),
    ("host_status", (), {}, Request("GET", "/api/v1/maintenance")),
    ("host_status", (["a", "b"],), {},
     Request("GET", "/api/v1/maintenance", params={"hosts": "a,b"})),
    ("backup_now", (), {}, Request("POST", "/api/v1/admin/backups", {})),
    ("prune_tasks", (), {"role": "r"}, Request("POST", "/api/v1/admin/prune", {
        "states": None, "role": "r", "environment": None, "name": None, "limit": None})),
    ("task", ("odd id/",), {}, Request("GET", "/api/v1/tasks/odd%20id%2F")),
])
def test_requests_as_the_scheduler_reads_them(name: str, args: tuple[Any, ...],
                                              kwargs: dict[str, Any],
                                              expected: Request | None) -> None:
    request = ENDPOINTS[name].request(*args, **kwargs)
    if expected is None:  # a model is sent in its JSON form
        assert request.path == "/api/v1/jobs" and request.body["job"]["key"]["name"] == "n"
        assert request.body["job"]["instances"] == 1
    else:
        assert request == expected


def test_answers_are_read_into_their_model_or_text() -> None:
    scheduler = Scheduler([httpx.Response(200, json={"user": "u", "roles": ["r"],
                                                     "admin": False})])
    with sync_client(scheduler) as client:
        assert client.whoami() == m.WhoAmI(user="u", roles=["r"], admin=False)
    texts = Scheduler([httpx.Response(200, text="line 1\nline 2\n")])

    async def read() -> str:
        async with async_client(texts) as client:
            return await client.task_log("t-1", "main", 0, "stderr", tail_bytes=10)

    assert asyncio.run(read()) == "line 1\nline 2\n"
    assert texts.requests[0].url.params["tail_bytes"] == "10"

