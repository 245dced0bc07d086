"""Cron jobs of a ``.aurora`` file as Airflow DAGs.

Each job with a ``cron_schedule`` becomes a DAG on that schedule (UTC, as Aurora's cron)
whose one task runs the job's template to completion as an ad-hoc job. One run at a time;
no catch-up unless asked. Aurora's collision policies map onto what a new run does when
the job is still running from an earlier one: KILL_EXISTING kills it first, CANCEL_NEW
skips the new run.

In a DAG file::

    from aurora_provider.dag_factory import dags_from_aurora
    globals().update(dags_from_aurora("jobs/cron_report.aurora"))

With ``emit_assets=True`` each run that succeeds emits the job's asset (``job_asset``), so a
downstream DAG can be scheduled on a cron job's output instead of on a clock.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from airflow.sdk import DAG, Asset

from aurora_provider.config import ConfigError, JobKey, load
from aurora_provider.config.binding_helpers import BindingHelper, HelperRef
from aurora_provider.operators.job import AuroraRunJobOperator

COLLISION_TO_IF_RUNNING = {"KILL_EXISTING": "kill", "CANCEL_NEW": "skip"}
DEFAULT_START = datetime(2024, 1, 1, tzinfo=UTC)


def job_asset(key: JobKey | str) -> Asset:
    """The asset a cron job's DAG emits when its run succeeds (``emit_assets=True``): the
    same value for the producing DAG and for a DAG scheduled on it."""
    job = key if isinstance(key, JobKey) else JobKey.parse(key)
    return Asset(uri=f"aurora://{job.cluster}/{job.role}/{job.environment}/{job.name}",
                 name=f"aurora_job__{job.role}__{job.environment}__{job.name}")


def dag_id_for(key: JobKey, prefix: str = "aurora_cron") -> str:
    return f"{prefix}__{key.role}__{key.environment}__{key.name}".replace("-", "_")


def dags_from_aurora(
    config_file: str | Path,
    *,
    bindings: Mapping[str, str] | None = None,
    aurora_conn_id: str = "aurora_default",
    catchup: bool = False,
    start_date: datetime = DEFAULT_START,
    dag_id_prefix: str = "aurora_cron",
    default_args: Mapping[str, Any] | None = None,
    tags: list[str] | None = None,
    emit_assets: bool = False,
) -> dict[str, DAG]:
    """One DAG per cron job of ``config_file`` (relative paths: beside the calling file).

    :param emit_assets: each DAG's run task has the job's ``job_asset`` as its outlet.
    """
    path = _beside_caller(Path(config_file))
    config = load(path, bindings=dict(bindings or {}), helpers=_AT_RUN_TIME)
    dags: dict[str, DAG] = {}
    for key in config.job_keys():
        job = config.pick(key)
        if not job.has_cron_schedule():
            continue
        policy = str(job.cron_collision_policy().get())
        if policy not in COLLISION_TO_IF_RUNNING:
            raise ConfigError(f"{path}: job {key}: cron_collision_policy {policy!r} cannot "
                              f"become a DAG; use KILL_EXISTING or CANCEL_NEW")
        dag_id = dag_id_for(key, dag_id_prefix)
        with DAG(
            dag_id=dag_id,
            schedule=str(job.cron_schedule().get()),
            start_date=start_date,
            catchup=catchup,
            max_active_runs=1,
            default_args=dict(default_args or {}),
            tags=[*(tags or []), "aurora", "aurora-cron"],
            description=f"Aurora cron job {key} from {path.name}",
        ) as dag:
            AuroraRunJobOperator(
                task_id="run",
                job_key=str(key),
                config_file=str(path),
                bindings=dict(bindings or {}),
                run_cron_template=True,
                if_running=COLLISION_TO_IF_RUNNING[policy],
                aurora_conn_id=aurora_conn_id,
                outlets=[job_asset(key)] if emit_assets else [],
            )
        dags[dag_id] = dag
    return dags


def _as_written(ref: HelperRef) -> str:
    # docker.image[NAME][TAG] -> NAME:TAG, an image reference that validates as the pinned one
    return ":".join(ref.path[1:]) or ref.address


# Parsing a DAG file asks no registry (it happens every few seconds): the helpers' refs stand
# for what they name, and the run task pins them when it submits the job.
_AT_RUN_TIME = {"docker": BindingHelper(_as_written)}


def _beside_caller(path: Path) -> Path:
    if path.is_absolute():
        return path
    frame = inspect.stack()[2]
    return Path(frame.filename).resolve().parent / path
