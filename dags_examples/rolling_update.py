"""Release a new version of a service canary-first, with a check between batches.

``canary_web.aurora`` updates in batches of 1 then 2 and pauses after each batch. The DAG
makes sure the service runs, starts the update, waits until the first batch (the canary)
is in and the update paused, checks that the canary serves the new version, resumes, and
waits until the update rolled forward. A failed check fails the DAG with the update
paused, ready for ``aurora update rollback`` (or an ``AuroraRollbackUpdateOperator``).

Trigger with ``{"version": "3"}`` as the run's conf to release another version.
"""

from __future__ import annotations

from datetime import datetime

import httpx
from airflow.sdk import DAG, task

from aurora_provider.hooks.aurora import AuroraHook
from aurora_provider.operators.job import AuroraCreateJobOperator
from aurora_provider.operators.update import (
    AuroraResumeUpdateOperator,
    AuroraUpdateJobOperator,
)
from aurora_provider.sensors.update import AuroraUpdateSensor

JOB = "devcluster/www-data/test/canary_web"
UPDATE_ID = "{{ ti.xcom_pull(task_ids='update', key='update_id') }}"
VERSION = "{{ dag_run.conf.get('version', params.version) }}"


@task
def check_canary(version: str, instance: int = 0) -> str:
    """The canary answers on its port with the new version."""
    with AuroraHook().get_conn() as client:
        active = client.job_task_lists(JOB, terminal_limit=0).active
    canary = next(t for t in active if t.instance == instance)
    page = httpx.get(f"http://127.0.0.1:{canary.ports['http']}/", timeout=10).text
    if f"version {version}," not in page:
        raise ValueError(f"canary instance {instance} serves {page.strip()!r}, "
                         f"not version {version}")
    return page.strip()


with DAG(
    dag_id="aurora_rolling_update",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    params={"version": "2"},
    tags=["aurora", "example"],
    doc_md=__doc__,
):
    deployed = AuroraCreateJobOperator(
        task_id="deployed", job_key=JOB, config_file="canary_web.aurora",
        bindings={"version": "1"}, if_exists="skip", wait_until="RUNNING", poll_interval=1,
    )
    update = AuroraUpdateJobOperator(
        task_id="update", job_key=JOB, config_file="canary_web.aurora",
        bindings={"version": VERSION}, wait=False,
    )
    canary_in = AuroraUpdateSensor(
        task_id="canary_in", job_key=JOB, update_id=UPDATE_ID,
        success_states=["ROLL_FORWARD_PAUSED"], poke_interval=1, timeout=300,
    )
    resume = AuroraResumeUpdateOperator(task_id="resume", job_key=JOB, update_id=UPDATE_ID)
    rolled_forward = AuroraUpdateSensor(
        task_id="rolled_forward", job_key=JOB, update_id=UPDATE_ID, poke_interval=1,
        timeout=300,
    )
    deployed >> update >> canary_in >> check_canary(VERSION) >> resume >> rolled_forward
