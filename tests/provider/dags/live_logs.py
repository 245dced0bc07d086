"""A job that prints a line a second for ~4 s, run deferred and in place, with its output
followed live (run by tests/provider/test_live_logs.py)."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from aurora_provider.operators.job import AuroraRunJobOperator


def ticker(name: str) -> str:
    return f"""
jobs = [Job(
  cluster='devcluster', role='www-data', environment='test', name={name!r},
  task=Task(
    processes=[Process(name='main', min_duration=0,
                       cmdline='for i in 1 2 3 4; do echo {name} tick $i; sleep 1; done')],
    resources=Resources(cpu=0.1, ram=16*MB, disk=16*MB),
  ),
)]
"""


with DAG(dag_id="aurora_test_live_logs", schedule=None, start_date=datetime(2024, 1, 1),
         catchup=False):
    deferred = AuroraRunJobOperator(
        task_id="deferred", job_key="devcluster/www-data/test/live_d", config=ticker("live_d"),
        poll_interval=0.5, if_running="kill")
    in_place = AuroraRunJobOperator(
        task_id="in_place", job_key="devcluster/www-data/test/live_p", config=ticker("live_p"),
        poll_interval=0.5, if_running="kill", deferrable=False)
    deferred >> in_place
