"""What ``airflow aurora ...`` runs: the connection's scheduler, asked through the client.

Every action goes through :func:`_main`, the one entry: an ``AuroraError`` is one
``airflow aurora: ...`` line on stderr and ``SystemExit(1)``.
"""

from __future__ import annotations

import json
from argparse import Namespace
from collections.abc import Callable

from aurora_provider.api import SchedulerClient
from aurora_provider.cli.admin_commands import ADMIN_COMMANDS
from aurora_provider.errors import run_command
from aurora_provider.hooks.aurora import AuroraHook

PROG = "airflow aurora"


def _main(args: Namespace, command: Callable[[SchedulerClient], int]) -> None:
    """Run ``command`` with a client of the connection's scheduler; exit unless it gave 0."""

    def body() -> int:
        with AuroraHook(args.conn_id).get_conn() as client:
            return command(client)

    status = run_command(PROG, body)
    if status:
        raise SystemExit(status)


def run_admin(name: str, args: Namespace) -> None:
    """One of aurora-admin's commands, against the connection's scheduler."""
    command = next(c for c in ADMIN_COMMANDS if c.name == name)
    _main(args, lambda client: command.run(client, args))


def cluster(args: Namespace) -> None:
    _main(args, lambda client: _print_cluster(client, args.json))


def _print_cluster(client: SchedulerClient, as_json: bool) -> int:
    info, me = client.cluster(), client.whoami()
    if as_json:
        print(json.dumps({"cluster": info.model_dump(), "user": me.model_dump()}, indent=2))
        return 0
    role = "admin" if me.admin else ", ".join(me.roles) or "no roles"
    print(f"{info.name}: {info.backend} backend, {'leader' if info.leader else 'follower'}, "
          f"version {info.version}; you are {me.user} ({role})")
    return 0


def jobs(args: Namespace) -> None:
    _main(args, lambda client: _print_jobs(client, args.pattern, args.json))


def _print_jobs(client: SchedulerClient, pattern: str | None, as_json: bool) -> int:
    listing = client.list_jobs(pattern)
    if as_json:
        print(json.dumps(listing.model_dump()["jobs"], indent=2))
        return 0
    for job in listing.jobs:
        counts = ", ".join(f"{n} {s}" for s, n in sorted(job.task_counts.items())) or "no tasks"
        kind = "service" if job.is_service else "job"
        print(f"{job.key}  {kind}, {job.instances} instance(s): {counts}")
    return 0
