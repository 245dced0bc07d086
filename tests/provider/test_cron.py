"""Cron jobs driven from Airflow: schedule, start a run, wait for it, deschedule."""

from __future__ import annotations

import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from aurora_provider.api import ApiError
from aurora_provider.config import job_to_wire, load_source
from tests.daemon import Daemon
from tests.eventually import eventually
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


HOURLY = """
jobs = [Job(cluster='devcluster', role='www-data', environment='test', name='hourly',
            cron_schedule='0 * * * *', task=SimpleTask('hourly', 'echo hourly work'))]
"""


def _reschedules(airflow_home: str, dag_id: str) -> int:
    with sqlite3.connect(Path(airflow_home) / "airflow.db", timeout=1) as db:
        (count,) = db.execute(
            "SELECT count(*) FROM task_reschedule WHERE ti_id IN (SELECT id FROM task_instance"
            " WHERE dag_id = ?)", (dag_id,)).fetchone()
    return int(count)


@pytest.mark.parametrize("scheduler", ["local"], indirect=True)  # the sensor's side
def test_a_rescheduled_cron_sensor_finds_a_run_between_its_pokes(
        airflow_env: dict[str, str], scheduler: Daemon) -> None:
    key = "devcluster/www-data/test/hourly"
    dag_id = "aurora_test_cron_rescheduled"
    env = {**airflow_env, "AIRFLOW__CORE__DAGS_FOLDER": str(CRON.parent)}
    with scheduler.client() as client:
        client.schedule_cron(job_to_wire(load_source(HOURLY, name="<test>").pick(key)))
    before = _reschedules(env["AIRFLOW_HOME"], dag_id)  # the session's Airflow: earlier runs
    try:
        with ThreadPoolExecutor(1) as pool:
            running = pool.submit(run_dag, env, CRON, dag_id)
            # Its slot given back once (not deferred), the run starts and ends before the
            # next poke, which must still count it.
            eventually(lambda: running.done() or
                       _reschedules(env["AIRFLOW_HOME"], dag_id) > before,
                       timeout=120, ignore=(sqlite3.OperationalError,),
                       what="the sensor to reschedule")
            with scheduler.client() as client:
                client.start_cron(key)
            outcome = running.result()
        assert outcome.state == "success", outcome.output[-4000:]
        assert _reschedules(env["AIRFLOW_HOME"], dag_id) > before
    finally:
        with scheduler.client() as client:
            client.deschedule_cron(key)
