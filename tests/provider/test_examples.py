"""Every example DAG, run with ``dag.test()`` against the real scheduler (deferrable paths:
the triggers run inline)."""

from __future__ import annotations

import pytest

from aurora_provider.config import job_to_wire, load
from tests.daemon import Daemon
from tests.provider.conftest import EXAMPLES, run_dag

pytestmark = pytest.mark.integration


def test_deploy_service_waits_until_running(airflow_env: dict[str, str],
                                            scheduler: Daemon) -> None:
    outcome = run_dag(airflow_env, EXAMPLES / "deploy_service.py", "aurora_deploy_service")
    try:
        assert outcome.state == "success", outcome.output[-4000:]
        assert outcome.tasks == {"deploy": "success", "all_running": "success"}
        with scheduler.client() as client:
            status = client.job_status("devcluster/www-data/prod/hello")
        assert [t.status for t in status.active] == ["RUNNING"]
    finally:
        with scheduler.client() as client:
            client.killall("devcluster/www-data/prod/hello")


def test_batch_job_runs_to_completion_with_logs(airflow_env: dict[str, str]) -> None:
    outcome = run_dag(airflow_env, EXAMPLES / "batch_job.py", "aurora_batch_job")
    assert outcome.state == "success", outcome.output[-4000:]
    # sum(1..1000) printed by the final 'publish' process, copied into the task log.
    assert "500500" in outcome.output
    assert "process publish" in outcome.output


def test_cron_file_becomes_a_dag_that_runs_the_template(airflow_env: dict[str, str]) -> None:
    dag_id = "aurora_cron__www_data__devel__tmp_usage_report"
    outcome = run_dag(airflow_env, EXAMPLES / "cron_jobs.py", dag_id)
    assert outcome.state == "success", outcome.output[-4000:]
    assert "/tmp uses" in outcome.output


def test_rolling_update_checks_the_canary_between_batches(airflow_env: dict[str, str],
                                                         scheduler: Daemon) -> None:
    key = "devcluster/www-data/test/canary_web"
    outcome = run_dag(airflow_env, EXAMPLES / "rolling_update.py", "aurora_rolling_update")
    try:
        assert outcome.state == "success", outcome.output[-4000:]
        assert set(outcome.tasks.values()) == {"success"}
        with scheduler.client() as client:
            update = client.update_details(key)
            assert update.status == "ROLLED_FORWARD"
            paused = [e.status for e in update.events].count("ROLL_FORWARD_PAUSED")
            assert paused >= 1  # it waited for the canary check
            status = client.job_status(key)
        assert sorted(t.instance for t in status.active) == [0, 1, 2]
        assert "serves" not in outcome.output  # the canary check passed
    finally:
        with scheduler.client() as client:
            client.killall(key)


def test_admin_quota_report(airflow_env: dict[str, str], scheduler: Daemon) -> None:
    key = "devcluster/www-data/prod/hello"
    job = load(EXAMPLES / "hello_world.aurora").pick(key)
    with scheduler.client() as client:
        client.set_quota("www-data", 4, 4096, 8192)
        client.create_job(job_to_wire(job))
    try:
        outcome = run_dag(airflow_env, EXAMPLES / "admin_quota_report.py",
                          "aurora_admin_quota_report")
    finally:
        with scheduler.client() as client:
            client.killall(key)
    assert outcome.state == "success", outcome.output[-4000:]
    assert "www-data" in outcome.output and "/4096" in outcome.output
