"""High availability on the local backend: three real replicas, a real ZooKeeper, one real
PostgreSQL store, and real runners in a task root the replicas share.

The leader is killed with SIGKILL in the middle of a job create, a rolling update and a
cron run; another replica leads, finishes the work, and no task is lost or run twice. A
leader whose session expires while it is frozen steps down, and what it then tries to write
is refused.
"""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from aurora_provider.api import ApiError, RetryPolicy, SchedulerClient
from aurora_provider.api import models as m
from aurora_provider.cli.aurora import main
from tests.eventually import eventually
from tests.postgres import PostgresServer
from tests.replicas import Replicas
from tests.scheduler.conftest import job_wire
from tests.zookeeper import ZooKeeperServer

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def group(tmp_path_factory: pytest.TempPathFactory, zookeeper_server: ZooKeeperServer,
          postgres_server: PostgresServer) -> Iterator[Replicas]:
    root = tmp_path_factory.mktemp("ha")
    url = postgres_server.new_database()
    replicas = Replicas(root, zookeeper_server.hosts, url, zk_path="/ha-local/scheduler")
    try:
        replicas.start()
        yield replicas
    finally:
        replicas.stop()
        postgres_server.drop_database(url)


@pytest.fixture
def replicas(group: Replicas) -> Replicas:
    """All three replicas up (a test before may have killed one) and one leading."""
    for daemon in group.daemons:
        if daemon not in group.alive:
            daemon.start()
    group.wait_leader()
    return group


def live_runners(task_root: Path) -> dict[str, int]:
    """Task id -> pid of every runner alive in the shared task root."""
    found = {}
    for record in (task_root / "tasks").glob("*/runner.json"):
        pid = int(json.loads(record.read_text())["pid"])
        if psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
            found[record.parent.name] = pid
    return found


def settled(replicas: Replicas, key: str, instances: int) -> list[m.TaskModel]:
    """The job's active tasks once each instance has exactly one RUNNING task and one live
    runner, and no runner of the job runs without an active task."""
    def check() -> list[m.TaskModel] | None:
        with replicas.client(replicas.wait_leader()) as c:
            active = c.job_status(key).active
        running = [t for t in active if t.status == "RUNNING"]
        if sorted(t.instance for t in running) != list(range(instances)):
            return None
        if len(active) != instances:
            return None
        prefix = "-".join(key.split("/")[1:]) + "-"
        runners = {t for t in live_runners(replicas.task_root) if t.startswith(prefix)}
        return running if runners == {t.task_id for t in running} else None
    found: list[m.TaskModel] = eventually(check, timeout=60, what=f"{key} settled")
    return found


def test_one_replica_leads_the_others_redirect_to_it(replicas: Replicas) -> None:
    leader = replicas.wait_leader()
    followers = [d for d in replicas.alive if d is not leader]
    assert [replicas.leaderhealth(d) for d in followers] == [503, 503]
    answer = httpx.get(f"{followers[0].url}/api/v1/jobs?role=www", timeout=5,
                       headers={"Authorization": f"Bearer {leader.token()}"})
    assert answer.status_code == 307
    assert answer.headers["location"] == f"{leader.url}/api/v1/jobs?role=www"
    assert httpx.get(f"{followers[0].url}/health", timeout=5).status_code == 200


def test_leader_killed_during_a_create_loses_nothing_and_runs_nothing_twice(
        replicas: Replicas, tmp_path: Path) -> None:
    wire = job_wire(tmp_path, "ha-create", "sleep 600", service=True, instances=3)
    key = "devcluster/www/test/ha-create"
    leader = replicas.wait_leader()
    answered: list[Any] = []

    def create() -> None:
        try:
            with replicas.client(leader) as c:
                answered.append(c.create_job(wire))
        except ApiError as e:  # killed mid-call: the scheduler went away
            answered.append(e)

    call = threading.Thread(target=create)
    call.start()
    leader.stop(signal.SIGKILL)  # while the create is in flight (or just answered)
    call.join(timeout=30)
    new = replicas.wait_leader(other_than=leader)
    with replicas.client(new) as c:
        if not any(j.key == key for j in c.list_jobs().jobs):
            c.create_job(wire)  # it never committed: the user sends it again
    tasks = settled(replicas, key, 3)
    assert len({t.task_id for t in tasks}) == 3


def test_leader_killed_during_a_rolling_update_the_next_one_finishes_it(
        replicas: Replicas, tmp_path: Path) -> None:
    extra = ", update_config=UpdateConfig(batch_size=1, watch_secs=1)"
    old = job_wire(tmp_path, "ha-update", "sleep 600", service=True, instances=3, extra=extra)
    new = job_wire(tmp_path, "ha-update", "sleep 601", service=True, instances=3, extra=extra)
    key = "devcluster/www/test/ha-update"
    with replicas.client(replicas.wait_leader()) as c:
        c.create_job(old)
    settled(replicas, key, 3)
    with replicas.client(replicas.wait_leader()) as c:
        update = c.start_update(new)

    def one_updated() -> bool:
        with replicas.client(replicas.wait_leader()) as c:
            events = c.update_details(key, update.update_id).instance_events
        return any(e.action == "INSTANCE_UPDATED" for e in events)

    eventually(one_updated, what="a first instance updated")
    replicas.kill_leader()

    def ended() -> m.UpdateDetails | None:
        with replicas.client(replicas.wait_leader()) as c:
            details = c.update_details(key, update.update_id)
        return None if details.active else details

    done: m.UpdateDetails = eventually(ended, timeout=90, what="the update to end")
    assert done.status == "ROLLED_FORWARD"
    updated = sorted(e.instance for e in done.instance_events
                     if e.action == "INSTANCE_UPDATED")
    assert updated == [0, 1, 2]  # each exactly once, across the failover
    settled(replicas, key, 3)
    with replicas.client(replicas.wait_leader()) as c:
        assert c.diff(new).unchanged == [0, 1, 2]


def test_leader_killed_during_a_cron_run_the_run_ends_once(replicas: Replicas,
                                                           tmp_path: Path) -> None:
    extra = ", cron_schedule='0 0 1 1 *'"
    wire = job_wire(tmp_path, "ha-cron", "sleep 2", instances=2, extra=extra)
    key = "devcluster/www/test/ha-cron"
    with replicas.client(replicas.wait_leader()) as c:
        c.schedule_cron(wire)
        run = c.start_cron(key)

    def running() -> bool:
        with replicas.client(replicas.wait_leader()) as c:
            return sum(t.status == "RUNNING" for t in c.job_status(key).active) == 2

    eventually(running, what="the cron run's tasks running")
    replicas.kill_leader()

    def finished() -> m.CronRunModel | None:
        with replicas.client(replicas.wait_leader()) as c:
            runs = c.cron_runs(key).runs
        ours = [r for r in runs if r.run_id == run.run_id]
        return ours[0] if ours and ours[0].outcome is not None else None

    ended: m.CronRunModel = eventually(finished, timeout=60, what="the cron run to end")
    assert ended.outcome == "FINISHED"
    with replicas.client(replicas.wait_leader()) as c:
        assert [r.run_id for r in c.cron_runs(key).runs] == [run.run_id]  # no second run
        terminal = c.job_status(key).terminal
        assert sorted(t.instance for t in terminal if t.status == "FINISHED") == [0, 1]
        assert c.cron_job(key).schedule == "0 0 1 1 *"  # still scheduled


def test_a_frozen_leader_whose_session_expired_steps_down_and_its_writes_are_refused(
        replicas: Replicas, tmp_path: Path) -> None:
    wire = job_wire(tmp_path, "ha-frozen", "sleep 600", service=True, instances=1)
    key = "devcluster/www/test/ha-frozen"
    old = replicas.wait_leader()
    with replicas.client(old) as c:
        c.create_job(wire)
    settled(replicas, key, 1)
    assert old.proc is not None
    process = psutil.Process(old.proc.pid)
    process.suspend()  # longer than the session timeout: ZooKeeper expires its session
    try:
        new = replicas.wait_leader(other_than=old)
        # A kill sent to the frozen leader waits in its socket until it thaws.
        late: list[httpx.Response] = []
        thread = threading.Thread(target=lambda: late.append(httpx.post(
            f"{old.url}/api/v1/jobs/www/test/ha-frozen/kill", json={}, timeout=30,
            headers={"Authorization": f"Bearer {old.token()}"})))
        thread.start()
    finally:
        process.resume()
    thread.join(timeout=40)
    # Thawed, it either still thinks it leads and the store's fence refuses the kill
    # (503 NOT_LEADER), or it knows it lost and sends the caller to the new leader (307).
    assert late and late[0].status_code in (307, 503), late[0].text
    if late[0].status_code == 503:
        assert late[0].json()["code"] in ("NOT_LEADER", "UNAVAILABLE"), late[0].text
    eventually(lambda: replicas.leaderhealth(old) == 503, what="the old leader following")
    assert replicas.leader() is new
    settled(replicas, key, 1)  # the kill never happened
    assert "no longer leads" in old.log.read_text() or "session" in old.log.read_text()


def test_clients_follow_the_leader_across_a_failover(
        replicas: Replicas, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    wire = job_wire(tmp_path, "ha-follow", "sleep 600", service=True, instances=2)
    key = "devcluster/www/test/ha-follow"
    leader = replicas.wait_leader()
    follower = next(d for d in replicas.alive if d is not leader)
    host, port = replicas.zk_hosts.split(":")
    clusters = tmp_path / "clusters.json"
    clusters.write_text(json.dumps([{
        "name": "devcluster", "zk": host, "zk_port": int(port),
        "scheduler_zk_path": replicas.zk_path,
        "auth_token_file": str(replicas.root / "home" / "token")}]))
    monkeypatch.setenv("AURORA_CLUSTERS", str(clusters))
    with SchedulerClient(follower.url, token=follower.token(),
                         retry=RetryPolicy(attempts=10, initial=0.2)) as client:
        client.create_job(wire)  # sent to the follower, done by the leader
        assert client.base_url == leader.url
        settled(replicas, key, 2)
        new = replicas.kill_leader()
        # The same client: its leader is gone, the replica it was made with names the new one.
        assert len(client.job_status(key).active) == 2
        assert client.base_url == new.url
    assert main(["job", "status", key, "--json"]) == 0  # the CLI asks ZooKeeper
    assert len(json.loads(capsys.readouterr().out)["active"]) == 2
