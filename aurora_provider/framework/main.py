"""``aurora-scheduler``: the daemon (storage, backend, scheduling loop, HTTP API)."""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import shutil
import socket
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

import psutil
import uvicorn

from aurora_provider.framework import ops as operations
from aurora_provider.framework.app import create_app
from aurora_provider.framework.auth import (
    Authenticator,
    aurora_home,
    default_token_file,
    embedded_auth_file,
)
from aurora_provider.framework.backends.local import Capacity, LocalBackend
from aurora_provider.framework.core import Scheduler
from aurora_provider.framework.errors import SchedulerError
from aurora_provider.framework.jobs import JobService
from aurora_provider.framework.placement import Overhead
from aurora_provider.framework.settings import SchedulerSettings
from aurora_provider.framework.storage import open_store

log = logging.getLogger("aurora_provider.framework")

# The executor benchmark measures an idle runner at 18.7 MiB RSS and ~0 % CPU
# (docs/benchmarks.md, "Executor");
# the reservation keeps headroom for health checks and log pumping. Aurora reserved 0.25 CPU
# and 128 MB for its Python 2 Thermos.
DEFAULT_EXECUTOR_CPU = 0.05
DEFAULT_EXECUTOR_RAM_MB = 32.0


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


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="aurora-scheduler",
                                description="The Aurora scheduler daemon.")
    p.add_argument("--listen", type=_listen, default=("127.0.0.1", 8081), metavar="HOST:PORT")
    p.add_argument("--backend", choices=["local", "mesos"], default="local")
    p.add_argument("--db", metavar="URL", help="SQLAlchemy URL (default: SQLite in the work dir)")
    p.add_argument("--work-dir", type=Path, metavar="DIR",
                   help="state, sandboxes and checkpoints (default: ~/.aurora/scheduler)")
    p.add_argument("--cluster", default="devcluster")
    p.add_argument("--auth-file", type=Path, metavar="FILE",
                   help="tokens JSON; without it an admin token is written to the token file")
    p.add_argument("--token-file", type=Path, metavar="FILE",
                   help="where the embedded admin token goes (default: ~/.aurora/token)")
    t = p.add_argument_group("scheduling")
    t.add_argument("--allowed-environments", default=SchedulerSettings.allowed_environments)
    t.add_argument("--flapping-threshold", type=float, default=300.0, metavar="SECS")
    t.add_argument("--backoff-initial", type=float, default=30.0, metavar="SECS")
    t.add_argument("--backoff-max", type=float, default=300.0, metavar="SECS")
    t.add_argument("--transient-timeout", type=float, default=300.0, metavar="SECS")
    t.add_argument("--history-max-age", type=float, default=2 * 86400.0, metavar="SECS")
    t.add_argument("--history-min-age", type=float, default=3600.0, metavar="SECS")
    t.add_argument("--history-max-per-job", type=int, default=100, metavar="N")
    t.add_argument("--prune-interval", type=float, default=60.0, metavar="SECS")
    t.add_argument("--round-interval", type=float, default=0.2, metavar="SECS")
    t.add_argument("--executor-cpu", type=float, default=DEFAULT_EXECUTOR_CPU)
    t.add_argument("--executor-ram-mb", type=float, default=DEFAULT_EXECUTOR_RAM_MB)
    t.add_argument("--executor-disk-mb", type=float, default=0.0)
    loc = p.add_argument_group("local backend")
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
    operations.add_arguments(p)
    p.add_argument("--log-level", default="INFO")
    return p


def settings_from(args: argparse.Namespace) -> SchedulerSettings:
    return SchedulerSettings(
        cluster=args.cluster, allowed_environments=args.allowed_environments,
        flapping_threshold_secs=args.flapping_threshold,
        backoff_initial_secs=args.backoff_initial, backoff_max_secs=args.backoff_max,
        transient_timeout_secs=args.transient_timeout,
        history_max_age_secs=args.history_max_age, history_min_age_secs=args.history_min_age,
        history_max_per_job=args.history_max_per_job,
        prune_interval_secs=args.prune_interval, round_interval_secs=args.round_interval,
        overhead=Overhead(args.executor_cpu, args.executor_ram_mb, args.executor_disk_mb))


def local_backend(args: argparse.Namespace, work_dir: Path) -> LocalBackend:
    capacity = Capacity(
        cpu=args.local_cpu if args.local_cpu is not None else float(os.cpu_count() or 1),
        ram_mb=(args.local_ram_mb if args.local_ram_mb is not None
                else psutil.virtual_memory().total / 2**20),
        disk_mb=(args.local_disk_mb if args.local_disk_mb is not None
                 else shutil.disk_usage(work_dir).free / 2**20),
        port_ranges=tuple(args.local_ports or [(31000, 32000)]))
    return LocalBackend(work_dir=work_dir, hostname=args.local_hostname or socket.gethostname(),
                        capacity=capacity, attributes=dict(args.local_attribute or []),
                        agents=args.local_agents)


class Loop:
    """Runs scheduling rounds in a thread until stopped."""

    def __init__(self, core: Scheduler) -> None:
        self.core = core
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="scheduling-loop", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        interval = self.core.settings.round_interval_secs
        while not self._stop.is_set():
            try:
                self.core.run_round()
            except Exception:  # a bad round must not stop scheduling; the next one retries
                log.exception("scheduling round failed")
            self._stop.wait(interval)


def check_listen(host: str, port: int) -> None:
    """Fail early, in one line, when the address is taken (uvicorn would log and exit 3)."""
    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((host, port))
    except OSError as e:
        raise SchedulerError(f"cannot listen on {host}:{port}: {e.strerror or e}") from e


def run(args: argparse.Namespace) -> None:
    check_listen(*args.listen)
    work_dir = (args.work_dir or aurora_home() / "scheduler").expanduser().resolve()
    work_dir.mkdir(parents=True, exist_ok=True)
    if args.backend != "local":
        raise SchedulerError("the mesos backend is not available yet; use --backend local")
    store = open_store(args.db or f"sqlite:///{work_dir / 'scheduler.db'}")
    auth_file = args.auth_file or embedded_auth_file(
        work_dir, args.token_file or default_token_file(), getpass.getuser())
    auth = Authenticator.from_file(auth_file)
    core = Scheduler(store, local_backend(args, work_dir), settings_from(args))
    operations.install_operations(core, operations.settings_from(args, core))
    core.recover()
    app = create_app(JobService(core), auth, backend_name=args.backend)
    loop = Loop(core)
    loop.start()
    host, port = args.listen
    log.info("aurora-scheduler for cluster %s on http://%s:%d (work dir %s)", args.cluster,
             host, port, work_dir)
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
    finally:
        loop.stop()
        core.backend.stop()


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        run(args)
    except SchedulerError as e:
        print(f"aurora-scheduler: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"aurora-scheduler: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
