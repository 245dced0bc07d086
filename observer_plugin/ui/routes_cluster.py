"""The cluster page (roles, jobs, quotas, maintenance, updates, cron) and a role's page."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from aurora_provider.api import AsyncSchedulerClient
from aurora_provider.api.models import JobSummary, QuotaReport
from observer_plugin.ui.render import page
from observer_plugin.ui.sources import scheduler_client

router = APIRouter()
Scheduler = Annotated[AsyncSchedulerClient, Depends(scheduler_client)]


def role_of(key: str) -> str:
    """The role of ``cluster/role/env/name``."""
    parts = key.split("/")
    return parts[1] if len(parts) == 4 else parts[0]


def by_role(jobs: list[JobSummary]) -> dict[str, list[JobSummary]]:
    grouped: dict[str, list[JobSummary]] = {}
    for job in sorted(jobs, key=lambda j: j.key):
        grouped.setdefault(role_of(job.key), []).append(job)
    return grouped


def state_totals(jobs: list[JobSummary]) -> dict[str, int]:
    totals: Counter[str] = Counter()
    for job in jobs:
        totals.update(job.task_counts)
    return dict(sorted(totals.items()))


async def quotas(client: AsyncSchedulerClient, roles: list[str]) -> dict[str, QuotaReport]:
    reports = await asyncio.gather(*(client.get_quota(role) for role in roles))
    return dict(zip(roles, reports, strict=True))


@router.get("/", response_class=HTMLResponse)
async def cluster_page(request: Request, client: Scheduler) -> HTMLResponse:
    info, jobs, hosts, updates, cron = await asyncio.gather(
        client.cluster(), client.list_jobs(), client.host_status(),
        client.list_updates(status="active"), client.list_cron())
    grouped = by_role(jobs.jobs)
    cron_roles = {role_of(c.key) for c in cron.jobs}
    roles = sorted(set(grouped) | cron_roles)
    return page(request, "cluster.html", info=info, roles=roles, jobs=grouped,
                totals={role: state_totals(js) for role, js in grouped.items()},
                quotas=await quotas(client, roles), hosts=hosts.hosts,
                updates=updates.updates, cron=cron.jobs)


@router.get("/roles/{role}", response_class=HTMLResponse)
async def role_page(request: Request, role: str, client: Scheduler) -> HTMLResponse:
    jobs, quota, cron, updates = await asyncio.gather(
        client.list_jobs(f"*/{role}/*/*"), client.get_quota(role), client.list_cron(),
        client.list_updates(role=role, limit=50))
    return page(request, "role.html", role=role, jobs=sorted(jobs.jobs, key=lambda j: j.key),
                quota=quota, cron=[c for c in cron.jobs if role_of(c.key) == role],
                updates=updates.updates)
