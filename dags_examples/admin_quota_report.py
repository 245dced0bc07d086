"""An admin DAG: a daily report of every role's quota and what its jobs consume.

Reads the roles of the jobs the scheduler knows, asks for each role's quota and
production use, logs a table, and returns it (XCom) for whatever comes next: a
notification, a dashboard, a ticket when a role is near its quota.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from airflow.sdk import DAG, task

from aurora_provider.hooks.aurora import AuroraHook

NEAR_QUOTA = 0.8  # flag roles using more than this share of a resource


@task
def quota_report(aurora_conn_id: str = "aurora_default") -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with AuroraHook(aurora_conn_id).get_conn() as client:
        roles = sorted({job.key.split("/")[1] for job in client.list_jobs().jobs})
        for role in roles:
            report = client.get_quota(role)
            quota, used = report.quota, report.production
            shares = {
                "cpu": used.cpu / quota.cpu if quota.cpu else None,
                "ram": used.ram_mb / quota.ram_mb if quota.ram_mb else None,
                "disk": used.disk_mb / quota.disk_mb if quota.disk_mb else None,
            }
            rows.append({"role": role, "quota": quota.model_dump(),
                         "production": used.model_dump(),
                         "non_production": report.non_production.model_dump(),
                         "near_quota": [r for r, s in shares.items() if s and s > NEAR_QUOTA]})
    lines = [f"{'role':<20} {'cpu used/quota':>16} {'ram MB used/quota':>20} near quota"]
    for row in rows:
        q, u = row["quota"], row["production"]
        lines.append(f"{row['role']:<20} {u['cpu']:>7g}/{q['cpu']:<8g} "
                     f"{u['ram_mb']:>9g}/{q['ram_mb']:<10g} {', '.join(row['near_quota'])}")
    print("\n".join(lines))
    return rows


with DAG(
    dag_id="aurora_admin_quota_report",
    schedule="@daily",
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["aurora", "example", "admin"],
    doc_md=__doc__,
):
    quota_report()
