"""Service discovery from the scheduler: ``aurora-scheduler --announcer-ensemble`` hands the
ZooKeeper ensemble (and ``--announcer-zk-path-prefix``, the serversets' root) to every
runner it starts, so a job with an Announcer joins its serverset as ``thermos run
--announcer-ensemble`` makes it: checked in a real ZooKeeper through the real daemon (local
backend). The Mesos backend's half, the task data, is checked in ``test_containers``.

The daemon here has no ``--container-runtime``: it also shows that such a scheduler refuses
a job with a container image (``test_containers`` has the one with a runtime)."""

from __future__ import annotations

import json
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kazoo.client import KazooClient
from kazoo.exceptions import NoNodeError

from aurora_provider.api import InvalidRequest
from aurora_provider.api import models as m
from aurora_provider.framework.main import main as scheduler_main
from executor.cli import main as thermos_main
from tests.daemon import Daemon, free_port
from tests.eventually import eventually
from tests.scheduler.conftest import job_wire
from tests.zookeeper import ZooKeeperServer

pytestmark = pytest.mark.integration

PREFIX = f"/test-{uuid.uuid4().hex[:8]}/services"


@pytest.fixture(scope="module")
def zk(zookeeper_server: ZooKeeperServer) -> Iterator[KazooClient]:
    client = KazooClient(hosts=zookeeper_server.hosts)
    client.start(timeout=10)
    yield client
    client.stop()
    client.close()


@pytest.fixture(scope="module")
def announcing(tmp_path_factory: pytest.TempPathFactory,
               zookeeper_server: ZooKeeperServer) -> Iterator[Daemon]:
    root = tmp_path_factory.mktemp("announcing")
    daemon = Daemon(root / "work", root / "home", [
        "--announcer-ensemble", zookeeper_server.hosts, "--announcer-zk-path-prefix", PREFIX])
    daemon.start()
    yield daemon
    daemon.stop(signal.SIGKILL)
    daemon.kill_runners()


def members(zk: KazooClient, path: str) -> dict[int, dict[str, Any]]:
    """The serverset's members by shard."""
    if not zk.exists(path):
        return {}
    found = {}
    for child in zk.get_children(path):
        try:
            data = json.loads(zk.get(f"{path}/{child}")[0])
        except NoNodeError:  # left between the listing and the read
            continue
        assert child.startswith("member_")
        found[data["shard"]] = data
    return found


def running(daemon: Daemon, key: str, instances: int) -> dict[int, m.TaskModel]:
    def ready() -> dict[int, m.TaskModel]:
        with daemon.client() as c:
            active = c.job_status(key).active
        if len(active) != instances or any(t.status != "RUNNING" for t in active):
            return {}
        return {t.instance: t for t in active}
    return eventually(ready, timeout=20, what=f"{key} running")


def test_local_tasks_join_the_schedulers_serverset_and_leave_it_when_killed(
        announcing: Daemon, zk: KazooClient, tmp_path: Path) -> None:
    wire = job_wire(tmp_path, "web", "sleep 600", service=True, instances=2, ports=True,
                    extra=", announce=Announcer()")
    own = job_wire(tmp_path, "own", "sleep 600", service=True, ports=True,
                   extra=f", announce=Announcer(zk_path='{PREFIX}-own/web')")
    with announcing.client() as c:
        c.create_job(wire)
        c.create_job(own)
    tasks = running(announcing, "devcluster/www/test/web", 2)
    path = f"{PREFIX}/www/test/web"  # <prefix>/<role>/<env>/<name>
    joined = eventually(lambda: (lambda ms: ms if len(ms) == 2 else None)(members(zk, path)),
                        timeout=15, what=f"two members under {path}")
    for instance, task in tasks.items():
        port = task.ports["http"]
        assert joined[instance]["serviceEndpoint"] == {"host": "localhost", "port": port}
        assert joined[instance]["additionalEndpoints"]["aurora"] == {"host": "localhost",
                                                                     "port": port}
        assert joined[instance]["status"] == "ALIVE"
    # A job naming its own zk_path keeps it: the prefix is only the default's root.
    eventually(lambda: len(members(zk, f"{PREFIX}-own/web")) == 1, timeout=15,
               what="the member under the job's own zk_path")
    assert not zk.exists(f"{PREFIX}/www/test/own")

    with announcing.client() as c:
        c.kill("devcluster/www/test/web", [0])
    eventually(lambda: set(members(zk, path)) == {1}, timeout=15,
               what="instance 0's member gone, instance 1's kept")


def test_without_a_container_runtime_an_image_is_refused_at_create_and_update(
        announcing: Daemon, tmp_path: Path) -> None:
    docker = "Docker(image='busybox:1')"
    refusal = ("job devcluster/www/test/boxed: its container needs a container runtime: "
               "start the scheduler with --container-runtime podman|docker, or drop the "
               "container ")
    with announcing.client() as c:
        with pytest.raises(InvalidRequest) as refused:
            c.create_job(job_wire(tmp_path, "boxed", "true", extra=f", container={docker}"))
        assert str(refused.value).startswith(refusal)
        c.create_job(job_wire(tmp_path, "boxed", "sleep 600", service=True))
        with pytest.raises(InvalidRequest) as refused:
            c.start_update(job_wire(tmp_path, "boxed", "sleep 600", service=True,
                                    extra=f", container={docker}"))
        assert str(refused.value).startswith(refusal)
        c.killall("devcluster/www/test/boxed")


def test_a_bad_ensemble_or_root_stops_the_start_in_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for flags, expected in [
        (["--announcer-ensemble", "zk1,zk2:2181"],
         "aurora-scheduler: --announcer-ensemble 'zk1,zk2:2181': expected "
         "HOST:PORT[,HOST:PORT...]"),
        (["--announcer-ensemble", "127.0.0.1:2181", "--announcer-zk-path-prefix", "aurora"],
         "aurora-scheduler: --announcer-zk-path-prefix 'aurora': expected an absolute "
         "ZooKeeper path such as /aurora"),
        (["--announcer-zk-path-prefix", "/aurora"],
         "aurora-scheduler: --announcer-zk-path-prefix needs --announcer-ensemble"),
    ]:
        code = scheduler_main(["--listen", f"127.0.0.1:{free_port()}", "--work-dir",
                               str(tmp_path / "work"), *flags])
        assert (code, capsys.readouterr().err.splitlines()) == (1, [expected])
        assert not (tmp_path / "work").exists()  # refused before anything was made


def test_thermos_run_announces_under_the_same_root(
        zk: KazooClient, zookeeper_server: ZooKeeperServer, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "cli.aurora"
    config.write_text(
        "proc = Process(name='main', cmdline='sleep 600 # {{thermos.ports[http]}}')\n"
        "task = Task(processes=[proc], resources=Resources(cpu=0.01, ram=8*MB, disk=8*MB))\n"
        "jobs = [Job(cluster='devcluster', role='www', environment='test', name='cli', "
        "task=task, service=True, announce=Announcer())]\n")
    root = tmp_path / "thermos"
    assert thermos_main(["run", str(config), "--job", "devcluster/www/test/cli",
                         "--announcer-ensemble", zookeeper_server.hosts,
                         "--announcer-zk-path-prefix", PREFIX, "--detach",
                         "--checkpoint-root", str(root)]) == 0
    task_id = capsys.readouterr().out.split()[0]
    try:
        path = f"{PREFIX}/www/test/cli"
        member = eventually(lambda: members(zk, path).get(0), timeout=15,
                            what=f"thermos run's member under {path}")
        assert set(member) == {"serviceEndpoint", "additionalEndpoints", "status", "shard"}
    finally:
        thermos_main(["kill", task_id, "--checkpoint-root", str(root), "--grace", "1"])
    eventually(lambda: not members(zk, path), timeout=15, what="the member gone")
