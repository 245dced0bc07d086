"""Several real ``aurora-scheduler`` replicas electing a leader in a real ZooKeeper.

They share one store (``db_url``), one home (so one admin token) and, on the local backend,
one task root, as an admin would set them up; each has its own work dir and port. Used by
the high-availability tests and ``bench/failover.py``.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx

from aurora_provider.api import RetryPolicy, SchedulerClient
from tests.daemon import Daemon
from tests.eventually import eventually


class Replicas:
    def __init__(self, root: Path, zk_hosts: str, db_url: str, *, count: int = 3,
                 zk_path: str = "/aurora/scheduler", session_timeout: float = 1.0,
                 extra: tuple[str, ...] = ()) -> None:
        self.root = root
        self.zk_hosts, self.zk_path = zk_hosts, zk_path
        self.task_root = root / "tasks"
        flags = ["--zk", zk_hosts, "--zk-path", zk_path,
                 "--zk-session-timeout", str(session_timeout), "--db", db_url, *extra]
        on_mesos = "mesos" in extra
        if not on_mesos:
            flags += ["--local-task-root", str(self.task_root)]
        self.daemons = [Daemon(root / f"replica-{i}", root / "home", flags)
                        for i in range(count)]

    def start(self) -> None:
        # The first alone: it writes the shared home's admin token, which daemons started
        # at the same moment would each write (and then know different ones).
        first, *others = self.daemons
        first.start()
        # The others side by side: each start mostly waits for its daemon's first answer.
        with ThreadPoolExecutor(max(len(others), 1)) as pool:
            for started in [pool.submit(d.start) for d in others]:
                started.result()
        self.wait_leader()

    def stop(self) -> None:
        # Followers first: a leader stopped before them would hand the lead to one of them,
        # which would recover and act on the backend while the group is being torn down.
        leading = [d for d in self.alive if self.leaderhealth(d) == 200]
        for daemon in [d for d in self.daemons if d not in leading] + leading:
            daemon.stop()
        # Runners live in the shared task root, not under any replica's work dir.
        Daemon(self.task_root, self.root / "home", []).kill_runners()

    @property
    def alive(self) -> list[Daemon]:
        return [d for d in self.daemons if d.proc is not None and d.proc.poll() is None]

    def leaderhealth(self, daemon: Daemon) -> int:
        try:
            return httpx.get(f"{daemon.url}/leaderhealth", timeout=2).status_code
        except httpx.HTTPError:
            return 0

    def leader(self) -> Daemon | None:
        leading = [d for d in self.alive if self.leaderhealth(d) == 200]
        assert len(leading) <= 1, f"two leaders: {[d.url for d in leading]}"
        return leading[0] if leading else None

    def wait_leader(self, *, other_than: Daemon | None = None) -> Daemon:
        def found() -> Daemon | None:
            leader = self.leader()
            return leader if leader is not None and leader is not other_than else None
        leader = eventually(found, timeout=60, what="a leading replica")
        assert leader is not None
        return leader

    def kill_leader(self) -> Daemon:
        """kill -9 the leader; the replica that leads next."""
        leader = self.wait_leader()
        leader.stop(signal.SIGKILL)
        return self.wait_leader(other_than=leader)

    def client(self, daemon: Daemon | None = None) -> SchedulerClient:
        """A client of ``daemon`` (default: any replica; followers redirect to the leader)."""
        target = daemon or self.alive[0]
        return SchedulerClient(target.url, token=target.token(),
                               retry=RetryPolicy(attempts=8, initial=0.2))


@contextmanager
def replicas(root: Path, zk_hosts: str, db_url: str, **kwargs: object) -> Iterator[Replicas]:
    group = Replicas(root, zk_hosts, db_url, **kwargs)  # type: ignore[arg-type]
    try:
        group.start()
        yield group
    finally:
        group.stop()
