"""Run an ad-hoc batch job to completion, with its processes' output in the Airflow log.

``sum_numbers`` (``process_kinds.aurora``) fetches numbers, sums them, and publishes the
total from a final process; the operator succeeds when every instance FINISHED and copies
each process's stdout and stderr into this task's log.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from aurora_provider.operators.job import AuroraRunJobOperator

with DAG(
    dag_id="aurora_batch_job",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["aurora", "example"],
    doc_md=__doc__,
):
    AuroraRunJobOperator(
        task_id="sum_numbers",
        job_key="devcluster/www-data/test/sum_numbers",
        config_file="process_kinds.aurora",
        if_running="kill",
        poll_interval=1,
        wait_timeout=600,
    )
