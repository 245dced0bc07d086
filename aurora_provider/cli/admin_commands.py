"""The ``aurora-admin`` commands as data, so two front ends can share them.

``cli/admin.py`` builds argparse from ``ADMIN_COMMANDS`` (the standalone ``aurora-admin``);
the ``airflow aurora ...`` entry builds Airflow's CLI from the same list. Each command's
``args`` leave out the CLUSTER positional, which every front end adds first. ``run`` prints
its result and returns the exit status; it raises an ``AuroraError`` (``ApiError``,
``ConfigError``) for errors meant for the user, which each front end prints as one line.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aurora_provider.api import models as m
from aurora_provider.api.client import SchedulerClient
from aurora_provider.cli import admin_sla
from aurora_provider.config import ConfigError

if TYPE_CHECKING:
    import argparse

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(I?B?)\s*$", re.IGNORECASE)
_MB_PER = {"": 1 / 2**20, "K": 1 / 1024, "M": 1.0, "G": 1024.0, "T": 1024.0**2}


@dataclass(frozen=True)
class AdminArg:
    flags: tuple[str, ...]  # e.g. ("role",) or ("--percentage",)
    options: dict[str, Any]  # argparse add_argument keyword arguments


@dataclass(frozen=True)
class AdminCommand:
    name: str  # "set-quota"
    help: str
    args: tuple[AdminArg, ...]  # without the CLUSTER positional
    run: Callable[[SchedulerClient, argparse.Namespace], int]


def parse_size_mb(text: str, what: str) -> float:
    """``64MB``, ``2GB``, ``512M``, ``1.5GiB``, ``1TB`` -> megabytes (binary units, as
    Aurora's client read them); a number without a unit is refused."""
    match = _SIZE.match(text)
    if match is None or (not match.group(2) and not match.group(3)):
        raise ConfigError(f"{what} {text!r}: expected a size with a unit, e.g. 64MB or 2GB")
    unit = match.group(2).upper()
    if not unit and match.group(3).upper() != "B":
        raise ConfigError(f"{what} {text!r}: expected a size with a unit, e.g. 64MB or 2GB")
    return float(match.group(1)) * _MB_PER[unit]


def _cpu(text: str) -> float:
    try:
        value = float(text)
    except ValueError as e:
        raise ConfigError(f"cpu {text!r}: expected a number of cores, e.g. 4 or 0.5") from e
    if not math.isfinite(value) or value < 0:
        raise ConfigError(f"cpu {text!r} must be a finite number of cores, not negative")
    return value


def _gb(mb: float) -> str:
    return f"{mb / 1024:g} GB"


def _print_quota(report: m.QuotaReport) -> None:
    q, used = report.quota, report.production
    print(f"role {report.role}: quota CPU {q.cpu:g}, RAM {_gb(q.ram_mb)}, "
          f"disk {_gb(q.disk_mb)}; production use CPU {used.cpu:g}, RAM {_gb(used.ram_mb)}, "
          f"disk {_gb(used.disk_mb)}")


def _set_quota(client: SchedulerClient, args: argparse.Namespace) -> int:
    _print_quota(client.set_quota(args.role, _cpu(args.cpu), parse_size_mb(args.ram, "ram"),
                                  parse_size_mb(args.disk, "disk")))
    return 0


def _increase_quota(client: SchedulerClient, args: argparse.Namespace) -> int:
    _print_quota(client.increase_quota(args.role, _cpu(args.cpu),
                                       parse_size_mb(args.ram, "ram"),
                                       parse_size_mb(args.disk, "disk")))
    return 0


_print_hosts = admin_sla.print_hosts


def _host_deactivate(client: SchedulerClient, args: argparse.Namespace) -> int:
    _print_hosts(client.start_maintenance(args.hosts))
    return 0


def _host_activate(client: SchedulerClient, args: argparse.Namespace) -> int:
    _print_hosts(client.end_maintenance(args.hosts))
    return 0


def _host_drain(client: SchedulerClient, args: argparse.Namespace) -> int:
    _print_hosts(client.drain_hosts(args.hosts, args.percentage))
    return 0


def _host_status(client: SchedulerClient, args: argparse.Namespace) -> int:
    _print_hosts(client.host_status(args.hosts or None))
    return 0


def _prune(client: SchedulerClient, args: argparse.Namespace) -> int:
    states = [s for s in (args.states or "").split(",") if s.strip()] or None
    result = client.prune_tasks(states=states, role=args.role, environment=args.environment,
                                name=args.name, limit=args.limit)
    print(f"pruned {len(result.pruned)} terminal task(s)")
    return 0


def _reconcile(client: SchedulerClient, args: argparse.Namespace) -> int:
    result = client.reconcile_tasks()
    print(f"reconciled {result.checked} task(s), {len(result.changed)} changed")
    for line in result.changed:
        print(f"  {line}")
    return 0


def _when(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _backup_now(client: SchedulerClient, args: argparse.Namespace) -> int:
    b = client.backup_now()
    print(f"backup {b.backup_id} written ({b.format}, {b.size_bytes} bytes)")
    return 0


def _list_backups(client: SchedulerClient, args: argparse.Namespace) -> int:
    found = client.list_backups().backups
    for b in found:
        print(f"{b.backup_id}  {_when(b.created_at)}  {b.format}  {b.size_bytes} bytes")
    if not found:
        print("no backups")
    return 0


def _restore(client: SchedulerClient, args: argparse.Namespace) -> int:
    result = client.restore_backup(args.backup_id, args.work_dir)
    print(f"backup {result.backup_id} restored to {result.database}; start a scheduler "
          f"with --work-dir {result.work_dir}")
    return 0


def _arg(*flags: str, **options: Any) -> AdminArg:
    return AdminArg(tuple(flags), options)


_QUOTA_ARGS = (
    _arg("role", help="the role whose quota changes"),
    _arg("cpu", help="CPU cores, e.g. 4 or 0.5"),
    _arg("ram", help="RAM with a unit, e.g. 64MB or 16GB"),
    _arg("disk", help="disk with a unit, e.g. 64MB or 100GB"),
)
_HOSTS = _arg("hosts", nargs="+", metavar="HOST", help="host names")
_SLA_LIMIT = (
    _arg("percentage", help="share of each job's instances that must stay up, e.g. 95"),
    _arg("duration", help="for how long they must have been up: XdYhZmWs, e.g. 30m"),
)
_MIN_INSTANCES = _arg("--min-job-instance-count", type=int, dest="min_instance_count",
                      default=m.DEFAULT_MIN_INSTANCE_COUNT, metavar="N",
                      help="only jobs with N live instances or more count (%(default)d)")

ADMIN_COMMANDS: tuple[AdminCommand, ...] = (
    AdminCommand("set-quota", "set a role's production quota", _QUOTA_ARGS, _set_quota),
    AdminCommand("increase-quota", "add to a role's production quota", _QUOTA_ARGS,
                 _increase_quota),
    AdminCommand("host-deactivate", "put hosts in maintenance (SCHEDULED: used last)",
                 (_HOSTS,), _host_deactivate),
    AdminCommand("host-activate", "take hosts out of maintenance", (_HOSTS,), _host_activate),
    AdminCommand("host-drain", "drain hosts: their tasks are moved elsewhere", (
        _HOSTS,
        _arg("--percentage", type=float, default=None, metavar="P",
             help="keep at least P%% of each job's instances RUNNING while draining")),
        _host_drain),
    AdminCommand("sla-host-drain", "drain hosts under each job's SLA, regardless of SLAs "
                 "after a timeout", (
                     _HOSTS,
                     _arg("--percentage", dest="default_percentage", metavar="P",
                          default=f"{m.DEFAULT_SLA_PERCENTAGE:g}",
                          help="SLA of jobs without a policy: P%% of their instances up "
                          "(%(default)s)"),
                     _arg("--duration", dest="default_duration", metavar="DURATION",
                          default="30m", help="...for this long, XdYhZmWs (%(default)s)"),
                     _arg("--force-drain-timeout", dest="force_drain_timeout",
                          metavar="DURATION", default="7d",
                          help="drain what is left after this long (%(default)s)")),
                 admin_sla.sla_host_drain),
    AdminCommand("sla-list-safe-domain", "list the hosts that can go down without breaking "
                 "a job's SLA", (
                     *_SLA_LIMIT,
                     _arg("--include-hosts", dest="include_hosts", metavar="HOST,HOST",
                          help="consider only these hosts"),
                     _arg("--exclude-hosts", dest="exclude_hosts", metavar="HOST,HOST",
                          help="leave these hosts out of the answer"),
                     _arg("--override-file", dest="override_file", metavar="FILE",
                          help="job limits, a line each: CLUSTER/ROLE/ENV/NAME P DURATION"),
                     _arg("--list-jobs", dest="list_jobs", action="store_true",
                          help="print HOST JOB PREDICTED_SLA DURATION_SECONDS lines"),
                     _MIN_INSTANCES),
                 admin_sla.dashed_safe_domain),
    AdminCommand("sla-probe-hosts", "show what taking hosts down would do to their jobs' SLA",
                 (*_SLA_LIMIT, _HOSTS, _MIN_INSTANCES), admin_sla.sla_probe_hosts),
    AdminCommand("host-status", "show hosts' maintenance modes (all in maintenance if none "
                 "named)", (_arg("hosts", nargs="*", metavar="HOST", help="host names"),),
                 _host_status),
    AdminCommand("end-maintenance", "take hosts out of maintenance (same as host-activate)",
                 (_HOSTS,), _host_activate),
    AdminCommand("prune-tasks", "delete terminal tasks from the scheduler's history", (
        _arg("--states", metavar="S,S", help="terminal states (default: all of them)"),
        _arg("--role"), _arg("--environment"), _arg("--name"),
        _arg("--limit", type=int, metavar="N", help="prune at most N tasks, oldest first")),
        _prune),
    AdminCommand("reconcile-tasks", "ask the backend about every running task now", (),
                 _reconcile),
    AdminCommand("scheduler-backup-now", "write a backup of the scheduler's store now", (),
                 _backup_now),
    AdminCommand("scheduler-list-backups", "list the scheduler's backups", (), _list_backups),
    AdminCommand("scheduler-restore", "restore a backup into an empty work dir", (
        _arg("backup_id", metavar="ID", help="a backup id from scheduler-list-backups"),
        _arg("--work-dir", required=True, metavar="DIR",
             help="an empty directory on the scheduler's host (absolute path)")),
        _restore),
)
