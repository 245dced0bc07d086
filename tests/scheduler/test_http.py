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


def test_a_literal_segment_wins_over_a_parameter_of_another_route() -> None:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from aurora_provider.framework.http.literal_routes import prefer_literal_segments

    app = FastAPI()

    @app.get("/things/{thing}")
    def get_thing(thing: str) -> str:
        return thing

    @app.post("/things/special")
    def special() -> str:
        return "done"

    @app.get("/things/{thing}/parts/{part}")
    def get_part(thing: str, part: str) -> str:
        return part

    prefer_literal_segments(app)
    with TestClient(app) as client:
        assert client.get("/things/ordinary").json() == "ordinary"
        assert client.post("/things/special").json() == "done"
        assert client.get("/things/special").status_code == 405
        assert client.get("/things/special/parts/p").json() == "p"  # no literal sibling


def test_a_stored_configuration_that_breaks_todays_rules_is_listed_with_its_problem(
        tmp_path: Path) -> None:
    """A store written before a rule existed (an infinite cpu) keeps its history readable."""
    import json

    import sqlalchemy as sa

    from aurora_provider.framework.storage.tables import task_configs

    world = SchedulerWorld(tmp_path)
    world.parts.jobs.create(typed(wire("svc")))
    with world.parts.store.engine.begin() as conn:
        row = conn.execute(sa.select(task_configs)).one()
        config = json.loads(row.config)
        config["task"]["resources"]["cpu"] = float("inf")
        conn.execute(task_configs.update().values(config=json.dumps(config)))
    answer = call(world, "GET", "/api/v1/jobs/www/prod/svc/configs", headers=ADMIN)
    assert answer.status_code == 200, answer.text
    (version,) = answer.json()["configs"]
    assert version["job"] is None
    assert version["problem"] == ("stored configuration no longer valid: "
                                  "task.resources.cpu: Input should be a finite number")


def test_vars_serve_every_stat_under_aurora_names_without_a_token(tmp_path: Path) -> None:
    world = SchedulerWorld(tmp_path)
    world.parts.jobs.create(typed(wire("svc")))
    world.parts.scheduler.run_round()
    text = call(world, "GET", "/vars")
    assert text.status_code == 200 and text.headers["content-type"].startswith("text/plain")
    pairs = [line.split(" ") for line in text.text.splitlines()]
    assert all(len(p) == 2 for p in pairs)
    stats = {name: float(value) for name, value in pairs}
    assert [name for name, _ in pairs] == sorted(stats)
    assert stats["framework_registered"] == 1
    assert stats["task_store_ASSIGNED"] == 2 and stats["task_store_LOST"] == 0
    assert stats["scheduler_resource_offers"] >= 1 and stats["timed_out_tasks"] == 0
    assert stats["http_500_responses_events"] == 0
    assert stats["aurora_round_events"] == 1 and stats["aurora_round_nanos_total"] > 0
    assert stats["scheduler_lifecycle_ACTIVE"] == 1
    assert stats["scheduler_lifecycle_LEADER_AWAITING_REGISTRATION"] == 0
    assert stats["jvm_uptime_secs"] >= 0 and stats["system_load_avg"] >= 0
    assert not [n for n in stats if n.endswith(("_created", "_bucket"))]
    as_json = call(world, "GET", "/vars.json")
    assert as_json.status_code == 200
    # The same stats (the request counters move with each request, so compare the rest).
    steady = {n: v for n, v in stats.items() if not n.startswith(("aurora_api_request",
                                                                  "process_cpu", "system_"))}
    assert {n: v for n, v in as_json.json().items() if n in steady} == steady


def test_a_follower_says_so_in_its_lifecycle_stats() -> None:
    from prometheus_client import CollectorRegistry

    from aurora_provider.framework.http.stat_vars import lifecycle_state, stat_vars

    assert lifecycle_state(leader=False, ready=False) == "STORAGE_PREPARED"
    assert lifecycle_state(leader=True, ready=False) == "LEADER_AWAITING_REGISTRATION"
    stats = stat_vars(CollectorRegistry(), started_at=100.0, state="STORAGE_PREPARED",
                      now=160.5)
    assert stats["jvm_uptime_secs"] == 60
    assert stats["scheduler_lifecycle_STORAGE_PREPARED"] == 1
    assert stats["scheduler_lifecycle_ACTIVE"] == 0
