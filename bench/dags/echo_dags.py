"""The two DAGs bench/airflow.py compares: `echo hi` through Aurora and through Bash."""

from __future__ import annotations

from datetime import datetime

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG

from aurora_provider.operators.job import AuroraRunJobOperator

ECHO = """
jobs = [Job(cluster='devcluster', role='bench', environment='test', name='echo_hi',
            task=SimpleTask('echo_hi', 'echo hi'))]
"""

with DAG(dag_id="bench_aurora_echo", schedule=None, start_date=datetime(2024, 1, 1)):
    AuroraRunJobOperator(task_id="echo", job_key="devcluster/bench/test/echo_hi", config=ECHO,
                         poll_interval=0.2, if_running="kill")

with DAG(dag_id="bench_bash_echo", schedule=None, start_date=datetime(2024, 1, 1)):
    BashOperator(task_id="echo", bash_command="echo hi")
