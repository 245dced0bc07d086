"""The Aurora pages on the Mesos backend: the test Mesos cluster (masters found through
ZooKeeper, agents that start the real ``aurora-executor``), the scheduler daemon on it, one
real ``aurora-observer`` for the agents' host, and an ``airflow api-server`` with the plugin.

The agents all live on this host, so they share the executor's checkpoint root and one
observer reads it, as one observer per agent host would on a real cluster. Each agent reports
one of this host's loopback names (``localhost``, ``127.0.0.1``) as its hostname, as a real
agent bound to 127.0.0.1 does (with or without ``--hostname_lookup``), so the scheduler's
``--observer-url http://{host}:PORT`` names the observer for whichever agent a task runs on.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import TracebackType

import httpx
import psutil

from tests.daemon import Daemon, free_port, mesos_flags
from tests.eventually import eventually
from tests.mesos_cluster.cluster import MesosCluster
from tests.mesos_cluster.executors import in_container
from tests.observer_plugin.servers import ApiServer
from tests.zookeeper import ZooKeeperServer

# Loopback names of this host: each agent its own, every one reaching the observer.
AGENT_HOSTNAMES = ("localhost", "127.0.0.1")


class ObserverServer:
    """``python -m observer_plugin.observer`` on 127.0.0.1, reading ``roots``."""

    def __init__(self, roots: list[Path], log: Path) -> None:
        self.roots = roots
        self.log = log
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        argv = [sys.executable, "-m", "observer_plugin.observer",
                "--listen", f"127.0.0.1:{self.port}", "--sample-interval", "1"]
        for root in self.roots:
            argv += ["--checkpoint-root", str(root)]
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
        eventually(self._ready, timeout=30, interval=0.1, what=f"observer on {self.url}")

    def _ready(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise AssertionError(f"observer exited: {self.log.read_text()[-2000:]}")
        try:
            return httpx.get(f"{self.url}/health", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


class MesosUiWorld:
    """Everything the Mesos UI test needs, started by ``with`` and stopped on leaving it,
    whatever failed: what was started is stopped, newest first.

    :param root: where every part keeps its files.
    :param zookeeper: the session's ZooKeeper, where the masters register.
    :param prepared: called once the scheduler is up (e.g. to create the job), while the
        api-server migrates its database and starts, which takes longest.
    """

    def __init__(self, root: Path, zookeeper: ZooKeeperServer,
                 prepared: Callable[[Daemon], None] = lambda daemon: None) -> None:
        self.root = root
        self.prepared = prepared
        self.cluster = MesosCluster(root / "mesos", agents=len(AGENT_HOSTNAMES),
                                    zk=zookeeper.hosts, zk_path=f"/mesos-{root.name}",
                                    heartbeat_interval=1.0, agent_hostnames=AGENT_HOSTNAMES)
        # Where the agents' executors checkpoint: tests.daemon.executor_command(root).
        self.observer = ObserverServer([root / "checkpoints"], root / "observer.log")
        self.observer_url = f"http://{{host}}:{self.observer.port}"
        # With ZooKeeper, the master's URL (zk://...) is known before the cluster starts.
        self.daemon = Daemon(root / "scheduler", root / "home",
                             [*mesos_flags(self.cluster, root), "--observer-url",
                              self.observer_url])
        self.api: ApiServer | None = None
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> MesosUiWorld:
        try:
            self._start()
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self._stack.close()

    def _start(self) -> None:
        stack = self._stack
        stack.callback(self._check_nothing_left)
        self.cluster.start()
        stack.callback(self.cluster.stop)
        stack.callback(self.observer.stop)
        self.observer.start()
        stack.callback(self.daemon.stop)
        self.daemon.start()
        self.api = ApiServer(self.root / "airflow", "simple", self.daemon.url,
                             self.daemon.token(), self.daemon.home)
        stack.callback(self.api.stop)
        pool = stack.enter_context(ThreadPoolExecutor(1))  # its exit waits for the thread
        starting: Future[None] = pool.submit(self._start_api, self.api)
        self.prepared(self.daemon)
        starting.result()

    @staticmethod
    def _start_api(api: ApiServer) -> None:
        api.prepare()
        api.start()

    def _check_nothing_left(self) -> None:
        left = [p.pid for p in psutil.process_iter() if _in_cluster(p, self.root / "mesos")]
        assert not left, f"processes of the cluster's tasks outlived it: {left}"


def _in_cluster(proc: psutil.Process, root: Path) -> bool:
    try:
        return proc.status() != psutil.STATUS_ZOMBIE and in_container(proc, root)
    except psutil.Error:
        return False
