"""The store's fence and leadership in one process: a deposed leader's writes are refused,
on SQLite and on PostgreSQL, and a leader whose ZooKeeper session expires (kazoo's way: a
second client on the same session closes it) stops writing at once and steps down."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from kazoo.client import KazooClient

from aurora_provider.api.errors import NotLeader
from aurora_provider.api.serverset import Endpoint
from aurora_provider.framework.core.settings import SchedulerSettings
from aurora_provider.framework.daemon import Daemon, DaemonSettings
from aurora_provider.framework.ha.leadership import Leadership
from aurora_provider.framework.http.auth import embedded_auth_file
from aurora_provider.framework.storage import snapshots
from aurora_provider.framework.storage.leadership import current_epoch, take_epoch
from aurora_provider.framework.storage.store import open_store
from aurora_provider.framework.storage.tables import scheduler_state
from tests.eventually import eventually
from tests.fakes import FakeBackend
from tests.zookeeper import ZooKeeperServer

pytestmark = pytest.mark.integration  # a real ZooKeeper and PostgreSQL


def _note(tx_store: object, name: str) -> None:
    with tx_store.transaction() as tx:  # type: ignore[attr-defined]
        tx.execute(scheduler_state.insert().values(name=name, value="x", updated_at=0.0))


def _names(url: str) -> set[str]:
    store = open_store(url)
    try:
        return {r.name for r in store.db.read(sa.select(scheduler_state.c.name))}
    finally:
        store.close()


def test_a_deposed_leaders_write_fails_and_nothing_of_it_is_written(store_url: str) -> None:
    first, second = open_store(store_url), open_store(store_url)
    told: list[str] = []
    try:
        first.db.fence(take_epoch(first.engine, "replica-a", 1.0), told.append)
        _note(first, "before")
        fence = take_epoch(second.engine, "replica-b", 2.0)
        second.db.fence(fence, lambda _why: None)
        with pytest.raises(NotLeader, match=r"replica-a, epoch \d+\) no longer leads; "
                                            r"replica-b \(epoch \d+\) took the store"):
            _note(first, "late")
        assert len(told) == 1 and "replica-b" in told[0]
        with pytest.raises(NotLeader):  # refused at once from now on, told only once
            _note(first, "later")
        assert len(told) == 1
        _note(second, "new leader")
        assert _names(store_url) == {"before", "new leader"}
        assert current_epoch(second.engine) == (fence.epoch, "replica-b")
    finally:
        first.close()
        second.close()


def test_revoking_refuses_writes_without_asking_the_store(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 's.db'}")
    try:
        store.db.fence(take_epoch(store.engine, "a", 1.0), lambda _why: None)
        store.db.revoke("the session was lost")
        with pytest.raises(NotLeader, match="write refused: the session was lost"):
            _note(store, "late")
    finally:
        store.close()
    assert _names(f"sqlite:///{tmp_path / 's.db'}") == set()


def test_a_restored_backup_keeps_the_live_epoch(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    store = open_store(url)
    try:
        take_epoch(store.engine, "old", 1.0)
        export = snapshots.export_tables(store.db)
        newest = take_epoch(store.engine, "new", 2.0)
        snapshots.replace_tables(store.db, export)
        # A backup's older epoch would let the replica it deposed write again.
        assert current_epoch(store.engine) == (newest.epoch, "new")
    finally:
        store.close()


@pytest.fixture
def two_replicas(tmp_path: Path, zookeeper_server: ZooKeeperServer
                 ) -> Iterator[list[tuple[Daemon, Leadership]]]:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    auth = embedded_auth_file(tmp_path, tmp_path / "token", "tester")
    made = []
    for name in ("a", "b"):
        daemon = Daemon(DaemonSettings(db_url=url, auth_file=auth,
                                       scheduler=SchedulerSettings(round_interval_secs=0.05)),
                        lambda _store: FakeBackend(), holder=f"replica-{name}")
        leadership = Leadership(daemon, zookeeper_server.hosts, f"/fence-{tmp_path.name}",
                                1.0, Endpoint("127.0.0.1", 1))
        daemon.leader, daemon.on_deposed = leadership.leader, leadership.deposed
        leadership.start(connect_timeout=10)
        made.append((daemon, leadership))
    try:
        yield made
    finally:
        for _daemon, leadership in made:
            leadership.stop()


def _expire(leadership: Leadership, hosts: str) -> None:
    """Expire ``leadership``'s session as ZooKeeper does after a long silence."""
    found = leadership.candidacy.session_id()
    assert found is not None
    session_id, password = found
    other = KazooClient(hosts=hosts, client_id=(session_id, password))
    other.start(timeout=10)
    other.stop()
    other.close()


def test_a_leader_whose_session_expires_stops_writing_at_once_and_steps_down(
        two_replicas: list[tuple[Daemon, Leadership]],
        zookeeper_server: ZooKeeperServer) -> None:
    def leading() -> tuple[Daemon, Leadership] | None:
        up = [pair for pair in two_replicas if pair[0].running]
        return up[0] if len(up) == 1 else None

    old, old_leadership = eventually(leading, timeout=30, what="one leader")
    parts = old.parts
    assert parts is not None
    eventually(lambda: old_leadership.leader() is not None, what="the leader advertised")
    _expire(old_leadership, zookeeper_server.hosts)
    # Refused from the moment the session is known lost, before the scheduler stops.
    eventually(lambda: _refused(parts), timeout=30, what="the old leader's writes refused")
    new, _ = eventually(lambda: (p := leading()) is not None and p[0] is not old and p,
                        timeout=30, what="the other replica leading")
    assert not old.running
    new_parts = new.parts
    assert new_parts is not None
    epoch, holder = current_epoch(new_parts.store.engine)
    assert holder == new.holder and epoch >= 2


ATTEMPTS = itertools.count()


def _refused(parts: object) -> bool:
    try:
        _note(parts.store, f"late-{next(ATTEMPTS)}")  # type: ignore[attr-defined]
    except NotLeader:
        return True
    return False


def test_a_replica_that_does_not_lead_answers_as_aurora_s_did(tmp_path: Path) -> None:
    auth = embedded_auth_file(tmp_path, tmp_path / "token", "tester")
    daemon = Daemon(DaemonSettings(db_url=f"sqlite:///{tmp_path / 's.db'}", auth_file=auth),
                    lambda _store: FakeBackend())
    leader: list[Endpoint | None] = [None]
    daemon.leader = lambda: leader[0]

    async def ask() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=daemon.asgi)
        async with httpx.AsyncClient(transport=transport, base_url="http://replica") as c:
            answers = [await c.get("/leaderhealth"), await c.get("/api/v1/jobs"),
                       await c.get("/health")]
            leader[0] = Endpoint("10.0.0.7", 8081)
            answers += [await c.get("/leaderhealth"),
                        await c.post("/api/v1/jobs?dry=1", json={"x": 1})]
        return answers

    none_health, none_call, health, follower_health, redirected = asyncio.run(ask())
    assert (none_health.status_code, none_health.text) == (502, "no leader")
    assert none_call.status_code == 503 and none_call.json()["code"] == "UNAVAILABLE"
    assert "no scheduler leads now" in none_call.json()["message"]
    assert health.status_code == 200
    assert follower_health.status_code == 503
    assert redirected.status_code == 307
    assert redirected.headers["location"] == "http://10.0.0.7:8081/api/v1/jobs?dry=1"
