"""``aurora_admin``: Aurora's admin client, with its verbs and flags as scripts type them.

``aurora_admin host_drain --hosts=a,b CLUSTER`` runs what ``aurora-admin host-drain CLUSTER a b``
runs (the same commands of ``admin_commands``); options may come before or after the
positionals, as with Aurora's client. A flag this scheduler would have to ignore (a drain's
``--batch_size``...) is refused with one line, and so is a ``--grouping`` other than
``by_host``.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from aurora_provider.api import models as m
from aurora_provider.api.client import SchedulerClient
from aurora_provider.cli import admin_commands as c
from aurora_provider.cli import admin_recovery as recovery
from aurora_provider.cli import admin_sla
from aurora_provider.cli.clusters import Cluster, ClusterError, get_cluster
from aurora_provider.cli.entry import run_main
from aurora_provider.states.task import TERMINAL, TaskState

Run = Callable[[Cluster, argparse.Namespace], int]
_VERBS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], Run]] = {}


def _verb(name: str, help: str, options: Callable[[argparse.ArgumentParser], None]
          ) -> Callable[[Run], Run]:
    def register(run: Run) -> Run:
        _VERBS[name] = (help, options, run)
        return run
    return register


def _with_client(run: Callable[[SchedulerClient, argparse.Namespace], int]) -> Run:
    def on_cluster(cluster: Cluster, args: argparse.Namespace) -> int:
        with cluster.client() as client:
            return run(client, args)
    return on_cluster


# -- options as Aurora spelled them -------------------------------------------------------


def _hosts_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--hosts", metavar="HOST,HOST", help="comma-separated host names")
    p.add_argument("--filename", metavar="FILE", help="a file of host names, one per line")


def _hosts(args: argparse.Namespace, *, required: bool = True) -> list[str]:
    """The hosts of ``--hosts`` and ``--filename`` (Aurora's client took either)."""
    hosts = [h.strip() for h in (args.hosts or "").split(",") if h.strip()]
    if args.filename:
        try:
            text = Path(args.filename).read_text()
        except OSError as e:
            raise ClusterError(f"--filename {args.filename}: {e.strerror}") from e
        hosts += [line.strip() for line in text.splitlines() if line.strip()]
    if required and not hosts:
        raise ClusterError("name the hosts with --hosts=HOST,HOST or --filename=FILE")
    return hosts


def _refuse_flags(args: argparse.Namespace, *names: str) -> None:
    for name in names:
        if getattr(args, name, None) not in (None, False):
            raise ClusterError(f"--{name} is not supported by this scheduler (it would be "
                               "ignored); leave it out")


def _nothing(_: argparse.ArgumentParser) -> None:
    pass


def _quota_options(p: argparse.ArgumentParser) -> None:
    for name, what in (("role", "the role"), ("cpu", "CPU cores"),
                       ("ram", "RAM with a unit, e.g. 16GB"),
                       ("disk", "disk with a unit, e.g. 100GB")):
        p.add_argument(name, help=what)


# -- the verbs (those Aurora spells like ours are the same commands) ---------------------


_verb("set_quota", "set a role's production quota: ROLE CPU RAM DISK",
      _quota_options)(_with_client(c._set_quota))


_verb("increase_quota", "add to a role's production quota: ROLE CPU RAM DISK",
      _quota_options)(_with_client(c._increase_quota))


@_verb("host_maintenance_start", "put hosts in maintenance (used last)", _hosts_options)
def _maintenance_start(cluster: Cluster, args: argparse.Namespace) -> int:
    args.hosts = _hosts(args)
    return _with_client(c._host_deactivate)(cluster, args)


# Aurora's own name of the same verb (its scripts call either).
_verb("host_deactivate", "put hosts in maintenance (used last); as host_maintenance_start",
      _hosts_options)(_maintenance_start)


def _drain_options(p: argparse.ArgumentParser) -> None:
    _hosts_options(p)
    p.add_argument("--override_percentage", type=float, metavar="P",
                   help="keep at least P%% of each job's instances RUNNING while draining")
    p.add_argument("--override_duration", metavar="DURATION")
    p.add_argument("--override_reason", metavar="REASON",
                   help="why the SLA is overridden, written to stderr for the record")
    p.add_argument("--grouping", metavar="GROUPING")
    p.add_argument("--batch_size", type=int, metavar="N")
    p.add_argument("--post_drain_script", metavar="SCRIPT")


@_verb("host_drain", "drain hosts: their tasks are moved elsewhere", _drain_options)
def _drain(cluster: Cluster, args: argparse.Namespace) -> int:
    if args.grouping not in (None, "by_host"):
        raise ClusterError(f"--grouping={args.grouping}: only by_host is supported")
    _refuse_flags(args, "batch_size", "post_drain_script", "override_duration")
    hosts = _hosts(args)
    if args.override_reason:  # Aurora logged the override and its reason for the record
        print(f"aurora_admin: SLA override on {', '.join(hosts)}: keep "
              f"{args.override_percentage if args.override_percentage is not None else 'no'}"
              f"% running; reason: {args.override_reason}", file=sys.stderr)
    args.hosts, args.percentage = hosts, args.override_percentage
    return _with_client(c._host_drain)(cluster, args)


@_verb("host_activate", "take hosts out of maintenance", _hosts_options)
def _activate(cluster: Cluster, args: argparse.Namespace) -> int:
    args.hosts = _hosts(args)
    return _with_client(c._host_activate)(cluster, args)


@_verb("host_status", "show hosts' maintenance modes", _hosts_options)
def _status(cluster: Cluster, args: argparse.Namespace) -> int:
    args.hosts = _hosts(args, required=False)
    return _with_client(c._host_status)(cluster, args)


def _prune_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--states", metavar="S,S", help="terminal states (default: all)")
    p.add_argument("--role")
    p.add_argument("--env", dest="environment")
    p.add_argument("--limit", type=int, metavar="N")


@_verb("prune_tasks", "delete terminal tasks from the scheduler's history", _prune_options)
def _prune(cluster: Cluster, args: argparse.Namespace) -> int:
    args.name = None
    return _with_client(c._prune)(cluster, args)


def _reconcile_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("-t", "--type", default="explicit", choices=["implicit", "explicit"])
    p.add_argument("-b", "--batch_size", type=int, metavar="N")


@_verb("reconcile_tasks", "ask the backend about every running task now", _reconcile_options)
def _reconcile(cluster: Cluster, args: argparse.Namespace) -> int:
    if args.type == "implicit":
        raise ClusterError("--type=implicit is not supported: this scheduler reconciles "
                           "explicitly, task by task (leave --type out)")
    _refuse_flags(args, "batch_size")
    return _with_client(c._reconcile)(cluster, args)


_verb("scheduler_backup_now", "write a backup of the scheduler's store now",
      _nothing)(_with_client(c._backup_now))


_verb("scheduler_list_backups", "list the scheduler's backups",
      _nothing)(_with_client(c._list_backups))


@_verb("scheduler_snapshot", "Aurora compacted its replicated log; nothing to do here", _nothing)
def _snapshot(cluster: Cluster, args: argparse.Namespace) -> int:
    print("nothing to snapshot: the store is a database, not a replicated log; use "
          "scheduler_backup_now for a backup")
    return 0


def _query_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("role", nargs="?", help="the role (every role with --force)")
    p.add_argument("job", nargs="?", help="the job's name (every job with --force)")
    p.add_argument("--force", action="store_true", help="run an expensive query: no role, "
                   "no job, or states outside the active ones")
    p.add_argument("--shards", metavar="I,J", help="instances to show (default: all)")
    p.add_argument("--states", default="RUNNING", metavar="S,S",
                   help="task states to show (default: RUNNING)")
    p.add_argument("-l", "--listformat", default="%role%/%name%/%instanceId% %status%",
                   metavar="FORMAT", help="a line per task; %%KEY%% is replaced for the keys "
                   f"{', '.join(_QUERY_KEYS)}")


_QUERY_KEYS = ("role", "environment", "name", "instanceId", "status", "slaveHost", "taskId")
_KEY = re.compile(r"%(\w+)%")


@_verb("query", "list tasks by role and job name, in some states", _query_options)
def _query(cluster: Cluster, args: argparse.Namespace) -> int:
    states = {s.strip().upper() for s in args.states.split(",") if s.strip()}
    unknown = sorted(states - {s.value for s in TaskState})
    if unknown or not states:
        raise ClusterError(f"--states: unknown state(s) {', '.join(unknown) or '(none)'}; "
                           f"choose among {', '.join(s.value for s in TaskState)}")
    wrong = sorted(set(_KEY.findall(args.listformat)) - set(_QUERY_KEYS))
    if wrong:
        raise ClusterError(f"--listformat: unknown key(s) {', '.join(wrong)}; the keys are "
                           f"{', '.join(_QUERY_KEYS)}")
    expensive = [why for why, yes in (
        ("no role named", not args.role), ("no job named", not args.job),
        ("states outside the active ones", any(TaskState(s) in TERMINAL for s in states)))
        if yes]
    if expensive and not args.force:
        raise ClusterError(f"--force is required for expensive queries ({expensive[0]})")
    shards = {int(s) for s in args.shards.split(",")} if args.shards else None
    wants_terminal = any(TaskState(s) in TERMINAL for s in states)
    with cluster.client() as client:
        pattern = f"{cluster.name}/{args.role or '*'}/*/{args.job or '*'}"
        for job in client.list_jobs(pattern).jobs:
            _, role, environment, name = job.key.split("/")
            tasks = client.job_task_lists(job.key, terminal_limit=None if wants_terminal else 0)
            for t in sorted(tasks.active + tasks.terminal, key=lambda t: t.instance):
                if t.status.value in states and (shards is None or t.instance in shards):
                    values = {"role": role, "environment": environment, "name": name,
                              "instanceId": t.instance, "status": t.status.value,
                              "slaveHost": t.host or "-", "taskId": t.task_id}
                    print(_fill(args.listformat, values))
    return 0


def _fill(template: str, values: dict[str, object]) -> str:
    return _KEY.sub(lambda key: str(values[key.group(1)]), template)


@_verb("get_scheduler", "print the cluster's scheduler address", _nothing)
def _get_scheduler(cluster: Cluster, args: argparse.Namespace) -> int:
    print(cluster.scheduler_url())  # a cluster named by ZooKeeper: its leader, now
    return 0


def _config_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--sh", action="store_true", help="as shell variable assignments")
    p.add_argument("--export", action="store_true", help="as shell export statements")


@_verb("get_cluster_config", "print the cluster's clusters.json entry", _config_options)
def _cluster_config(cluster: Cluster, args: argparse.Namespace) -> int:
    entry = cluster.entry()
    if not (args.sh or args.export):
        print(json.dumps(entry, indent=2))
        return 0
    prefix = "export " if args.export else ""
    for key, value in entry.items():
        print(f"{prefix}{key.upper()}={shlex.quote(str(value))}")
    return 0


_verb("scheduler_stage_recovery", "stage a backup for recovery",
      recovery.backup_id_argument)(_with_client(recovery.stage))
_verb("scheduler_print_recovery_tasks", "print the active tasks of the staged recovery",
      _nothing)(_with_client(recovery.print_tasks))
_verb("scheduler_delete_recovery_tasks", "delete tasks (comma-separated ids) from the "
      "staged recovery", recovery.task_ids_argument)(_with_client(recovery.delete_tasks))
_verb("scheduler_commit_recovery", "commit the staged recovery: the live store is backed "
      "up, replaced, and the scheduler restarts on it",
      _nothing)(_with_client(recovery.commit))
_verb("scheduler_unload_recovery", "unload the staged recovery",
      _nothing)(_with_client(recovery.unload))


def _grouping(args: argparse.Namespace) -> None:
    if args.grouping not in (None, "by_host"):
        raise ClusterError(f"--grouping={args.grouping}: only by_host is supported")


def _sla_drain_options(p: argparse.ArgumentParser) -> None:
    _hosts_options(p)
    p.add_argument("--default_percentage", default=f"{m.DEFAULT_SLA_PERCENTAGE:g}",
                   metavar="P", help="SLA of jobs without a policy: P%% of their instances "
                   "up (%(default)s)")
    p.add_argument("--default_duration", default="30m", metavar="DURATION",
                   help="...for this long, XdYhZmWs (%(default)s)")
    p.add_argument("--force_drain_timeout", default="7d", metavar="DURATION",
                   help="drain what is left after this long, XdYhZmWs (%(default)s)")


@_verb("sla_host_drain", "drain hosts under each job's SLA, regardless of SLAs after "
       "--force_drain_timeout", _sla_drain_options)
def _sla_drain(cluster: Cluster, args: argparse.Namespace) -> int:
    args.hosts = _hosts(args)
    return _with_client(admin_sla.sla_host_drain)(cluster, args)


def _sla_limit_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("percentage", help="share of each job's instances that must stay up")
    p.add_argument("duration", help="for how long they must have been up: XdYhZmWs")
    p.add_argument("--grouping", metavar="GROUPING")
    p.add_argument("--min_job_instance_count", type=int, dest="min_instance_count",
                   default=m.DEFAULT_MIN_INSTANCE_COUNT, metavar="N",
                   help="only jobs with N live instances or more count (%(default)d)")


def _safe_domain_options(p: argparse.ArgumentParser) -> None:
    _sla_limit_options(p)
    p.add_argument("-X", "--exclude_file", metavar="FILE", help="hosts to leave out, a line "
                   "each")
    p.add_argument("-x", "--exclude_hosts", metavar="HOST,HOST", help="hosts to leave out")
    p.add_argument("-I", "--include_file", metavar="FILE", help="hosts to consider, a line "
                   "each")
    p.add_argument("-i", "--include_hosts", metavar="HOST,HOST", help="hosts to consider")
    p.add_argument("-l", "--list_jobs", action="store_true",
                   help="print HOST JOB PREDICTED_SLA DURATION_SECONDS lines")
    p.add_argument("-o", "--override_file", metavar="FILE", help="job limits, a line each: "
                   "CLUSTER/ROLE/ENV/NAME PERCENTAGE DURATION")


@_verb("sla_list_safe_domain", "list the hosts that can go down without breaking a job's "
       "SLA: CLUSTER PERCENTAGE DURATION", _safe_domain_options)
def _safe_domain(cluster: Cluster, args: argparse.Namespace) -> int:
    _grouping(args)
    admin_sla.safe_domain_filters(args)
    return _with_client(admin_sla.sla_list_safe_domain)(cluster, args)


def _probe_options(p: argparse.ArgumentParser) -> None:
    _sla_limit_options(p)
    _hosts_options(p)


@_verb("sla_probe_hosts", "show what taking hosts down would do to their jobs' SLA: "
       "CLUSTER PERCENTAGE DURATION", _probe_options)
def _probe(cluster: Cluster, args: argparse.Namespace) -> int:
    _grouping(args)
    args.hosts = _hosts(args)
    return _with_client(admin_sla.sla_probe_hosts)(cluster, args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aurora_admin", description="Aurora's admin client: its verbs and flags, on "
        "this scheduler (see also aurora-admin).")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    for name, (help, options, run) in _VERBS.items():
        p = verbs.add_parser(name, help=help, description=help)
        p.add_argument("cluster", metavar="CLUSTER", help="the cluster's name")
        options(p)
        p.set_defaults(run=run)
    return parser


def _run(args: argparse.Namespace) -> int:
    run: Run = args.run
    return int(run(get_cluster(args.cluster), args))


def main(argv: Sequence[str] | None = None) -> int:
    return run_main("aurora_admin", build_parser(), argv, _run)


if __name__ == "__main__":
    sys.exit(main())
