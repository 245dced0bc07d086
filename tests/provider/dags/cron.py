"""Cron operators and the cron-run sensor (run by tests/provider/test_cron.py)."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from aurora_provider.operators.cron import (
    AuroraCronDescheduleOperator,
    AuroraCronScheduleOperator,
    AuroraCronStartOperator,
)
from aurora_provider.sensors.update import AuroraCronRunSensor

NIGHTLY = """
jobs = [Job(
  cluster='devcluster', role='www-data', environment='test', name='{{job_name}}',
  cron_schedule='0 3 * * *',
  task=SimpleTask('nightly', '{{command}}'),
)]
"""
START = datetime(2024, 1, 1)

with DAG(dag_id="aurora_test_cron", schedule=None, start_date=START, catchup=False):
    key = "devcluster/www-data/test/nightly"
    schedule = AuroraCronScheduleOperator(
        task_id="schedule", job_key=key, config=NIGHTLY,
        bindings={"job_name": "nightly", "command": "echo nightly work"})
    start = AuroraCronStartOperator(task_id="start", job_key=key, poll_interval=0.5)
    ran = AuroraCronRunSensor(
        task_id="ran", job_key=key, poke_interval=0.5, timeout=120,
        after="{{ ti.xcom_pull(task_ids='schedule')['scheduled_at'] }}")
    deschedule = AuroraCronDescheduleOperator(task_id="deschedule", job_key=key)
    schedule >> start >> ran >> deschedule

with DAG(dag_id="aurora_test_cron_fails", schedule=None, start_date=START, catchup=False):
    key = "devcluster/www-data/test/broken_nightly"
    AuroraCronScheduleOperator(
        task_id="schedule", job_key=key, config=NIGHTLY,
        bindings={"job_name": "broken_nightly", "command": "exit 4"},
    ) >> AuroraCronStartOperator(task_id="start", job_key=key, poll_interval=0.5)

with DAG(dag_id="aurora_test_cron_rescheduled", schedule=None, start_date=START,
         catchup=False):
    # No ``after``: the run to wait for is the first one from the sensor's first poke on,
    # though each later poke is a new process. Deferrable (the default), yet the mode named
    # here is the one used.
    AuroraCronRunSensor(task_id="ran", job_key="devcluster/www-data/test/hourly",
                        mode="reschedule", poke_interval=1, timeout=120)
