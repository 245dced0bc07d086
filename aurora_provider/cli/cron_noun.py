"""``aurora cron schedule|deschedule|start|show|runs``: cron jobs on a scheduler.

``schedule`` creates or replaces the job's template from a configuration file (the job must
have a ``cron_schedule``); ``start`` runs it now under its collision policy; ``show`` prints
the schedule, the next run times and the last run; ``runs`` lists recent runs.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

from aurora_provider.api import SchedulerClient
from aurora_provider.api import models as m
from aurora_provider.cli.common import add_config_arguments, pick_job
from aurora_provider.cli.scheduler_cli import (
    Handler,
    client_for,
    print_json,
    split_key,
)
from aurora_provider.config import JobKey, job_to_wire


def when(epoch: float | None) -> str:
    if epoch is None:
        return "-"
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def describe_run(run: m.CronRunModel) -> str:
    outcome = f" {run.outcome}" if run.outcome else ""
    scheduled = f"scheduled {when(run.scheduled_at)}" if run.scheduled_at else "started by hand"
    return (f"run {run.run_id}: {run.state}{outcome}, {scheduled}, tasks started "
            f"{when(run.started_at)}, {len(run.task_ids)} task(s)"
            + (f", finished {when(run.finished_at)}" if run.finished_at else "")
            + (f" ({run.message})" if run.message else ""))


def describe(job: m.CronJobModel) -> list[str]:
    lines = [f"cron job {job.key}",
             f"  schedule: {job.schedule} ({job.timezone}), collision policy "
             f"{job.collision_policy}, {job.instances} instance(s)"
             + (", catches up one missed run" if job.catch_up else ""),
             "  next runs: " + ", ".join(when(t) for t in job.next_runs)]
    lines.append("  last " + describe_run(job.last_run) if job.last_run else "  never ran")
    return lines


def _cron_verb(call: Callable[[SchedulerClient, JobKey, argparse.Namespace], BaseModel],
               show: Callable[[Any], list[str]]) -> Handler:
    """A verb: ``call`` the key's scheduler, then print the answer as JSON or ``show`` it."""

    def verb(args: argparse.Namespace) -> int:
        key, _ = split_key(args.job_key, with_instances=False)
        with client_for(key) as client:
            answer = call(client, key, args)
        if args.json:
            print_json(answer)
        else:
            print("\n".join(show(answer)))
        return 0

    return verb


def _describe_runs(found: m.CronRunList) -> list[str]:
    return [describe_run(run) for run in found.runs] or [f"cron job {found.key} has no runs"]


schedule = _cron_verb(lambda c, _k, args: c.schedule_cron(job_to_wire(pick_job(args))),
                      describe)
deschedule = _cron_verb(lambda c, key, _a: c.deschedule_cron(key),
                        lambda job: [f"cron job {job.key} descheduled"])
start = _cron_verb(lambda c, key, _a: c.start_cron(key),
                   lambda run: [f"cron job {run.key}: {describe_run(run)}"])
show = _cron_verb(lambda c, key, _a: c.cron_job(key), describe)
runs = _cron_verb(lambda c, key, args: c.cron_runs(key, args.limit), _describe_runs)


def register(nouns: Any) -> None:
    noun = nouns.add_parser("cron", help="schedule and manage cron jobs")
    verbs = noun.add_subparsers(dest="verb", metavar="VERB", required=True)

    def verb(name: str, handler: Any, text: str) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = verbs.add_parser(name, help=text, description=text)
        p.add_argument("job_key", metavar="CLUSTER/ROLE/ENV/NAME")
        p.add_argument("--json", action="store_true", help="print the result as JSON")
        p.set_defaults(handler=handler)
        return p

    add_config_arguments(verb("schedule", schedule,
                              "create or replace a cron job from a configuration file"))
    verb("deschedule", deschedule, "remove a cron job's schedule (a running run goes on)")
    verb("start", start, "run a cron job now, under its collision policy")
    verb("show", show, "show a cron job's schedule, next run times and last run")
    verb("runs", runs, "list a cron job's recent runs").add_argument(
        "--limit", type=int, default=20, help="how many runs, newest first (20)")
