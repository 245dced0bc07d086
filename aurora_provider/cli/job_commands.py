"""``aurora job create|kill|killall|restart|status|list|diff|add``: talking to a scheduler.

The job key's cluster picks the scheduler from ``clusters.json`` (see ``clusters``); every
verb takes ``--json`` for scripts. Errors are one line on stderr and exit status 1.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from aurora_provider.api import SchedulerClient
from aurora_provider.api import models as m
from aurora_provider.cli.clusters import ClusterError, get_cluster
from aurora_provider.cli.common import add_config_arguments, pick_job
from aurora_provider.cli.entry import WaitTimeout
from aurora_provider.cli.progress import Progress
from aurora_provider.cli.scheduler_cli import (
    Handler,
    add_verb,
    client_for,
    parse_instances,
    print_json,
    split_key,
)
from aurora_provider.config import JobKey, job_to_wire
from aurora_provider.states.restart import RestartState
from aurora_provider.states.task import TaskState

# What ``create --wait-until`` waits for.
WAIT_UNTIL = (TaskState.RUNNING, TaskState.FINISHED)


# -- create ----------------------------------------------------------------------------------


def _done(summary: m.JobStatusSummary, until: TaskState, instances: int) -> bool:
    # An instance has at most one active task, so counting tasks counts instances.
    if until is TaskState.RUNNING:
        return summary.active.get(TaskState.RUNNING, 0) >= instances
    return not any(summary.active.values())


def _summary(summary: m.JobStatusSummary) -> str:
    return ", ".join(f"{n} {s}" for s, n in sorted(summary.active.items()) if n) \
        or "no active tasks"


def wait_for(client: SchedulerClient, key: JobKey, until: TaskState, instances: int,
             timeout: float | None, interval: float = 0.5) -> m.JobStatusSummary:
    """Poll the job's summary (its cost does not grow with the job) until it is ``until``."""
    progress = Progress(f"waiting for {key} to be {until}")
    started = time.monotonic()
    try:
        while True:
            summary = client.job_summary(key)
            progress.update(_summary(summary))
            if _done(summary, until, instances):
                return summary
            if timeout is not None and time.monotonic() - started > timeout:
                raise WaitTimeout(f"{key} not {until} after {timeout:g} s ({_summary(summary)})")
            time.sleep(interval)
    finally:
        progress.close()


def _all_finished(client: SchedulerClient, key: JobKey) -> bool:
    """Whether each instance's latest task FINISHED (pages come newest terminal first)."""
    latest: dict[int, TaskState] = {}
    for t in client.job_task_lists(key).terminal:
        latest.setdefault(t.instance, t.status)
    return all(s is TaskState.FINISHED for s in latest.values())


def create(args: argparse.Namespace) -> int:
    key, _ = split_key(args.job_key, with_instances=False)
    wire = job_to_wire(pick_job(args))
    with client_for(key) as client:
        created = client.create_job(wire)
        status = None
        finished = True
        if args.wait_until:
            status = wait_for(client, key, TaskState(args.wait_until), wire["instances"],
                              args.wait_timeout)
            if args.wait_until == TaskState.FINISHED:
                finished = _all_finished(client, key)
    if args.json:
        print_json({"create": created.model_dump(mode="json"),
                     "status": status.model_dump(mode="json") if status else None})
    else:
        print(f"job {created.key} created with {len(created.task_ids)} instance(s)")
        if status is not None:
            print(f"job {key} is {args.wait_until}: {_summary(status)}")
    return 0 if finished else 1


# -- kill, killall, restart, add ----------------------------------------------------------


def kill(args: argparse.Namespace) -> int:
    key, spec = split_key(args.instance_key, with_instances=True)
    if spec is None:
        raise ClusterError(f"{args.instance_key!r}: name the instances, e.g. {key}/0,2-4 "
                           "(or use 'aurora job killall')")
    return _kill(args, key, parse_instances(spec))


def killall(args: argparse.Namespace) -> int:
    key, _ = split_key(args.job_key, with_instances=False)
    return _kill(args, key, None)


def _kill(args: argparse.Namespace, key: JobKey, instances: list[int] | None) -> int:
    """Kill ``instances`` (None: all), wait for them if asked, and say what was done."""
    with client_for(key) as client:
        result = client.kill(key, instances, args.message)
        if args.wait:
            _wait_killed(client, key, set(result.killed))
    if args.json:
        print_json(result)
    else:
        print(f"{len(result.killed)} task(s) of {result.key} asked to stop")
    return 0


def _wait_killed(client: SchedulerClient, key: JobKey, task_ids: set[str]) -> None:
    progress = Progress(f"waiting for {len(task_ids)} task(s) of {key} to stop")
    try:
        while True:
            # Only the active tasks are read: the first terminal one ends the listing.
            active = client.job_task_lists(key, terminal_limit=0).active
            left = [t for t in active if t.task_id in task_ids]
            progress.update(f"{len(left)} still stopping")
            if not left:
                return
            time.sleep(0.5)
    finally:
        progress.close()


def restart(args: argparse.Namespace) -> int:
    key, spec = split_key(args.job_key, with_instances=True)
    instances = parse_instances(spec) if spec else None
    with client_for(key) as client:
        result = client.restart(key, instances, args.batch_size)
        if args.wait:
            progress = Progress(f"restarting {key} in batches of {args.batch_size}")
            try:
                while result.state is RestartState.ACTIVE:
                    time.sleep(0.5)
                    result = client.restart_status(key)
                    progress.update(f"{len(result.done)} done, in flight {result.in_flight}, "
                                    f"{len(result.pending)} pending")
            finally:
                progress.close()
    if args.json:
        print_json(result)
    else:
        print(f"restart of {result.key}: {result.state} ({len(result.done)} done, "
              f"{len(result.pending) + len(result.in_flight)} to go)")
    return 0 if result.state is not RestartState.ABORTED else 1


def add(args: argparse.Namespace) -> int:
    key, spec = split_key(args.instance_key, with_instances=True)
    if spec is None or not spec.isdigit():
        raise ClusterError(f"{args.instance_key!r}: expected CLUSTER/ROLE/ENV/NAME/INSTANCE")
    if args.count < 1:
        raise ClusterError("COUNT must be at least 1")
    with client_for(key) as client:
        result = client.add_instances(key, int(spec), args.count)
    if args.json:
        print_json(result)
    else:
        print(f"added instances {result.instances} to {result.key}")
    return 0


# -- status, list, diff -------------------------------------------------------------------------


def _task_line(t: m.TaskModel) -> str:
    ports = ", ".join(f"{n}={p}" for n, p in sorted(t.ports.items()))
    where = f" on {t.host}" if t.host else ""
    extra = f" [{ports}]" if ports else ""
    why = t.message or t.pending_reason
    return (f"  instance {t.instance}: {t.status}{where}{extra}"
            f"{f' - {why}' if why else ''}\n    {t.task_id}")


def status(args: argparse.Namespace) -> int:
    key, _ = split_key(args.job_key, with_instances=False)
    with client_for(key) as client:
        summary = client.job_summary(key)
        tasks = client.job_task_lists(key, events=True)
    result = m.JobStatus(key=tasks.key, exists=summary.exists, active=tasks.active,
                         terminal=tasks.terminal)
    if args.json:
        print_json(result)
        return 0
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
    return 0


def list_jobs(args: argparse.Namespace) -> int:
    # A shorter key matches everything below it: "devcluster" or "devcluster/www".
    pattern = args.pattern
    if pattern.count("/") < 3 and not pattern.endswith("*"):
        pattern = f"{pattern.rstrip('/')}/*"
    cluster_name = pattern.split("/", 1)[0]
    with get_cluster(cluster_name).client() as client:
        result = client.list_jobs(pattern)
    if args.json:
        print_json(result)
        return 0
    for job in result.jobs:
        print(job.key)
    return 0


def diff(args: argparse.Namespace) -> int:
    key, _ = split_key(args.job_key, with_instances=False)
    wire = job_to_wire(pick_job(args))
    with client_for(key) as client:
        result = client.diff(wire)
    if args.json:
        print_json(result)
        return 0
    for label, instances in (("add", result.add), ("remove", result.remove),
                             ("update", result.update), ("unchanged", result.unchanged)):
        if instances:
            print(f"{label}: instances {instances}")
    for line in result.changes:
        print(f"  {line}")
    if not (result.add or result.remove or result.update or result.changes):
        print("no changes")
    return 0


# -- registration -------------------------------------------------------------------------------


def register_verbs(verbs: Any) -> None:
    def verb(name: str, handler: Handler, text: str) -> argparse.ArgumentParser:
        return add_verb(verbs, name, handler, text)

    p = verb("create", create, "create a job from a configuration file")
    p.add_argument("job_key", metavar="CLUSTER/ROLE/ENV/NAME")
    add_config_arguments(p)
    p.add_argument("--wait-until", choices=[s.value for s in WAIT_UNTIL])
    p.add_argument("--wait-timeout", type=float, metavar="SECS")

    p = verb("kill", kill, "kill some instances of a job")
    p.add_argument("instance_key", metavar="CLUSTER/ROLE/ENV/NAME/INSTANCES")
    p.add_argument("--message")
    p.add_argument("--wait", action="store_true", help="wait until the tasks stopped")

    p = verb("killall", killall, "kill every instance of a job")
    p.add_argument("job_key", metavar="CLUSTER/ROLE/ENV/NAME")
    p.add_argument("--message")
    p.add_argument("--wait", action="store_true", help="wait until the tasks stopped")

    p = verb("restart", restart, "restart a job's instances in rolling batches")
    p.add_argument("job_key", metavar="CLUSTER/ROLE/ENV/NAME[/INSTANCES]")
    p.add_argument("--batch-size", type=int, default=1)
    p.add_argument("--wait", action="store_true", help="wait until the restart is done")

    p = verb("status", status, "show a job's active and terminal tasks")
    p.add_argument("job_key", metavar="CLUSTER/ROLE/ENV/NAME")

    p = verb("list", list_jobs, "list jobs matching a pattern (CLUSTER/ROLE/ENV/NAME, globs)")
    p.add_argument("pattern", metavar="PATTERN")

    p = verb("diff", diff, "compare a configuration file with the running job")
    p.add_argument("job_key", metavar="CLUSTER/ROLE/ENV/NAME")
    add_config_arguments(p)

    p = verb("add", add, "add instances copying an existing instance's configuration")
    p.add_argument("instance_key", metavar="CLUSTER/ROLE/ENV/NAME/INSTANCE")
    p.add_argument("count", type=int, metavar="COUNT")
