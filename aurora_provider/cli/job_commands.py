"""``aurora job create|add``, and the other scheduler verbs of ``job`` from their modules
(``VERB_MODULES``: kill/killall, restart, status/list, diff, open).

The job key's cluster picks the scheduler from ``clusters.json`` (see ``clusters``); every
verb takes ``--json`` for scripts. Errors are one line on stderr and exit status 1.
"""

from __future__ import annotations

import argparse
import importlib
import time
from typing import Any

from aurora_provider.api import SchedulerClient
from aurora_provider.api import models as m
from aurora_provider.cli.clusters import ClusterError
from aurora_provider.cli.common import add_config_arguments, pick_job
from aurora_provider.cli.entry import WaitTimeout
from aurora_provider.cli.progress import Progress
from aurora_provider.cli.scheduler_cli import (
    Handler,
    add_verb,
    client_for,
    print_json,
    split_key,
)
from aurora_provider.config import JobKey, job_to_wire
from aurora_provider.states.task import TaskState

# The verbs of their own modules, registered with these.
VERB_MODULES: tuple[str, ...] = (
    "aurora_provider.cli.job_kill",
    "aurora_provider.cli.job_restart",
    "aurora_provider.cli.job_status",
    "aurora_provider.cli.job_diff",
    "aurora_provider.cli.job_open",
)

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


# -- add ----------------------------------------------------------------------------------


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


# -- registration -------------------------------------------------------------------------------


def register_verbs(verbs: Any) -> None:
    def verb(name: str, handler: Handler, text: str) -> argparse.ArgumentParser:
        return add_verb(verbs, name, handler, text)

    p = verb("create", create, "create a job from a configuration file")
    p.add_argument("job_key", metavar="CLUSTER/ROLE/ENV/NAME")
    add_config_arguments(p)
    p.add_argument("--wait-until", choices=[s.value for s in WAIT_UNTIL])
    p.add_argument("--wait-timeout", type=float, metavar="SECS")

    p = verb("add", add, "add instances copying an existing instance's configuration")
    p.add_argument("instance_key", metavar="CLUSTER/ROLE/ENV/NAME/INSTANCE")
    p.add_argument("count", type=int, metavar="COUNT")
    for module in VERB_MODULES:
        importlib.import_module(module).register_verbs(verbs)
