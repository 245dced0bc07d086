"""DAGs whose Aurora jobs leave JSON results for XCom (run by tests/provider/test_xcom.py)."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from aurora_provider.operators.job import AuroraRunJobOperator

JOB = """
jobs = [Job(
  cluster='devcluster', role='www-data', environment='test', name='NAME', instances=COUNT,
  task=Task(processes=[Process(name='work', cmdline='''CMD''')],
            resources=Resources(cpu=0.1, ram=16*MB, disk=16*MB)),
)]
"""


def job(name: str, cmdline: str, instances: int = 1) -> dict[str, str]:
    text = JOB.replace("NAME", name).replace("COUNT", str(instances)).replace("CMD", cmdline)
    return {"job_key": f"devcluster/www-data/test/{name}", "config": text}


START = datetime(2024, 1, 1)
FAST = {"poll_interval": 0.3, "if_running": "kill", "live_logs": False}

with DAG(dag_id="aurora_test_xcom", schedule=None, start_date=START, catchup=False):
    # Deferred: the result is read in execute_complete after the trigger fired.
    AuroraRunJobOperator(
        task_id="by_env", deferrable=True, **FAST,
        **job("xcom_env", """printf '{"instance": %d}' {{mesos.instance}} > "$AURORA_XCOM_FILE" """,
              instances=2))
    # Waiting in place; the template names the same file.
    AuroraRunJobOperator(
        task_id="by_template", deferrable=False, **FAST,
        **job("xcom_template", """echo '{"via": "{{thermos.task_id}}"}' > {{thermos.xcom}}"""))
    AuroraRunJobOperator(task_id="nothing", deferrable=False, **FAST,
                         **job("xcom_nothing", "true"))
    AuroraRunJobOperator(task_id="not_pushed", deferrable=False, do_xcom_push=False, **FAST,
                         **job("xcom_not_pushed", """echo '[1]' > "$AURORA_XCOM_FILE" """))

with DAG(dag_id="aurora_test_xcom_malformed", schedule=None, start_date=START, catchup=False):
    AuroraRunJobOperator(
        task_id="malformed", deferrable=False, **FAST,
        **job("xcom_malformed", """echo '{"unfinished": ' > "$AURORA_XCOM_FILE" """))
