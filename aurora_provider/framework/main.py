"""``aurora-scheduler``: the daemon (storage, backend, scheduling loop, HTTP API).

The flags become ``DaemonSettings``; the composition root (``daemon.py``) builds the rest.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import pwd
import shutil
import signal
import socket
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import uvicorn

from aurora_provider.api.paths import aurora_home, default_token_file
from aurora_provider.api.serverset import Endpoint
from aurora_provider.errors import run_command
from aurora_provider.framework.backends.base import Backend
from aurora_provider.framework.backends.local.backend import (
    Announcement,
    Capacity,
    LocalBackend,
)
from aurora_provider.framework.backends.local.observer import ObserverProcess
from aurora_provider.framework.backends.mesos import MesosBackend, MesosSettings
from aurora_provider.framework.core.settings import SchedulerSettings
from aurora_provider.framework.daemon import Daemon, DaemonSettings, freeze_imported_objects
from aurora_provider.framework.errors import SchedulerError
from aurora_provider.framework.ha.replicas import DEFAULT_ZK_PATH, ElectionSettings
from aurora_provider.framework.http.auth import embedded_auth_file
from aurora_provider.framework.model.executors import Executors, load_custom_executors
from aurora_provider.framework.operations.settings import OpsSettings
from aurora_provider.framework.operations.webhooks import WebhookConfig, load_webhook_file
from aurora_provider.framework.placement.offers import Overhead
from aurora_provider.framework.placement.tiers import AURORA_TIERS, TierTable, load_tier_file
from aurora_provider.framework.storage.store import Store
from aurora_provider.mesos.detector import check_master
from executor.api import ExecutorError, serverset_root

log = logging.getLogger("aurora_provider.framework")
# Where a root scheduler keeps its state when its tasks run as their role's users.
ROOT_WORK_DIR = Path("/var/lib/aurora/scheduler")

# The executor benchmark measures an idle runner at about 15 MiB RSS and ~0 % CPU
# (docs/benchmarks.md, "Executor"); the reservation keeps headroom for health checks and
# log pumping. Aurora reserved 0.25 CPU and 128 MB for its Python 2 Thermos.
DEFAULT_EXECUTOR_CPU = 0.05
DEFAULT_EXECUTOR_RAM_MB = 32.0
# Aurora's observer port, on every agent; the local backend's own observer listens there too.
OBSERVER_PORT = 1338
DEFAULT_OBSERVER_URL = f"http://{{host}}:{OBSERVER_PORT}"
OFF = ("", "off", "none")


def _listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise argparse.ArgumentTypeError(f"--listen {text!r}: expected HOST:PORT")
    return host, int(port)


def _port_range(text: str) -> tuple[int, int]:
    begin, sep, end = text.partition("-")
    if not sep or not begin.isdigit() or not end.isdigit() or int(begin) > int(end):
        raise argparse.ArgumentTypeError(f"--local-ports {text!r}: expected BEGIN-END")
    return int(begin), int(end)


def _attribute(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"--local-attribute {text!r}: expected NAME=VALUE")
    return name, value


def _uris(text: str) -> tuple[str, ...]:
    uris = tuple(u.strip() for u in text.split(","))
    for uri in uris:
        if not uri or uri.endswith("/"):
            raise argparse.ArgumentTypeError(f"{uri!r}: expected a URI of a file (the "
                                             "agent names the fetched file after its end)")
    return uris


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a whole number above 0")
    return int(text)


def _positive_secs(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not (value > 0 and value < float("inf")):
        raise argparse.ArgumentTypeError(f"{text!r}: expected seconds above 0")
    return value


def parser() -> argparse.ArgumentParser:
    # The defaults of the tunables are the settings' own: one place says them.
    d, o = SchedulerSettings(), OpsSettings()
    p = argparse.ArgumentParser(prog="aurora-scheduler",
                                description="The Aurora scheduler daemon.")
    p.add_argument("--listen", type=_listen, default=("127.0.0.1", 8081), metavar="HOST:PORT")
    p.add_argument("--backend", choices=["local", "mesos"], default="local")
    p.add_argument("--db", metavar="URL", help="SQLAlchemy URL (default: SQLite in the work dir)")
    p.add_argument("--work-dir", type=Path, metavar="DIR",
                   help="state, sandboxes and checkpoints (default: ~/.aurora/scheduler; "
                   f"{ROOT_WORK_DIR} for a root scheduler running tasks as their role's "
                   "user, whose sandboxes must be reachable by those users)")
    p.add_argument("--cluster", default="devcluster")
    p.add_argument("--auth-file", type=Path, metavar="FILE",
                   help="tokens JSON; without it an admin token is written to the token file")
    p.add_argument("--token-file", type=Path, metavar="FILE",
                   help="where the embedded admin token goes (default: ~/.aurora/token)")
    t = p.add_argument_group("scheduling")
    t.add_argument("--allowed-environments", default=d.allowed_environments)
    t.add_argument("--flapping-threshold", type=float, default=d.flapping_threshold_secs,
                   metavar="SECS")
    t.add_argument("--backoff-initial", type=float, default=d.backoff_initial_secs,
                   metavar="SECS")
    t.add_argument("--backoff-max", type=float, default=d.backoff_max_secs, metavar="SECS")
    t.add_argument("--transient-timeout", type=float, default=d.transient_timeout_secs,
                   metavar="SECS")
    t.add_argument("--history-max-age", type=float, default=d.history_max_age_secs,
                   metavar="SECS")
    t.add_argument("--history-min-age", type=float, default=d.history_min_age_secs,
                   metavar="SECS")
    t.add_argument("--history-max-per-job", type=int, default=d.history_max_per_job,
                   metavar="N")
    t.add_argument("--prune-interval", type=float, default=d.prune_interval_secs,
                   metavar="SECS")
    t.add_argument("--round-interval", type=float, default=d.round_interval_secs,
                   metavar="SECS")
    t.add_argument("--max-tasks-per-round", type=_positive, default=d.max_tasks_per_round,
                   metavar="N", help="tasks one scheduling round places before it leaves "
                   "the rest to the next, as Aurora's -max_tasks_per_schedule_attempt "
                   "(%(default)d)")
    t.add_argument("--executor-cpu", type=float, default=DEFAULT_EXECUTOR_CPU)
    t.add_argument("--executor-ram-mb", type=float, default=DEFAULT_EXECUTOR_RAM_MB)
    t.add_argument("--executor-disk-mb", type=float, default=0.0)
    lim = p.add_argument_group("limits")
    lim.add_argument("--max-body-bytes", type=_positive, default=d.max_body_bytes, metavar="N",
                     help="larger request bodies are answered 413 unread (%(default)d)")
    lim.add_argument("--max-tasks-per-job", type=_positive, default=d.max_instances,
                     metavar="N", help="instances of one job, as Aurora's -max_tasks_per_job "
                     "(%(default)d)")
    lim.add_argument("--max-jobs-per-role", type=_positive, default=d.max_jobs_per_role,
                     metavar="N", help="jobs and cron jobs one role may hold (%(default)d)")
    ann = p.add_argument_group("service discovery (given to every executor)")
    ann.add_argument("--announcer-ensemble", metavar="HOST:PORT,...",
                     help="the ZooKeeper ensemble tasks with an Announcer join their "
                     "serversets in")
    ann.add_argument("--announcer-zk-path-prefix", metavar="PATH",
                     help="the serversets' root there: a job without its own zk_path "
                     "announces at PATH/ROLE/ENV/NAME (default /aurora)")
    ha = p.add_argument_group("high availability (replicas elect a leader in ZooKeeper)")
    ha.add_argument("--zk", metavar="HOST:PORT,...",
                    help="run as one of several replicas: the ZooKeeper ensemble they elect "
                    "their leader in (all replicas share one store: --db)")
    ha.add_argument("--zk-path", metavar="PATH",
                    help=f"where the replicas stand and the leader advertises itself "
                    f"(clusters.json's scheduler_zk_path; default {DEFAULT_ZK_PATH})")
    ha.add_argument("--zk-session-timeout", type=_positive_secs, default=4.0, metavar="SECS",
                    help="how long a silent leader keeps leadership (default 4)")
    loc = p.add_argument_group("local backend")
    loc.add_argument("--local-task-root", type=Path, metavar="DIR",
                     help="where the tasks' sandboxes and checkpoints live (default: the work "
                     "dir); give every replica the same one, so a new leader adopts the "
                     "running tasks")
    loc.add_argument("--local-hostname", default=None)
    loc.add_argument("--local-cpu", type=float, default=None, help="default: all cores")
    loc.add_argument("--local-ram-mb", type=float, default=None, help="default: all memory")
    loc.add_argument("--local-disk-mb", type=float, default=None,
                     help="default: free space of the work dir")
    loc.add_argument("--local-ports", type=_port_range, action="append", metavar="BEGIN-END")
    loc.add_argument("--local-attribute", type=_attribute, action="append",
                     metavar="NAME=VALUE")
    loc.add_argument("--local-agents", type=int, default=1, metavar="N",
                     help="N agents HOSTNAME-0..N-1 splitting the capacity (default 1)")
    loc.add_argument("--nosetuid", action="store_true",
                     help="run tasks as the scheduler's own user even when it is root "
                     "(by default a root scheduler runs each task as its role's Unix user)")
    loc.add_argument("--container-runtime", choices=["podman", "docker"],
                     help="run the processes of jobs with a container image in it, through "
                     "this runtime (found on PATH); without it such jobs are refused")
    loc.add_argument("--observer-listen", metavar="HOST:PORT|off",
                     help=f"where this host's observer serves (default 127.0.0.1:{OBSERVER_PORT};"
                     " port 0: any free port); the scheduler runs it as its child")
    m, ms = p.add_argument_group("mesos backend"), MesosSettings(master="")
    m.add_argument("--mesos-master", metavar="HOST:PORT|zk://HOSTS/PATH",
                   help="the Mesos master, or the ZooKeeper path its masters register under")
    m.add_argument("--framework-name", default=ms.framework_name)
    m.add_argument("--mesos-role", default=None, help="the framework's role (default: '*')")
    m.add_argument("--mesos-principal", default=None, help="the framework's principal")
    m.add_argument("--mesos-secret-file", type=Path, metavar="FILE",
                   help="a file holding the principal's secret (HTTP basic)")
    m.add_argument("--framework-user", default=ms.user,
                   help="the user Mesos runs the executors as (default: the agent's)")
    m.add_argument("--failover-timeout", type=float, default=ms.failover_timeout_secs,
                   metavar="SECS", help="how long Mesos keeps the tasks of a scheduler that "
                   "is gone (%(default)g)")
    m.add_argument("--executor-command", default=ms.executor_command,
                   help="how agents start the executor (%(default)s)")
    m.add_argument("--executor-uris", type=_uris, default=(), metavar="URI,...",
                   help="fetched into every executor's sandbox, executable, before it starts "
                   "(Aurora's -thermos_executor_resources): the executor itself when the "
                   "agents do not have it")
    m.add_argument("--custom-executor-config", type=Path, metavar="FILE",
                   help="other executors jobs may name in ExecutorConfig(name=...), as "
                   "Aurora's -custom_executor_config JSON array")
    m.add_argument("--offer-filter", type=float, default=ms.offer_filter_secs, metavar="SECS",
                   help="declined offers are not offered again for this long (%(default)g)")
    m.add_argument("--offer-hold", type=float, default=ms.offer_hold_secs, metavar="SECS",
                   help="unused offers are kept this long for new work (%(default)g)")
    m.add_argument("--reconcile-interval", type=float, default=ms.reconcile_interval_secs,
                   metavar="SECS", help="periodic reconciliation with Mesos (%(default)g)")
    m.add_argument("--kill-retry", type=float, default=ms.kill_retry_secs, metavar="SECS",
                   help="an unanswered kill is sent again after this long (%(default)g)")
    p.add_argument("--observer-url", metavar="TEMPLATE|off",
                   help="the agents' observers for the UI, with {host} for the task's host "
                   f"(default: the local observer's URL; Mesos: {DEFAULT_OBSERVER_URL})")
    ops = p.add_argument_group("operations")
    ops.add_argument("--preemption-delay", type=float, default=o.preemption_delay_secs,
                     metavar="SECS",
                     help="how long a task stays PENDING before it may preempt (%(default)g)")
    ops.add_argument("--no-preemption", action="store_true", help="never preempt tasks")
    ops.add_argument("--backup-dir", type=Path, metavar="DIR",
                     help="where backups go (default: WORK_DIR/backups for SQLite)")
    ops.add_argument("--backup-interval", type=float, default=o.backup_interval_secs,
                     metavar="SECS", help="periodic backups (%(default)g; 0 turns them off)")
    ops.add_argument("--backups-kept", type=int, default=o.backups_kept, metavar="N",
                     help="periodic backups keep the newest N (%(default)d)")
    ops.add_argument("--min-required-instances-for-sla-check", type=_positive,
                     default=o.sla_min_instances, metavar="N", dest="sla_min_instances",
                     help="SLA-aware drains give jobs without a policy the default SLA only "
                     "from N active tasks on (%(default)d)")
    ops.add_argument("--sla-stat-refresh-interval", type=_positive_secs,
                     default=o.sla_stat_refresh_secs, metavar="SECS",
                     help="the window SLA metrics are computed over (%(default)g)")
    ops.add_argument("--sla-non-prod-metrics", action="store_true",
                     help="compute SLA metrics for non-production jobs too (with _nonprod)")
    ops.add_argument("--tier-config", type=Path, metavar="FILE",
                     help="the tiers jobs may name, as Aurora's tiers.json (default: "
                     "Aurora's preferred, preemptible (default) and revocable)")
    ops.add_argument("--webhook-config", type=Path, metavar="FILE",
                     help="POST every task state change to a webhook, as Aurora's "
                     "webhook.json (targetURL, timeoutMsec, headers, statuses)")
    p.add_argument("--log-level", default="INFO")
    # What each backend's group holds, for refusing it on the other (``backend_flags``).
    p.set_defaults(backend_only=tuple(
        BackendFlag(action.dest, action.option_strings[0], backend, action.default)
        for backend, group in (("local", loc), ("mesos", m))
        for action in group._group_actions))
    return p


@dataclass(frozen=True)
class BackendFlag:
    dest: str
    flag: str
    backend: str  # the backend that reads it
    default: object


def backend_flags(args: argparse.Namespace) -> None:
    """A flag only the other backend reads would be ignored: the start is refused."""
    for only in args.backend_only:
        if only.backend != args.backend and getattr(args, only.dest) != only.default:
            raise SchedulerError(f"{only.flag} is for the {only.backend} backend (--backend "
                                 f"{only.backend}); the {args.backend} backend would "
                                 "ignore it")


def scheduler_settings(args: argparse.Namespace,
                       executors: Executors | None = None) -> SchedulerSettings:
    return SchedulerSettings(
        cluster=args.cluster, allowed_environments=args.allowed_environments,
        flapping_threshold_secs=args.flapping_threshold,
        backoff_initial_secs=args.backoff_initial, backoff_max_secs=args.backoff_max,
        transient_timeout_secs=args.transient_timeout,
        history_max_age_secs=args.history_max_age, history_min_age_secs=args.history_min_age,
        history_max_per_job=args.history_max_per_job,
        prune_interval_secs=args.prune_interval, round_interval_secs=args.round_interval,
        max_tasks_per_round=args.max_tasks_per_round,
        max_instances=args.max_tasks_per_job, max_jobs_per_role=args.max_jobs_per_role,
        max_body_bytes=args.max_body_bytes,
        overhead=Overhead(args.executor_cpu, args.executor_ram_mb, args.executor_disk_mb),
        custom_executors=executors or {})


def backup_dir(args: argparse.Namespace, work_dir: Path) -> Path | None:
    """``--backup-dir``; else ``backups/`` beside a SQLite store (the default, decided by
    the store) or, for another database (PostgreSQL), in the work dir, so the scheduled
    backups happen there too."""
    if args.backup_dir is not None:
        return Path(args.backup_dir).expanduser().resolve()
    if args.db is not None and not args.db.startswith("sqlite"):
        return work_dir / "backups"
    return None


def ops_settings(args: argparse.Namespace, work_dir: Path) -> OpsSettings:
    return OpsSettings(
        preemption_delay_secs=args.preemption_delay, preemption_enabled=not args.no_preemption,
        backup_interval_secs=args.backup_interval, backups_kept=args.backups_kept,
        sla_min_instances=args.sla_min_instances,
        sla_stat_refresh_secs=args.sla_stat_refresh_interval,
        sla_non_prod_metrics=args.sla_non_prod_metrics,
        backup_dir=backup_dir(args, work_dir))


def _check_ensemble(flag: str, ensemble: str) -> None:
    hosts = ensemble.partition("/")[0].split(",")
    if not all(h.rpartition(":")[0] and h.rpartition(":")[2].isdigit() for h in hosts):
        raise SchedulerError(f"{flag} {ensemble!r}: expected HOST:PORT[,HOST:PORT...]")


def election(args: argparse.Namespace) -> ElectionSettings | None:
    """``--zk``, ``--zk-path`` and ``--zk-session-timeout``, checked (one line); None
    without ``--zk``: a lone scheduler."""
    if args.zk is None:
        if args.zk_path is not None:
            raise SchedulerError("--zk-path needs --zk")
        return None
    _check_ensemble("--zk", args.zk)
    path = args.zk_path or DEFAULT_ZK_PATH
    if not path.startswith("/") or "//" in path or (len(path) > 1 and path.endswith("/")):
        raise SchedulerError(f"--zk-path {path!r}: expected an absolute ZooKeeper path, "
                             "e.g. /aurora/scheduler")
    if args.db is None:
        raise SchedulerError("--zk: the replicas must share one store; give --db (a "
                             "PostgreSQL URL, or one SQLite file every replica on this "
                             "machine opens)")
    host, port = args.listen
    if host in ("0.0.0.0", "::", ""):
        host = socket.gethostname()
    return ElectionSettings(args.zk, path, args.zk_session_timeout, Endpoint(host, port))


def announcement(args: argparse.Namespace) -> Announcement:
    """``--announcer-ensemble`` and ``--announcer-zk-path-prefix``, checked (one line)."""
    ensemble = args.announcer_ensemble
    if ensemble is not None:
        _check_ensemble("--announcer-ensemble", ensemble)
    prefix = args.announcer_zk_path_prefix
    if prefix is not None:
        if ensemble is None:
            raise SchedulerError("--announcer-zk-path-prefix needs --announcer-ensemble")
        try:
            prefix = serverset_root(prefix)
        except ExecutorError as e:
            raise SchedulerError(str(e)) from e
    return Announcement(ensemble=ensemble, zk_path_prefix=prefix)


def container_runtime(args: argparse.Namespace) -> str | None:
    """The ``--container-runtime`` binary's path, found on PATH now (else one line); a
    local flag, refused on Mesos by ``backend_flags``."""
    runtime: str | None = args.container_runtime
    if runtime is None:
        return None
    found = shutil.which(runtime)
    if found is None:
        raise SchedulerError(f"--container-runtime {runtime}: no {runtime} on PATH; "
                             "install it or drop the flag")
    return found


def local_backend(args: argparse.Namespace, work_dir: Path) -> LocalBackend:
    capacity = Capacity(
        cpu=args.local_cpu if args.local_cpu is not None else float(os.cpu_count() or 1),
        ram_mb=(args.local_ram_mb if args.local_ram_mb is not None
                else psutil.virtual_memory().total / 2**20),
        disk_mb=(args.local_disk_mb if args.local_disk_mb is not None
                 else shutil.disk_usage(work_dir).free / 2**20),
        port_ranges=tuple(args.local_ports or [(31000, 32000)]))
    return LocalBackend(work_dir=task_root(args, work_dir),
                        hostname=args.local_hostname or socket.gethostname(),
                        capacity=capacity, attributes=dict(args.local_attribute or []),
                        agents=args.local_agents, setuid=tasks_setuid(args),
                        announcer=announcement(args), container_runtime=container_runtime(args))


def task_root(args: argparse.Namespace, work_dir: Path) -> Path:
    """Where local tasks live: ``--local-task-root``, else the work dir."""
    root: Path = args.local_task_root
    return root.expanduser().resolve() if root is not None else work_dir


def default_work_dir(args: argparse.Namespace) -> Path:
    """``~/.aurora/scheduler``, except for a root scheduler whose local tasks run as their
    role's user: root's home is 0700, so their sandboxes go where those users can reach."""
    if args.backend == "local" and tasks_setuid(args) and "AURORA_HOME" not in os.environ:
        return ROOT_WORK_DIR
    return aurora_home() / "scheduler"


def tasks_setuid(args: argparse.Namespace) -> bool:
    """Whether local tasks run as their role's user: only root can, and does unless told
    --nosetuid (as Aurora's executor runs Thermos with --setuid unless --nosetuid)."""
    return os.geteuid() == 0 and not args.nosetuid


def mesos_settings(args: argparse.Namespace,
                   executors: Executors | None = None) -> MesosSettings:
    """The Mesos flags, checked before anything starts (one line for a bad value)."""
    if not args.mesos_master:
        raise SchedulerError("--backend mesos needs --mesos-master HOST:PORT or "
                             "zk://HOST:PORT[,...]/PATH")
    try:
        check_master(args.mesos_master)
    except ValueError as e:
        raise SchedulerError(f"--mesos-master {args.mesos_master!r}: {e}") from e
    secret = None
    if args.mesos_secret_file is not None:
        if not args.mesos_principal:
            raise SchedulerError("--mesos-secret-file needs --mesos-principal")
        try:
            secret = args.mesos_secret_file.read_text().strip()
        except OSError as e:
            raise SchedulerError(f"cannot read --mesos-secret-file {args.mesos_secret_file}: "
                                 f"{e.strerror or e}") from e
    host, port = args.listen
    announcer = announcement(args)
    return MesosSettings(
        master=args.mesos_master, framework_name=args.framework_name, role=args.mesos_role,
        principal=args.mesos_principal, secret=secret, user=args.framework_user,
        hostname=socket.gethostname(), webui_url=f"http://{host}:{port}",
        failover_timeout_secs=args.failover_timeout, executor_command=args.executor_command,
        executor_uris=args.executor_uris,
        offer_filter_secs=args.offer_filter, offer_hold_secs=args.offer_hold,
        reconcile_interval_secs=args.reconcile_interval, kill_retry_secs=args.kill_retry,
        announcer_ensemble=announcer.ensemble, announcer_zk_path_prefix=announcer.zk_path_prefix,
        custom_executors=executors or {})


def backend_factory(args: argparse.Namespace, work_dir: Path,
                    executors: Executors | None = None) -> Callable[[Store], Backend]:
    if args.backend == "mesos":
        settings = mesos_settings(args, executors)
        return lambda store: MesosBackend(settings, store.state)
    return lambda _store: local_backend(args, work_dir)


def check_listen(host: str, port: int) -> None:
    """Fail early, in one line, when the address is taken (uvicorn would log and exit 3)."""
    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((host, port))
    except OSError as e:
        raise SchedulerError(f"cannot listen on {host}:{port}: {e.strerror or e}") from e


def observer_template(text: str | None) -> str | None:
    """``--observer-url``: None when not given or off; else a template naming ``{host}``."""
    if text is None or text.strip().lower() in OFF:
        return None
    try:
        text.format(host="agent")
        ok = "{host}" in text
    except (IndexError, KeyError, ValueError):
        ok = False
    if not ok:
        raise SchedulerError(f"--observer-url {text!r}: expected a URL template with {{host}} "
                             f"(and no other braces), e.g. {DEFAULT_OBSERVER_URL}, or off")
    return text


def observer_listen(text: str | None) -> tuple[str, int] | None:
    """``--observer-listen``: where the local observer binds, None when off."""
    if text is None:
        return "127.0.0.1", OBSERVER_PORT
    if text.strip().lower() in OFF:
        return None
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise SchedulerError(f"--observer-listen {text!r}: expected HOST:PORT (port 0: any "
                             "free port) or off")
    return host.strip("[]"), int(port)


def local_observer(args: argparse.Namespace, work_dir: Path) -> ObserverProcess | None:
    """The local backend's observer, its port bound now (a taken one stops the start here,
    before anything runs); None for the Mesos backend, whose agents run their own."""
    listen = observer_listen(args.observer_listen) if args.backend == "local" else None
    if listen is None:
        return None
    # The local backend's checkpoint root (``LocalBackend.checkpoint_root``).
    return ObserverProcess.bind(*listen, checkpoint_root=task_root(args, work_dir) / "checkpoints",
                                log_file=work_dir / "observer.log")


def cluster_observer_url(args: argparse.Namespace, observer: ObserverProcess | None) -> str | None:
    """What ``ClusterInfo.observer_url`` says: the flag when given, else the local observer's
    own URL, else (Mesos) Aurora's port on every agent."""
    if args.observer_url is not None:
        return observer_template(args.observer_url)
    if args.backend == "mesos":
        return DEFAULT_OBSERVER_URL
    return observer.url if observer is not None else None


def _own_user() -> str:
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return str(os.geteuid())


def task_separation(user: str, setuid: bool, nosetuid: bool) -> str:
    """What keeps local tasks from the scheduler's secrets, said truthfully at start-up.

    A task run as its role's user cannot read the scheduler's 0600 files; one run as the
    scheduler's own user can, whatever their modes, and can call the API as its admin.
    """
    if setuid:
        return ("local backend: tasks run as their role's user (a role with no Unix user "
                "fails its tasks; --nosetuid runs them as the scheduler's user instead)")
    why = "--nosetuid" if nosetuid else "not root"
    return (f"local backend: tasks run as {user}, the scheduler's own user ({why}): a task "
            "can read what that user can, so they can read its auth file, token file and "
            "store despite their 0600 modes and call the API as its admin; run only trusted "
            "jobs here")


@dataclass(frozen=True)
class PolicyFiles:
    """What ``--tier-config``, ``--webhook-config`` and ``--custom-executor-config`` say,
    read once at start-up."""

    tiers: TierTable
    webhook: WebhookConfig | None
    executors: Executors = field(default_factory=dict)


def policy_files(args: argparse.Namespace) -> PolicyFiles:
    """Read the tier, webhook and executor files (SchedulerError, one line, for a bad one)."""
    return PolicyFiles(
        tiers=load_tier_file(args.tier_config) if args.tier_config else AURORA_TIERS,
        webhook=load_webhook_file(args.webhook_config) if args.webhook_config else None,
        executors=custom_executors(args))


def custom_executors(args: argparse.Namespace) -> Executors:
    """The executors of ``--custom-executor-config`` (a Mesos flag: ``backend_flags``
    refuses it on the local backend before this runs)."""
    if args.custom_executor_config is None:
        return {}
    return load_custom_executors(args.custom_executor_config)


def run(args: argparse.Namespace) -> int:
    check_listen(*args.listen)
    backend_flags(args)  # a flag of the other backend stops the start before anything
    election(args)  # and bad election flags
    observer_template(args.observer_url)  # and so does a bad template
    announcement(args)  # and a bad ensemble or serverset root
    container_runtime(args)  # and a runtime that is not there
    files = policy_files(args)  # and a bad tiers, webhook or executor file
    work_dir = (args.work_dir or default_work_dir(args)).expanduser().resolve()
    observer = local_observer(args, work_dir)
    try:
        return serve(args, work_dir, observer, files)
    finally:
        if observer is not None:
            observer.close()


def serve(args: argparse.Namespace, work_dir: Path, observer: ObserverProcess | None,
          files: PolicyFiles) -> int:
    try:
        work_dir.mkdir(parents=True, exist_ok=True)
        auth_file = args.auth_file or embedded_auth_file(
            work_dir, args.token_file or default_token_file(), getpass.getuser())
        freeze_imported_objects()
        daemon = Daemon(DaemonSettings(
            db_url=args.db or f"sqlite:///{work_dir / 'scheduler.db'}", auth_file=auth_file,
            scheduler=scheduler_settings(args, files.executors), ops=ops_settings(args, work_dir),
            observer_url=cluster_observer_url(args, observer),
            tiers=files.tiers, webhook=files.webhook),
            backend=backend_factory(args, work_dir, files.executors), observer=observer)
        replicas = election(args)
        leadership = None if replicas is None else replicas.join(daemon)
        if leadership is None:
            daemon.start()
    except OSError as e:  # a work dir or token file we may not write
        raise SchedulerError(f"cannot start in {work_dir}: {e}") from e
    host, port = args.listen
    log.info("aurora-scheduler for cluster %s on http://%s:%d (work dir %s, observer %s)",
             args.cluster, host, port, work_dir, daemon.settings.observer_url or "none")
    if args.backend == "local":
        setuid = tasks_setuid(args)
        log.log(logging.INFO if setuid else logging.WARNING, "%s",
                task_separation(_own_user(), setuid, args.nosetuid))
    # uvicorn turns SIGTERM and SIGINT into a graceful shutdown, then raises the signal
    # again under the handler it found: found ours, which ignores it, the daemon stops
    # below (the round in flight finishes, nothing half-written) and the exit is 0 rather
    # than death by the default handler before ``daemon.stop()`` runs.
    previous = {sig: signal.signal(sig, _stopping) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        uvicorn.run(daemon.asgi, host=host, port=port, log_level="warning", access_log=False,
                    interface="asgi3", timeout_graceful_shutdown=STOP_GRACE_SECS)
    finally:
        if leadership is not None:
            leadership.stop()  # the scheduler too, when it leads here
        daemon.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


# How long a stopping scheduler waits for requests in flight (a long poll).
STOP_GRACE_SECS = 1


def _stopping(sig: int, _frame: object) -> None:
    log.info("%s: stopping", signal.Signals(sig).name)


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # httpx logs every request at INFO: the Mesos backend makes thousands.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, logging.root.level))
    return run_command("aurora-scheduler", lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
