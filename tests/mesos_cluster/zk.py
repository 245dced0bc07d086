"""Leader election of the test masters, through ZooKeeper as Mesos does it, or in-process.

With ZooKeeper each master joins the group under ``zk_path`` with an ephemeral sequential
``json.info_`` znode holding its MasterInfo JSON, on its own session (so its znode goes
with it); the lowest sequence leads. ``LeaderWatch`` follows the group and reports the
leader's MasterInfo (what a scheduler's ``zk://`` detection reads too). Without ZooKeeper,
``LocalElection`` makes the first master still running the leader.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Protocol

from kazoo.client import KazooClient
from kazoo.exceptions import NoNodeError
from kazoo.recipe.watchers import ChildrenWatch

from tests.mesos_cluster.wire import Json

log = logging.getLogger(__name__)

PREFIX = "json.info_"
OnLeader = Callable[[Json | None], None]


class Contender(Protocol):
    def withdraw(self) -> None:
        """Leave the election (the master stops)."""


def leader_of(children: list[str]) -> str | None:
    """The leading member: the lowest sequence among the ``json.info_`` znodes."""
    members = [c for c in children if c.startswith(PREFIX)]
    return min(members, key=lambda c: int(c[len(PREFIX):])) if members else None


class ZkContender:
    """One master's membership: its own session, its own ephemeral znode."""

    def __init__(self, hosts: str, path: str, info: Json) -> None:
        self.path = path.rstrip("/") or "/"
        self.client = KazooClient(hosts=hosts, timeout=10.0)
        self.client.start(timeout=30)
        self.client.ensure_path(self.path)
        self.znode: str = self.client.create(
            f"{self.path.rstrip('/')}/{PREFIX}", json.dumps(info).encode(), ephemeral=True,
            sequence=True)

    def withdraw(self) -> None:
        # Closing the session deletes the ephemeral znode at once (not after a timeout).
        self.client.stop()
        self.client.close()


class LeaderWatch:
    """Reports every change of leader (its MasterInfo, or None) to ``on_leader``."""

    def __init__(self, hosts: str, path: str, on_leader: OnLeader) -> None:
        self.path = path.rstrip("/") or "/"
        self.on_leader = on_leader
        self.client = KazooClient(hosts=hosts, timeout=10.0)
        self._current: str | None = None
        self._stopped = False

    def start(self) -> None:
        self.client.start(timeout=30)
        self.client.ensure_path(self.path)
        ChildrenWatch(self.client, self.path, self._changed)

    def _changed(self, children: list[str]) -> bool:
        if self._stopped:
            return False
        leader = leader_of(children)
        if leader == self._current:
            return True
        info: Json | None = None
        if leader is not None:
            try:
                data, _ = self.client.get(f"{self.path.rstrip('/')}/{leader}")
                info = json.loads(data)
            except NoNodeError:
                return True  # it went meanwhile; the next change tells who leads
            except ValueError:
                log.error("znode %s/%s does not hold MasterInfo JSON", self.path, leader)
                return True
        self._current = leader
        self.on_leader(info)
        return True

    def stop(self) -> None:
        self._stopped = True
        self.client.stop()
        self.client.close()


class LocalElection:
    """In-process election: the first master that has not withdrawn leads."""

    def __init__(self, on_leader: OnLeader) -> None:
        self.on_leader = on_leader
        self._members: list[tuple[int, Json]] = []
        self._lock = threading.Lock()
        self._next = 0

    def join(self, info: Json) -> LocalContender:
        with self._lock:
            ticket = self._next
            self._next += 1
            self._members.append((ticket, info))
        self._announce()
        return LocalContender(self, ticket)

    def leave(self, ticket: int) -> None:
        with self._lock:
            self._members = [m for m in self._members if m[0] != ticket]
        self._announce()

    def _announce(self) -> None:
        with self._lock:
            leader = self._members[0][1] if self._members else None
        self.on_leader(leader)


class LocalContender:
    def __init__(self, election: LocalElection, ticket: int) -> None:
        self._election = election
        self._ticket = ticket

    def withdraw(self) -> None:
        self._election.leave(self._ticket)
