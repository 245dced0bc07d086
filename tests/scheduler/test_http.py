"""The HTTP layer in process (the composition root's app over the fake backend): the bearer
scheme in the OpenAPI document, errors as typed answers, Prometheus metrics."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from aurora_provider.api import models as m
from aurora_provider.config import job_to_wire
from aurora_provider.config.helpers import MB
from aurora_provider.config.schema import Process, Resources, Service, Task
from aurora_provider.states.machine import IllegalTransition
from aurora_provider.states.restart import RestartState
from tests.fakes import SchedulerWorld, typed

pytestmark = pytest.mark.unit
ADMIN = {"Authorization": "Bearer admin"}


def call(world: SchedulerWorld, method: str, path: str, **kwargs: object) -> httpx.Response:
    async def send() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=world.parts.app),
                                     base_url="http://scheduler") as client:
            return await client.request(method, path, **kwargs)  # type: ignore[arg-type]

    return asyncio.run(send())


def wire(name: str) -> m.JobConfiguration:
    """A real job's wire form: the API checks it with the loader's rules."""
    task = Task(processes=[Process(name="main", cmdline="sleep 600")],
                resources=Resources(cpu=0.5, ram=64 * MB, disk=64 * MB))
    job = Service(cluster="devcluster", role="www", environment="prod", name=name,
                  instances=2, task=task)
    return m.JobConfiguration.model_validate(job_to_wire(job))


def test_the_bearer_token_is_the_declared_security_scheme(tmp_path: Path) -> None:
    spec = call(SchedulerWorld(tmp_path), "GET", "/openapi.json").json()
    schemes = spec["components"]["securitySchemes"]
    assert [s["scheme"] for s in schemes.values()] == ["bearer"]
    job = spec["paths"]["/api/v1/jobs/{role}/{environment}/{name}/kill"]["post"]
    assert job["security"] == [{name: []} for name in schemes]
    assert "security" not in spec["paths"]["/health"]["get"]


def test_answers_name_the_error(tmp_path: Path) -> None:
    world = SchedulerWorld(tmp_path)
    missing = call(world, "GET", "/api/v1/jobs")
    assert missing.status_code == 401 and missing.json()["code"] == "UNAUTHENTICATED"
    assert "missing 'Authorization: Bearer <token>'" in missing.json()["message"]
    basic = call(world, "GET", "/api/v1/jobs", headers={"Authorization": "Basic xyz"})
    assert basic.status_code == 401 and "must be 'Bearer <token>'" in basic.json()["message"]
    world.parts.jobs.create(typed(wire("svc")))
    again = call(world, "POST", "/api/v1/jobs", headers=ADMIN,
                 json={"job": wire("svc").model_dump(mode="json")})
    assert again.status_code == 409 and again.json()["code"] == "JOB_EXISTS"
    bad_key = call(world, "GET", "/api/v1/jobs/www/pr od/svc", headers=ADMIN)
    assert bad_key.status_code == 400 and "environment" in bad_key.json()["message"]

    def illegal() -> None:  # a state change no route should ask for, reaching the app
        raise IllegalTransition("restart", "1", RestartState.DONE, RestartState.ACTIVE)

    world.parts.app.add_api_route("/test/illegal", illegal)
    refused = call(world, "GET", "/test/illegal")
    assert refused.status_code == 409 and refused.json() == {
        "code": "CONFLICT", "message": "restart 1: illegal transition DONE -> ACTIVE"}


def test_metrics_in_prometheus_text_with_aurora_names(tmp_path: Path) -> None:
    world = SchedulerWorld(tmp_path)
    world.parts.jobs.create(typed(wire("svc")))
    world.rounds(3)
    assert call(world, "GET", "/api/v1/jobs", headers=ADMIN).status_code == 200
    text = call(world, "GET", "/metrics").text
    samples = dict(line.rsplit(" ", 1) for line in text.splitlines()
                   if line and not line.startswith("#"))
    assert float(samples['aurora_tasks{state="RUNNING"}']) == 2
    assert float(samples["task_store_RUNNING"]) == 2 and float(samples["task_store_LOST"]) == 0
    assert float(samples["aurora_placements_total"]) == 2
    assert float(samples["framework_registered"]) == 1
    assert float(samples["scheduler_resource_offers_total"]) >= 1
    assert float(samples['aurora_api_request_seconds_count{method="GET",route="/api/v1/jobs",'
                         'status="200"}']) == 1


def test_a_get_of_an_update_action_is_405_not_an_update_named_after_it(tmp_path: Path) -> None:
    world = SchedulerWorld(tmp_path)
    world.parts.jobs.create(typed(wire("svc")))
    for action in ("pause", "resume", "abort", "rollback", "pulse"):
        answer = call(world, "GET", f"/api/v1/updates/www/prod/svc/{action}", headers=ADMIN)
        assert answer.status_code == 405, (action, answer.text)
        assert answer.headers["Allow"] == "POST"
        assert answer.json()["code"] == "METHOD_NOT_ALLOWED"
    unknown = call(world, "GET", "/api/v1/updates/www/prod/svc/no-such-id", headers=ADMIN)
    assert unknown.status_code == 404
