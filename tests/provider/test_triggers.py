"""Triggers: JSON-safe serialization that round-trips, and errors as events, never raised."""

from __future__ import annotations

import asyncio
import importlib
import json
import socket
from typing import Any

import pytest

from aurora_provider.triggers.job import AuroraJobTrigger, AuroraRestartTrigger
from aurora_provider.triggers.update import AuroraCronRunTrigger, AuroraUpdateTrigger
from aurora_provider.utils.job_waits import JobWait
from tests.daemon import Daemon
from tests.provider.conftest import connection_json

pytestmark = pytest.mark.integration


def rebuild(classpath: str, kwargs: dict[str, Any]) -> Any:
    module, _, name = classpath.rpartition(".")
    return getattr(importlib.import_module(module), name)(**kwargs)


def test_job_trigger_serializes_exactly_and_round_trips() -> None:
    trigger = AuroraJobTrigger(job_key="devcluster/www-data/prod/hello",
                               wait=JobWait.of(["RUNNING"], [0, 2], 1).to_json(),
                               aurora_conn_id="my_aurora", poll_interval=2.5)
    classpath, kwargs = trigger.serialize()
    assert classpath == "aurora_provider.triggers.job.AuroraJobTrigger"
    assert kwargs == {
        "job_key": "devcluster/www-data/prod/hello",
        "aurora_conn_id": "my_aurora",
        "poll_interval": 2.5,
        "wait": {"states": ["RUNNING"], "instances": [0, 2], "count": 1},
        "follow_logs": False, "log_cap_bytes": 2**20,
    }
    assert json.loads(json.dumps(kwargs)) == kwargs
    assert rebuild(classpath, kwargs).serialize() == (classpath, kwargs)


def test_restart_trigger_serializes_exactly_and_round_trips() -> None:
    trigger = AuroraRestartTrigger(job_key="c/r/e/n", restart_id=7)
    classpath, kwargs = trigger.serialize()
    assert classpath == "aurora_provider.triggers.job.AuroraRestartTrigger"
    assert kwargs == {"job_key": "c/r/e/n", "aurora_conn_id": "aurora_default",
                      "poll_interval": 5.0, "restart_id": 7}
    assert rebuild(classpath, kwargs).serialize() == (classpath, kwargs)


def test_update_trigger_serializes_exactly_and_round_trips() -> None:
    trigger = AuroraUpdateTrigger(job_key="c/r/e/n", update_id="u-1",
                                  success_states=["ROLL_FORWARD_PAUSED", "ROLLED_FORWARD"],
                                  pulse=True, poll_interval=1.0)
    classpath, kwargs = trigger.serialize()
    assert classpath == "aurora_provider.triggers.update.AuroraUpdateTrigger"
    assert kwargs == {"job_key": "c/r/e/n", "aurora_conn_id": "aurora_default",
                      "poll_interval": 1.0, "update_id": "u-1", "pulse": True,
                      "success_states": ["ROLLED_FORWARD", "ROLL_FORWARD_PAUSED"]}
    assert rebuild(classpath, kwargs).serialize() == (classpath, kwargs)


def test_cron_run_trigger_serializes_exactly_and_round_trips() -> None:
    trigger = AuroraCronRunTrigger(job_key="c/r/e/n", after=1700000000.5)
    classpath, kwargs = trigger.serialize()
    assert classpath == "aurora_provider.triggers.update.AuroraCronRunTrigger"
    assert kwargs == {"job_key": "c/r/e/n", "aurora_conn_id": "aurora_default",
                      "poll_interval": 5.0, "run_id": None, "after": 1700000000.5}
    assert rebuild(classpath, kwargs).serialize() == (classpath, kwargs)


def first_event(trigger: Any) -> dict[str, Any]:
    async def run() -> dict[str, Any]:
        async for event in trigger.run():
            return dict(event.payload)
        raise AssertionError("no event")

    return asyncio.run(run())


def test_an_unreachable_scheduler_is_an_error_event(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("AIRFLOW_CONN_AURORA_DEFAULT",
                       connection_json(f"http://127.0.0.1:{port}", "t"))
    # The trigger's client retries with the default policy first (about 3 s of backoff).
    event = first_event(AuroraJobTrigger(job_key="c/r/e/n", wait={"states": ["RUNNING"]}))
    assert event["status"] == "error"
    assert f"cannot reach the scheduler at http://127.0.0.1:{port}" in event["message"]


def test_a_bad_wait_is_an_error_event(scheduler: Daemon, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_AURORA_DEFAULT",
                       connection_json(scheduler.url, scheduler.token()))
    event = first_event(AuroraJobTrigger(job_key="devcluster/www-data/prod/nothing",
                                         wait={"states": ["RUNING"]}))
    assert event["status"] == "error"
    assert "RUNING" in event["message"]


def test_an_unknown_job_is_an_error_event(scheduler: Daemon,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_AURORA_DEFAULT",
                       connection_json(scheduler.url, scheduler.token()))
    event = first_event(AuroraJobTrigger(job_key="devcluster/www-data/prod/nothing",
                                         wait={"states": ["RUNNING"]}))
    assert event == {"status": "error", "job_key": "devcluster/www-data/prod/nothing",
                     "message": event["message"]}
    assert "not found" in event["message"] and "404" in event["message"]
