"""SLA-aware maintenance from the admin CLIs: an SLA drain, the hosts that are safe to take
down, and what taking given hosts down would do to their jobs' SLA (Aurora's
``sla_host_drain``, ``sla_list_safe_domain`` and ``sla_probe_hosts``).

The scheduler judges the hosts (``/api/v1/maintenance/sla``); this module reads the
arguments as Aurora did and prints Aurora's columns:

* safe domain: one safe host per line, or with the jobs ``HOST  JOB  PREDICTED_SLA
  DURATION_SECONDS``;
* probe: ``HOST  JOB  PREDICTED_SLA  SAFE?  PREDICTED_SAFE_IN`` (``n/a``: not by waiting).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from aurora_provider.api import models as m
from aurora_provider.api.client import SchedulerClient
from aurora_provider.cli.sla_noun import parse_durations
from aurora_provider.config import ConfigError


def parse_percentage(text: str, what: str = "percentage") -> float:
    """A percentage within (0, 100], as Aurora's admin client took it."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= 100:
        raise ConfigError(f"{what} {text!r}: must be a number within (0, 100], such as 95")
    return value


def parse_duration(text: str, what: str = "duration") -> int:
    """Seconds of ``XdYhZmWs`` (each part optional, in that order) or plain seconds."""
    try:
        found = parse_durations(text)
    except argparse.ArgumentTypeError as e:
        raise ConfigError(f"{what}: {e}") from e
    if len(found) != 1:
        raise ConfigError(f"{what} {text!r}: give one duration, such as 30m or 1d3h")
    return found[0]


def read_hosts(path: str, what: str) -> list[str]:
    """Host names of a file, one per line."""
    try:
        text = Path(path).read_text()
    except OSError as e:
        raise ConfigError(f"{what} {path}: {e.strerror}") from e
    return [line.strip() for line in text.splitlines() if line.strip()]


def read_job_limits(path: str) -> dict[str, tuple[float, float]]:
    """Aurora's override file: ``cluster/role/env/name percentage duration`` per line."""
    limits: dict[str, tuple[float, float]] = {}
    try:
        lines = Path(path).read_text().splitlines()
    except OSError as e:
        raise ConfigError(f"--override_file {path}: {e.strerror}") from e
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        tokens = line.split()
        where = f"{path}:{number}"
        if len(tokens) != 3 or len(tokens[0].strip("/").split("/")) != 4:
            raise ConfigError(f"{where}: expected 'CLUSTER/ROLE/ENV/NAME PERCENTAGE "
                              f"DURATION', such as 'devcluster/www/prod/web 95 2h'")
        limits[tokens[0]] = (parse_percentage(tokens[1], f"{where}: percentage"),
                             float(parse_duration(tokens[2], f"{where}: duration")))
    return limits


def print_hosts(hosts: m.HostStatusList) -> None:
    """A line per host; under an SLA-aware drain, a line per task still held and why."""
    for h in hosts.hosts:
        how = ""
        if h.sla_duration_secs is not None and h.percentage is not None:
            how = (f", SLA-aware: by default {h.percentage:g}% up for "
                   f"{h.sla_duration_secs:g}s")
        elif h.percentage is not None:
            how = f", keeping {h.percentage:g}% of each job"
        print(f"{h.host}: {h.mode} ({h.active_tasks} active task(s){how})")
        for reason in h.sla_holds:
            print(f"  {reason}")
    if not hosts.hosts:
        print("no host is in maintenance")


def sla_host_drain(client: SchedulerClient, args: argparse.Namespace) -> int:
    """``args``: hosts, default_percentage, default_duration, force_drain_timeout (text)."""
    print_hosts(client.sla_drain_hosts(
        args.hosts, percentage=parse_percentage(str(args.default_percentage),
                                                "--default_percentage"),
        duration_secs=parse_duration(str(args.default_duration), "--default_duration"),
        timeout_secs=parse_duration(str(args.force_drain_timeout), "--force_drain_timeout")))
    return 0


def sla_list_safe_domain(client: SchedulerClient, args: argparse.Namespace) -> int:
    """``args``: percentage, duration, include (hosts or None), exclude (hosts), limits,
    list_jobs, min_instance_count."""
    found = client.sla_hosts(parse_percentage(args.percentage), parse_duration(args.duration),
                             hosts=args.include or None,
                             min_instance_count=args.min_instance_count,
                             job_limits=args.limits)
    excluded = set(args.exclude or ())
    for host in found.hosts:
        if not host.safe or host.host in excluded:
            continue
        if not args.list_jobs:
            print(host.host)
            continue
        for j in sorted(host.jobs, key=lambda j: j.job):
            print(f"{host.host}\t{j.job}\t{j.predicted_percentage:.2f}\t{j.duration_secs:.0f}")
    return 0


def sla_probe_hosts(client: SchedulerClient, args: argparse.Namespace) -> int:
    """``args``: percentage, duration, hosts, min_instance_count."""
    found = client.sla_hosts(parse_percentage(args.percentage), parse_duration(args.duration),
                             hosts=args.hosts, min_instance_count=args.min_instance_count)
    for host in found.hosts:
        for j in sorted(host.jobs, key=lambda j: j.job):
            safe_in = "n/a" if j.safe_in_secs is None else j.safe_in_secs
            print(f"{host.host}\t{j.job}\t{j.predicted_percentage:.2f}\t{j.safe}\t{safe_in}")
    return 0


def host_list(text: str | None) -> list[str]:
    """``a,b`` -> [a, b] (None or empty: none)."""
    return [h.strip() for h in (text or "").split(",") if h.strip()]


def safe_domain_filters(args: argparse.Namespace) -> None:
    """Sets ``include``, ``exclude`` and ``limits`` from the flags of either CLI
    (``--include_hosts``/``--include_file``, ``--exclude_*``, ``--override_file``)."""
    def hosts(listed: str | None, path: str | None, what: str) -> list[str]:
        if listed and path:
            raise ConfigError(f"give --{what}_hosts or --{what}_file, not both")
        return read_hosts(path, f"--{what}_file") if path else host_list(listed)

    args.include = hosts(args.include_hosts, getattr(args, "include_file", None), "include")
    args.exclude = hosts(args.exclude_hosts, getattr(args, "exclude_file", None), "exclude")
    args.limits = read_job_limits(args.override_file) if args.override_file else {}


def dashed_safe_domain(client: SchedulerClient, args: argparse.Namespace) -> int:
    safe_domain_filters(args)
    return sla_list_safe_domain(client, args)
