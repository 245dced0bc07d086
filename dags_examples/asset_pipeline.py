"""A cron job's DAG feeding a downstream DAG through an asset, not through a clock.

``aurora_assets__www_data__devel__tmp_usage_report`` is the cron job of
``cron_report.aurora`` as a DAG (``dags_from_aurora``); with ``emit_assets=True`` each run
that succeeds emits the job's asset. ``aurora_usage_digest`` is scheduled on that asset:
Airflow starts it after every successful report, whatever the cron schedule is.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from airflow.sdk import DAG, task

from aurora_provider.dag_factory import dags_from_aurora, job_asset

REPORT_JOB = "devcluster/www-data/devel/tmp_usage_report"

globals().update(dags_from_aurora("cron_report.aurora", dag_id_prefix="aurora_assets",
                                  emit_assets=True))

with DAG(
    dag_id="aurora_usage_digest",
    schedule=[job_asset(REPORT_JOB)],
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["aurora", "example"],
):

    @task
    def digest(triggering_asset_events: Any = None) -> list[str]:
        """Name the report runs that triggered this one."""
        seen = [f"{asset.uri} at {event.timestamp.isoformat()}"
                for asset, events in (triggering_asset_events or {}).items()
                for event in events]
        print("usage reports:", ", ".join(seen) or "none (started by hand)")
        return seen

    digest()
