"""Every cron job of ``cron_report.aurora`` as an Airflow DAG.

The DAG runs on the job's ``cron_schedule``; its task runs the job's template once to
completion. The job's CANCEL_NEW collision policy becomes "skip this run while the
previous one is still going" (KILL_EXISTING would kill the previous one first).
"""

from __future__ import annotations

from aurora_provider.dag_factory import dags_from_aurora

globals().update(dags_from_aurora("cron_report.aurora"))
