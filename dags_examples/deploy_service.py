"""Deploy the hello-world service and wait until every instance is RUNNING and healthy.

The operator creates the job from ``hello_world.aurora`` (beside this file) and defers
until the scheduler reports every instance RUNNING; the sensor then double-checks from a
separate task, as a downstream check before traffic would be sent.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from aurora_provider.operators.job import AuroraCreateJobOperator
from aurora_provider.sensors.job import AuroraJobSensor

JOB = "devcluster/www-data/prod/hello"

with DAG(
    dag_id="aurora_deploy_service",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["aurora", "example"],
    doc_md=__doc__,
):
    deploy = AuroraCreateJobOperator(
        task_id="deploy",
        job_key=JOB,
        config_file="hello_world.aurora",
        wait_until="RUNNING",
        poll_interval=1,
        wait_timeout=300,
    )
    all_running = AuroraJobSensor(
        task_id="all_running",
        job_key=JOB,
        states=["RUNNING"],
        poke_interval=1,
        timeout=300,
    )
    deploy >> all_running
