"""DAGs that must fail, each with a clear message (run by tests/provider/test_failures.py)."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from aurora_provider.operators.job import AuroraCreateJobOperator, AuroraRunJobOperator
from aurora_provider.operators.update import AuroraUpdateJobOperator

FAILING_JOB = """
jobs = [Job(
  cluster='devcluster', role='www-data', environment='test', name='always_fails',
  max_task_failures=2,
  task=Task(
    processes=[Process(name='crunch', cmdline='echo crunching; echo broken input >&2; exit 3')],
    resources=Resources(cpu=0.1, ram=16*MB, disk=16*MB),
  ),
)]
"""

SERVICE = """
jobs = [Service(
  cluster='devcluster', role='www-data', environment='test', name='never_created',
  task=SimpleTask('sleeper', 'sleep 600'),
)]
"""

START = datetime(2024, 1, 1)

with DAG(dag_id="aurora_test_failing_job", schedule=None, start_date=START, catchup=False):
    AuroraRunJobOperator(task_id="run", job_key="devcluster/www-data/test/always_fails",
                         config=FAILING_JOB, poll_interval=0.5, if_running="kill")

with DAG(dag_id="aurora_test_unreachable", schedule=None, start_date=START, catchup=False):
    AuroraCreateJobOperator(task_id="create", job_key="devcluster/www-data/test/never_created",
                            config=SERVICE, aurora_conn_id="aurora_unreachable")

with DAG(dag_id="aurora_test_bad_token", schedule=None, start_date=START, catchup=False):
    AuroraCreateJobOperator(task_id="create", job_key="devcluster/www-data/test/never_created",
                            config=SERVICE, aurora_conn_id="aurora_bad_token")

with DAG(dag_id="aurora_test_bad_config", schedule=None, start_date=START, catchup=False):
    AuroraCreateJobOperator(task_id="create", job_key="devcluster/www-data/test/never_created",
                            config=SERVICE.replace("sleep 600", "sleep {{duration}}"),
                            retries=3)

UPDATABLE = """
jobs = [Service(
  cluster='devcluster', role='www-data', environment='test', name='doomed_update',
  instances=2,
  task=SimpleTask('server', '{{command}}'),
  update_config=UpdateConfig(watch_secs=2, batch_size=1),
)]
"""

with DAG(dag_id="aurora_test_update_rolls_back", schedule=None, start_date=START,
         catchup=False):
    create = AuroraCreateJobOperator(
        task_id="create", job_key="devcluster/www-data/test/doomed_update", config=UPDATABLE,
        bindings={"command": "sleep 600"}, poll_interval=0.5)
    update = AuroraUpdateJobOperator(
        task_id="update", job_key="devcluster/www-data/test/doomed_update", config=UPDATABLE,
        bindings={"command": "echo cannot start; exit 1"}, poll_interval=0.5)
    create >> update

SLEEPER = """
jobs = [Job(
  cluster='devcluster', role='www-data', environment='test', name='{{job_name}}',
  task=SimpleTask('sleeper', 'sleep 600'),
)]
"""

# Waiting in place: dag.test() runs deferred triggers inline without their timeout, so
# the deferred timeout is tested on the operator itself (test_failures.py).
with DAG(dag_id="aurora_test_run_timeout", schedule=None, start_date=START, catchup=False):
    AuroraRunJobOperator(
        task_id="run", job_key="devcluster/www-data/test/sleeper", config=SLEEPER,
        bindings={"job_name": "sleeper"}, deferrable=False, wait_timeout=4,
        poll_interval=0.5, if_running="kill")
