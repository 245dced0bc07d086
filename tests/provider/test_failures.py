"""What a DAG author sees when things go wrong: the task fails with the reason, in one line."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from airflow.sdk.bases.operator import TriggerFailureReason
from airflow.sdk.exceptions import TaskDeferralTimeout

from aurora_provider.operators.job import AuroraRunJobOperator
from tests.daemon import Daemon
from tests.eventually import eventually
from tests.provider.conftest import connection_json, run_dag

pytestmark = pytest.mark.integration

FAILURES = Path(__file__).with_name("dags") / "failures.py"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_failing_job_fails_its_operator_with_the_reason(
    airflow_env: dict[str, str], scheduler: Daemon
) -> None:
    env = {**airflow_env, "AIRFLOW__CORE__DAGS_FOLDER": str(FAILURES.parent)}
    outcome = run_dag(env, FAILURES, "aurora_test_failing_job")
    assert outcome.state == "failed"
    assert "instance 0 FAILED" in outcome.output
    # The process's own output was copied into the task log, from both runs.
    assert "broken input" in outcome.output
    with scheduler.client() as client:
        status = client.job_status("devcluster/www-data/test/always_fails")
    assert not status.active
    assert sorted(t.status for t in status.terminal) == ["FAILED", "FAILED"]


def test_an_unreachable_scheduler_is_retried_then_named(airflow_env: dict[str, str]) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    env = {**airflow_env, "AIRFLOW__CORE__DAGS_FOLDER": str(FAILURES.parent),
           "AIRFLOW_CONN_AURORA_UNREACHABLE": connection_json(url, "some-token")}
    outcome = run_dag(env, FAILURES, "aurora_test_unreachable")
    assert outcome.state == "failed"
    assert f"cannot reach the scheduler at {url}" in outcome.output


def test_a_wrong_token_gets_a_clear_401(airflow_env: dict[str, str], scheduler: Daemon) -> None:
    env = {**airflow_env, "AIRFLOW__CORE__DAGS_FOLDER": str(FAILURES.parent),
           "AIRFLOW_CONN_AURORA_BAD_TOKEN": connection_json(scheduler.url, "not-a-token")}
    outcome = run_dag(env, FAILURES, "aurora_test_bad_token")
    assert outcome.state == "failed"
    assert "HTTP 401" in outcome.output


def test_a_bad_configuration_fails_without_retry(airflow_env: dict[str, str]) -> None:
    env = {**airflow_env, "AIRFLOW__CORE__DAGS_FOLDER": str(FAILURES.parent)}
    outcome = run_dag(env, FAILURES, "aurora_test_bad_config")
    assert outcome.state == "failed"
    assert outcome.tasks == {"create": "failed"}  # not up_for_retry, despite retries=3
    assert "unbound variables {{duration}}" in outcome.output


def test_an_update_that_rolls_back_fails_its_operator(
    airflow_env: dict[str, str], scheduler: Daemon
) -> None:
    key = "devcluster/www-data/test/doomed_update"
    env = {**airflow_env, "AIRFLOW__CORE__DAGS_FOLDER": str(FAILURES.parent)}
    try:
        outcome = run_dag(env, FAILURES, "aurora_test_update_rolls_back")
        assert outcome.state == "failed"
        assert outcome.tasks == {"create": "success", "update": "failed"}
        assert "ROLLED_BACK" in outcome.output
        assert "failing instances: 0" in outcome.output
        with scheduler.client() as client:
            assert client.update_details(key).status == "ROLLED_BACK"
    finally:
        with scheduler.client() as client:
            client.killall(key)


def assert_killed_on_timeout(scheduler: Daemon, key: str) -> None:
    with scheduler.client() as client:
        status = client.job_status(key)
    assert not status.active, [t.status for t in status.active]
    assert [t.status for t in status.terminal] == ["KILLED"]
    assert "the Airflow task timed out" in (status.terminal[0].events[-2].message or "")


def test_a_run_that_times_out_in_place_kills_its_job(airflow_env: dict[str, str],
                                                     scheduler: Daemon) -> None:
    env = {**airflow_env, "AIRFLOW__CORE__DAGS_FOLDER": str(FAILURES.parent)}
    outcome = run_dag(env, FAILURES, "aurora_test_run_timeout")
    assert outcome.state == "failed"
    assert "gave up after 4 s of waiting" in outcome.output
    assert_killed_on_timeout(scheduler, "devcluster/www-data/test/sleeper")


def test_a_deferred_run_that_times_out_kills_its_job(
    scheduler: Daemon, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What Airflow does when a deferral times out: resume the task in "__fail__".
    monkeypatch.setenv("AIRFLOW_CONN_AURORA_DEFAULT",
                       connection_json(scheduler.url, scheduler.token()))
    key = "devcluster/www-data/test/deferred_sleeper"
    operator = AuroraRunJobOperator(
        task_id="run", job_key=key,
        config="jobs = [Job(cluster='devcluster', role='www-data', environment='test', "
               "name='deferred_sleeper', task=SimpleTask('sleeper', 'sleep 600'))]")
    with scheduler.client() as client:
        client.create_job(operator.job_wire())
    with pytest.raises(TaskDeferralTimeout):
        operator.resume_execution(
            "__fail__", {"error": TriggerFailureReason.TRIGGER_TIMEOUT}, context={})
    eventually(lambda: not scheduler.client().job_status(key).active, what="the kill")
    assert_killed_on_timeout(scheduler, key)
