"""Cron jobs driven from Airflow: schedule, start a run, wait for it, deschedule."""

from __future__ import annotations

from pathlib import Path

import pytest

from aurora_provider.api import ApiError
from tests.daemon import Daemon
from tests.provider.conftest import run_dag

pytestmark = pytest.mark.integration

CRON = Path(__file__).with_name("dags") / "cron.py"


def test_schedule_start_wait_deschedule(airflow_env: dict[str, str], scheduler: Daemon) -> None:
    env = {**airflow_env, "AIRFLOW__CORE__DAGS_FOLDER": str(CRON.parent)}
    outcome = run_dag(env, CRON, "aurora_test_cron")
    assert outcome.state == "success", outcome.output[-4000:]
    assert set(outcome.tasks.values()) == {"success"}
    with scheduler.client() as client, pytest.raises(ApiError) as gone:
        client.cron_job("devcluster/www-data/test/nightly")
    assert gone.value.status == 404


def test_a_failed_cron_run_fails_the_start_operator(airflow_env: dict[str, str],
                                                   scheduler: Daemon) -> None:
    env = {**airflow_env, "AIRFLOW__CORE__DAGS_FOLDER": str(CRON.parent)}
    try:
        outcome = run_dag(env, CRON, "aurora_test_cron_fails")
        assert outcome.state == "failed"
        assert outcome.tasks == {"schedule": "success", "start": "failed"}
        assert "broken_nightly: FAILED" in outcome.output
    finally:
        with scheduler.client() as client:
            client.deschedule_cron("devcluster/www-data/test/broken_nightly")
