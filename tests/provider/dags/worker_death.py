"""A DAG whose first try's worker is killed mid-run (by tests/provider/test_worker_death.py).

The operator writes its process id where the test finds it, so the test kills exactly the
process that runs the task, as a dying worker would.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from airflow.sdk import DAG

from aurora_provider.operators.job import AuroraRunJobOperator

JOB = """
jobs = [Job(
  cluster='devcluster', role='www-data', environment='test', name='survivor',
  task=Task(processes=[Process(name='work', cmdline='sleep 6; echo survived')],
            resources=Resources(cpu=0.1, ram=16*MB, disk=16*MB)),
)]
"""


class RecordingRunJob(AuroraRunJobOperator):
    def execute(self, context: Any) -> Any:
        Path(os.environ["AURORA_TEST_PID_DIR"], f"try{context['ti'].try_number}").write_text(
            str(os.getpid()))
        return super().execute(context)


with DAG(dag_id="aurora_test_worker_death", schedule=None, start_date=datetime(2024, 1, 1),
         catchup=False):
    RecordingRunJob(task_id="run", job_key="devcluster/www-data/test/survivor", config=JOB,
                    deferrable=False, poll_interval=0.5, retries=1,
                    retry_delay=timedelta(seconds=1), live_logs=False)
