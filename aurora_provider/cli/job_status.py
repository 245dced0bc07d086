"""``aurora job status KEY`` and ``aurora job list PATTERN``; both take Aurora's wildcard
keys (``cli.job_patterns``). ``status`` of a pattern shows every matching job, and says so
in one line (exit 1) when none matches; with ``--json`` that is a JSON answer (exit 0), as
Aurora's scripts expect.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from aurora_provider.api import SchedulerClient
from aurora_provider.api import models as m
from aurora_provider.cli.clusters import ClusterError, get_cluster
from aurora_provider.cli.job_patterns import KeyPattern, is_pattern
from aurora_provider.cli.scheduler_cli import add_verb, print_json, split_key
from aurora_provider.config import JobKey


def _task_line(t: m.TaskModel) -> str:
    ports = ", ".join(f"{n}={p}" for n, p in sorted(t.ports.items()))
    where = f" on {t.host}" if t.host else ""
    extra = f" [{ports}]" if ports else ""
    why = t.message or t.pending_reason
    return (f"  instance {t.instance}: {t.status}{where}{extra}"
            f"{f' - {why}' if why else ''}\n    {t.task_id}")


def _job_status(client: SchedulerClient, key: JobKey | str) -> m.JobStatus:
    summary = client.job_summary(key)
    tasks = client.job_task_lists(key, events=True)
    return m.JobStatus(key=tasks.key, exists=summary.exists, active=tasks.active,
                       terminal=tasks.terminal)


def _print_status(result: m.JobStatus) -> None:
    print(f"job {result.key}: {len(result.active)} active, {len(result.terminal)} terminal")
    if result.active:
        print("active tasks:")
        for t in sorted(result.active, key=lambda t: t.instance):
            print(_task_line(t))
    if result.terminal:
        print("terminal tasks:")
        for t in sorted(result.terminal, key=lambda t: (t.instance, t.status_at)):
            print(_task_line(t))
            for e in t.events:
                stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(e.timestamp))
                print(f"      {stamp} {e.status}{f' {e.message}' if e.message else ''}")


def status(args: argparse.Namespace) -> int:
    if not is_pattern(args.job_key):
        key, _ = split_key(args.job_key, with_instances=False)
        with get_cluster(key.cluster).client() as client:
            result = _job_status(client, key)
        if args.json:
            print_json(result)
        else:
            _print_status(result)
        return 0
    pattern = KeyPattern.parse(args.job_key)
    with get_cluster(pattern.cluster).client() as client:
        found = [_job_status(client, j.key) for j in pattern.jobs(client)]
    if not found:
        if args.json:
            print(json.dumps({"jobspec": str(pattern), "error": "No matching jobs found"}))
            return 0
        raise ClusterError(f"found no jobs matching {pattern}")
    if args.json:
        print(json.dumps([r.model_dump(mode="json") for r in found], indent=2,
                         sort_keys=True))
        return 0
    for result in found:
        _print_status(result)
    return 0


def list_jobs(args: argparse.Namespace) -> int:
    pattern = KeyPattern.parse(args.pattern)
    with get_cluster(pattern.cluster).client() as client:
        result = m.JobList(jobs=pattern.jobs(client))
    if args.json:
        print_json(result)
        return 0
    for job in result.jobs:
        print(job.key)
    return 0


def register_verbs(verbs: Any) -> None:
    p = add_verb(verbs, "status", status,
                 "show the active and terminal tasks of a job, or of the jobs a pattern "
                 "such as devcluster/www-data/*/* matches")
    p.add_argument("job_key", metavar="CLUSTER[/ROLE[/ENV[/NAME]]]")
    p = add_verb(verbs, "list", list_jobs,
                 "list jobs matching CLUSTER[/ROLE[/ENV[/NAME]]], each part a glob")
    p.add_argument("pattern", metavar="PATTERN")
