"""DAGs of the run-job lifecycle: reattach on retry, finish actions, a rescheduling sensor
(run by tests/provider/test_run_job_lifecycle.py)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import DAG
from airflow.sdk.exceptions import AirflowException

from aurora_provider.operators.job import AuroraRunJobOperator
from aurora_provider.sensors.job import AuroraJobSensor

START = datetime(2024, 1, 1)

SLOW = """
jobs = [Job(
  cluster='devcluster', role='www-data', environment='test', name='reattached',
  task=Task(
    processes=[Process(name='work', cmdline='sleep 3; echo work done')],
    resources=Resources(cpu=0.1, ram=16*MB, disk=16*MB),
  ),
)]
"""

HALF_FAILS = """
jobs = [Job(
  cluster='devcluster', role='www-data', environment='test', name='half_fails',
  instances=2, max_task_failures=1,
  task=Task(
    processes=[Process(name='work',
                       cmdline='if [ {{mesos.instance}} = 0 ]; then exit 4; fi; sleep 600')],
    resources=Resources(cpu=0.1, ram=16*MB, disk=16*MB),
  ),
)]
"""


class DiesInFirstWait(AuroraRunJobOperator):
    """Its first try ends right after creating the job, as a worker lost mid-wait would."""

    def wait_for_job(self, context: Any, *args: Any, **kwargs: Any) -> Any:
        if context["ti"].try_number == 1:
            raise AirflowException("simulated: the worker of try 1 died")
        return super().wait_for_job(context, *args, **kwargs)


# One DAG for the whole lifecycle: every dag.test() pays Airflow's start-up once.
with DAG(dag_id="aurora_test_lifecycle", schedule=None, start_date=START, catchup=False):
    DiesInFirstWait(task_id="reattach", job_key="devcluster/www-data/test/reattached",
                    config=SLOW, poll_interval=0.5, retries=1, retry_delay=timedelta(0))
    # A job of another run is there already (the test made it): if_running="fail" fails.
    AuroraRunJobOperator(task_id="foreign", job_key="devcluster/www-data/test/foreign",
                         config=SLOW.replace("'reattached'", "'foreign'"), poll_interval=0.5)
    AuroraRunJobOperator(task_id="finish_kill", job_key="devcluster/www-data/test/half_fails",
                         config=HALF_FAILS, poll_interval=0.5, on_finish_action="kill",
                         copy_logs=False)
    AuroraJobSensor(task_id="sensor", job_key="devcluster/www-data/test/sensed",
                    states=["FINISHED"], mode="reschedule", deferrable=False,
                    poke_interval=1, timeout=120)
