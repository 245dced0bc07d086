"""``aurora sla get-job-uptime|get-task-up-count KEY``: a job's uptime, as Aurora printed it.

Both read the job's live tasks with their events (the paged task route, events included):
an instance's uptime is the time since its task first became RUNNING, in whole seconds.

* ``get-job-uptime`` prints the uptime reached by each percentile of the instances
  (``99.0 percentile\t- 915 seconds``), highest percentile first.
* ``get-task-up-count`` prints the share of instances up for at least each duration
  (``10 mins\t- 66.67 %``), shortest first.
"""

from __future__ import annotations

import argparse
import math
import re
import time
from collections.abc import Mapping, Sequence
from typing import Any

from aurora_provider.api import models as m
from aurora_provider.cli.scheduler_cli import add_verb, client_for, print_json, split_key
from aurora_provider.states.task import TaskState

S = TaskState
# Where a task's processes run (Aurora's LIVE_STATES): only these count as up.
LIVE = frozenset({S.RUNNING, S.KILLING, S.PREEMPTING, S.RESTARTING, S.DRAINING})
DEFAULT_PERCENTILES = "99,95,90,85,75,60,50,30,10"
DEFAULT_DURATIONS = "1m,10m,1h,12h,7d"
_UNITS = (("days", 86400), ("hrs", 3600), ("mins", 60), ("secs", 1))
_TIME = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")


def parse_percentiles(text: str) -> list[float]:
    """``50,95.5`` -> [50.0, 95.5]; each within (0, 100)."""
    found = []
    for part in text.split(","):
        try:
            value = float(part)
        except ValueError:
            value = math.nan
        if not 0 < value < 100:
            raise argparse.ArgumentTypeError(f"percentile {part!r} must be a number above 0 "
                                             "and below 100, such as 95 or 99.9")
        found.append(value)
    return sorted(found)


def parse_durations(text: str) -> list[int]:
    """``1m,2d6h,90`` -> seconds: XdYhZmWs (each part optional, in that order) or seconds."""
    found = []
    for part in text.split(","):
        match = _TIME.fullmatch(part.strip())
        if part.strip().isdigit():
            found.append(int(part))
        elif match and any(match.groups()):
            days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
            found.append(((days * 24 + hours) * 60 + minutes) * 60 + seconds)
        else:
            raise argparse.ArgumentTypeError(f"duration {part!r}: write seconds (90) or "
                                             "XdYhZmWs (1d, 3h25m, 2h4m15s)")
    return sorted(found)


def duration_text(seconds: int) -> str:
    """In the largest unit that divides it, as Aurora printed: ``10 mins``, ``54 hrs``."""
    for name, size in _UNITS:
        if seconds and seconds % size == 0:
            return f"{seconds // size} {name}"
    return f"{seconds} secs"


def instance_uptimes(tasks: Sequence[m.TaskModel], now: float) -> dict[int, int]:
    """Each live instance's seconds since its task first became RUNNING."""
    found: dict[int, int] = {}
    for task in tasks:
        if task.status not in LIVE:
            continue
        started = next((e.timestamp for e in task.events if e.status == S.RUNNING), None)
        if started is not None:
            found[task.instance] = max(0, math.floor(now - started))
    return found


def job_uptime(uptimes: Mapping[int, int], percentile: float) -> int:
    """The uptime that ``percentile`` percent of the instances have reached (0: too few)."""
    ordered = sorted(uptimes.values())
    index = len(ordered) - math.floor(percentile / 100 * len(ordered)) - 1
    return ordered[index] if 0 <= index < len(ordered) else 0


def up_count(uptimes: Mapping[int, int], seconds: int) -> float:
    """The percentage of instances up for at least ``seconds``."""
    if not uptimes:
        return 0.0
    return 100.0 * sum(1 for u in uptimes.values() if u >= seconds) / len(uptimes)


def _uptimes(text: str) -> tuple[str, dict[int, int]]:
    key = split_key(text, with_instances=False)[0]
    with client_for(key) as client:
        tasks = client.job_task_lists(key, terminal_limit=0, events=True)
    return str(key), instance_uptimes(tasks.active, time.time())


def get_job_uptime(args: argparse.Namespace) -> int:
    key, uptimes = _uptimes(args.job_key)
    percentiles = sorted(args.percentiles or parse_percentiles(DEFAULT_PERCENTILES),
                         reverse=True)
    found = [(p, job_uptime(uptimes, p)) for p in percentiles]
    if args.json:
        print_json({"job": key, "instances": len(uptimes),
                    "uptimes": [{"percentile": p, "seconds": s} for p, s in found]})
        return 0
    for percentile, seconds in found:
        print(f"{percentile} percentile\t- {seconds} seconds")
    return 0


def get_task_up_count(args: argparse.Namespace) -> int:
    key, uptimes = _uptimes(args.job_key)
    durations = args.durations or parse_durations(DEFAULT_DURATIONS)
    found = [(d, up_count(uptimes, d)) for d in durations]
    if args.json:
        print_json({"job": key, "instances": len(uptimes),
                    "up_counts": [{"duration_secs": d, "percentage": p} for d, p in found]})
        return 0
    for seconds, percentage in found:
        print(f"{duration_text(seconds)}\t- {percentage:.2f} %")
    return 0


def register(nouns: Any) -> None:
    noun = nouns.add_parser("sla", help="a job's uptime (SLA data)")
    verbs = noun.add_subparsers(dest="verb", metavar="VERB", required=True)
    p = add_verb(verbs, "get-job-uptime", get_job_uptime,
                 "print the uptime each percentile of the job's instances has reached")
    p.add_argument("job_key", metavar="CLUSTER/ROLE/ENV/NAME")
    p.add_argument("--percentiles", type=parse_percentiles, default=None,
                   help=f"comma-separated, within (0, 100) (default {DEFAULT_PERCENTILES})")
    p = add_verb(verbs, "get-task-up-count", get_task_up_count,
                 "print the percentage of the job's instances up for each duration")
    p.add_argument("job_key", metavar="CLUSTER/ROLE/ENV/NAME")
    p.add_argument("--durations", "--duration", dest="durations", type=parse_durations,
                   default=None, metavar="DURATIONS",
                   help="comma-separated seconds or XdYhZmWs, such as 90 or 1m,3h25m "
                        f"(default {DEFAULT_DURATIONS})")
