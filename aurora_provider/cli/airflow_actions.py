"""What ``airflow aurora ...`` runs: the connection's scheduler, asked through the client."""

from __future__ import annotations

import json
import sys
from argparse import Namespace

from aurora_provider.api import ApiError
from aurora_provider.cli.admin_commands import ADMIN_COMMANDS
from aurora_provider.config import ConfigError
from aurora_provider.hooks.aurora import AuroraHook


def run_admin(name: str, args: Namespace) -> None:
    """One of aurora-admin's commands, against the connection's scheduler."""
    command = next(c for c in ADMIN_COMMANDS if c.name == name)
    try:
        with AuroraHook(args.conn_id).get_conn() as client:
            status = command.run(client, args)
    except (ApiError, ConfigError) as e:
        _fail(e)
        return
    if status:
        raise SystemExit(status)


def _fail(error: Exception) -> None:
    print(f"airflow aurora: {error}", file=sys.stderr)
    raise SystemExit(1)


def cluster(args: Namespace) -> None:
    try:
        with AuroraHook(args.conn_id).get_conn() as client:
            info, me = client.cluster(), client.whoami()
    except ApiError as e:
        _fail(e)
        return
    if args.json:
        print(json.dumps({"cluster": info.model_dump(), "user": me.model_dump()}, indent=2))
        return
    role = "admin" if me.admin else ", ".join(me.roles) or "no roles"
    print(f"{info.name}: {info.backend} backend, {'leader' if info.leader else 'follower'}, "
          f"version {info.version}; you are {me.user} ({role})")


def jobs(args: Namespace) -> None:
    try:
        with AuroraHook(args.conn_id).get_conn() as client:
            listing = client.list_jobs(args.pattern)
    except ApiError as e:
        _fail(e)
        return
    if args.json:
        print(json.dumps(listing.model_dump()["jobs"], indent=2))
        return
    for job in listing.jobs:
        counts = ", ".join(f"{n} {s}" for s, n in sorted(job.task_counts.items())) or "no tasks"
        kind = "service" if job.is_service else "job"
        print(f"{job.key}  {kind}, {job.instances} instance(s): {counts}")
