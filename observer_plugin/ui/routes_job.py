"""A job's page (instances, history, configuration, updates, cron runs) and an update's."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from aurora_provider.api import AsyncSchedulerClient, CronJobNotFound, NotFound
from aurora_provider.api.models import UpdateDetails
from observer_plugin.ui.configs import config_diff, readable
from observer_plugin.ui.render import message, page
from observer_plugin.ui.sources import scheduler_client

router = APIRouter()
Scheduler = Annotated[AsyncSchedulerClient, Depends(scheduler_client)]

HISTORY = 100  # terminal tasks shown on a job's page, newest first
UPDATES = 10  # updates listed; the newest few with their per-instance progress
DETAILED_UPDATES = 3


async def _or_none(call: Any) -> Any:
    try:
        return await call
    except NotFound:
        return None


async def _configs(client: AsyncSchedulerClient, key: str) -> list[Any]:
    history = await _or_none(client.job_configs(key))
    # A configuration today's rules refuse (stored by an earlier scheduler) has no job to show.
    return [c for c in history.configs if c.job is not None] if history is not None else []


async def _cron(client: AsyncSchedulerClient, key: str) -> tuple[Any, list[Any]]:
    try:
        cron = await client.cron_job(key)
    except CronJobNotFound:
        return None, []
    runs = await client.cron_runs(key, limit=20)
    return cron, runs.runs


async def _updates(client: AsyncSchedulerClient, role: str, env: str,
                   name: str) -> tuple[list[Any], list[UpdateDetails]]:
    listed = await client.list_updates(role=role, environment=env, name=name, limit=UPDATES)
    key = f"{role}/{env}/{name}"
    details = await asyncio.gather(*(
        _or_none(client.update_details(key, u.update_id))
        for u in listed.updates[:DETAILED_UPDATES]))
    return listed.updates, [d for d in details if d is not None]


@router.get("/jobs/{cluster}/{role}/{env}/{name}", response_class=HTMLResponse)
async def job_page(request: Request, cluster: str, role: str, env: str, name: str,
                   client: Scheduler) -> HTMLResponse:
    key = f"{role}/{env}/{name}"
    # The summary and pages, not the full status: the page shows every active task but only
    # the newest HISTORY terminal ones (with their events).
    summary, tasks, configs, (cron, runs), (updates, details) = await asyncio.gather(
        _or_none(client.job_summary(key)),
        _or_none(client.job_task_lists(key, terminal_limit=HISTORY, events=True)),
        _configs(client, key), _cron(client, key), _updates(client, role, env, name))
    if summary is None and cron is None and not configs:
        return message(request, "No such job",
                       f"the scheduler knows no job {cluster}/{key}", 404)
    diff: list[str] = []
    current = readable(configs[0].job) if configs else None
    if len(configs) > 1 and current is not None:
        diff = config_diff(readable(configs[1].job), current,
                           old=f"config {configs[1].config_id}",
                           new=f"config {configs[0].config_id}")
    active = tasks.active if tasks else []  # by instance
    terminal = tasks.terminal if tasks else []  # newest first
    terminal_total = sum(summary.terminal.values()) if summary else 0
    return page(request, "job.html", cluster=cluster, key=key, full_key=f"{cluster}/{key}",
                role=role, env=env, name=name, active=active, terminal=terminal,
                terminal_total=terminal_total, configs=configs,
                config=current, diff=diff, updates=updates, details=details,
                cron=cron, runs=runs)


@router.get("/updates/{role}/{env}/{name}/{update_id}", response_class=HTMLResponse)
async def update_page(request: Request, role: str, env: str, name: str, update_id: str,
                      client: Scheduler) -> HTMLResponse:
    key = f"{role}/{env}/{name}"
    details = await _or_none(client.update_details(key, update_id))
    if details is None:
        return message(request, "No such update",
                       f"the scheduler knows no update {update_id} of {key}", 404)
    return page(request, "update.html", key=key, role=role, env=env, name=name,
                update=details, cluster=details.key.split("/")[0])
