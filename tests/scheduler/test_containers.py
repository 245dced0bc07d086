"""Containers, as Aurora's scheduler sent them and as Thermos ran them in Docker.

On Mesos (the test cluster, through the real daemon) a job's ``Docker`` or ``Mesos(image)``
container reaches the agent as the executor's ``ContainerInfo``, field for field as
Aurora's ``MesosTaskFactory`` built it, and the task data carries the scheduler's
Announcer ensemble. On the local backend a job with an image is refused unless the
scheduler has a ``--container-runtime``; with one (a fake ``podman`` first on PATH, which
records its arguments and runs the command on the host: no engine runs here) each process
runs through ``podman run`` with the sandbox mounted at its own path, its exit status is
the process's, and the task's containers are removed when it ends.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from kazoo.client import KazooClient

from aurora_provider.api import InvalidRequest
from aurora_provider.api import models as m
from aurora_provider.config import job_to_wire, load
from aurora_provider.framework.main import main as scheduler_main
from aurora_provider.mesos.task_data import AssignedTask
from tests.daemon import Daemon, daemon_on, free_port
from tests.eventually import eventually
from tests.mesos_cluster.cluster import MesosCluster
from tests.mesos_cluster.schema import SchemaError, check
from tests.zookeeper import ZooKeeperServer

pytestmark = pytest.mark.integration

PREFIX = "/containers-test"
FAKE_RUNTIME = """#!{python}
import json, os, sys
args = sys.argv[1:]
with open({log!r}, "a") as log:
    log.write(json.dumps(args) + "\\n")
if args[0] == "run":  # options are --NAME=VALUE words, then the image, then the command
    rest = args[1:]
    while rest[0].startswith("-"):
        rest = rest[1:]
    os.execv(rest[1], rest[1:])
if args[0] == "ps":  # ps -aq --filter label=KEY=TASK_ID: one container per task
    print("container-of-" + args[-1].rpartition("=")[2])
"""


def job(tmp_path: Path, name: str, container: str, cmdline: str = "sleep 600", *,
        service: bool = True, extra: str = "") -> dict[str, Any]:
    text = textwrap.dedent(f"""
        proc = Process(name='main', cmdline={cmdline!r}, min_duration=0)
        task = Task(processes=[proc], resources=Resources(cpu=0.01, ram=8*MB, disk=8*MB))
        jobs = [Job(cluster='devcluster', role='www', environment='test', name={name!r},
                    task=task, service={service}, container={container} {extra})]
    """)
    path = tmp_path / f"{name}.aurora"
    path.write_text(text)
    return job_to_wire(load(str(path)).pick(f"devcluster/www/test/{name}"))


def active(daemon: Daemon, name: str, status: str = "RUNNING") -> m.TaskModel:
    def found() -> m.TaskModel | None:
        with daemon.client() as c:
            tasks = c.job_status(f"devcluster/www/test/{name}").active
        return tasks[0] if tasks and tasks[0].status == status else None
    return eventually(found, timeout=20, what=f"{name} {status}")


def any_task(daemon: Daemon, name: str) -> m.TaskModel:
    def found() -> m.TaskModel | None:
        with daemon.client() as c:
            status = c.job_status(f"devcluster/www/test/{name}")
        return next(iter(status.active + status.terminal), None)
    return eventually(found, timeout=20, what=f"a task of {name}")


def ended(daemon: Daemon, name: str) -> m.TaskModel:
    def found() -> m.TaskModel | None:
        with daemon.client() as c:
            tasks = c.job_status(f"devcluster/www/test/{name}").terminal
        return tasks[0] if tasks else None
    return eventually(found, timeout=20, what=f"{name} ended")


DOCKER = "Docker(image='busybox:1', parameters=[Parameter(name='env', value='A=1')])"
MESOS_DOCKER = ("Mesos(image=DockerImage(name='busybox', tag='1'), "
                "volumes=[Volume(container_path='/c', host_path='/h', mode='RO')])")
APPC = "Mesos(image=AppcImage(name='app', image_id='sha512-abc'))"

# -- Mesos ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def on_mesos(tmp_path_factory: pytest.TempPathFactory,
             zookeeper_server: ZooKeeperServer) -> Iterator[tuple[Daemon, MesosCluster]]:
    root = tmp_path_factory.mktemp("containers-mesos")
    try:
        with MesosCluster(root / "mesos", agents=1, heartbeat_interval=1.0) as cluster, \
                daemon_on(cluster, root, "--announcer-ensemble", zookeeper_server.hosts,
                          "--announcer-zk-path-prefix", PREFIX) as daemon:
            yield daemon, cluster
    finally:
        kill_left_under(root)


def kill_left_under(root: Path) -> None:
    """Whatever still works under ``root`` (a runner started while its executor was being
    destroyed escapes the test cluster's kill)."""
    for proc in psutil.process_iter(["pid", "cwd"]):
        cwd = proc.info["cwd"]
        if cwd and Path(cwd).is_relative_to(root) and proc.pid != os.getpid():
            with contextlib.suppress(psutil.Error):
                proc.kill()


def launched_executor(cluster: MesosCluster, task_id: str) -> Any:
    def found() -> Any:
        for agent in cluster.agents:
            for executor in agent.all_executors():
                if executor.id == f"thermos-{task_id}":
                    return executor
        return None
    return eventually(found, timeout=20, what=f"the executor of {task_id}")


def test_on_mesos_the_executor_gets_aurora_s_container_info_and_the_announcer(
        on_mesos: tuple[Daemon, MesosCluster], zookeeper_server: ZooKeeperServer,
        tmp_path: Path) -> None:
    daemon, cluster = on_mesos
    expected = {
        "docker": {"type": "DOCKER", "docker": {
            "image": "busybox:1", "parameters": [{"key": "env", "value": "A=1"}]}},
        "mesosdocker": {"type": "MESOS", "mesos": {}, "volumes": [
            {"container_path": "/c", "host_path": "/h", "mode": "RO"},
            {"image": {"type": "DOCKER", "docker": {"name": "busybox:1"}},
             "container_path": "taskfs", "mode": "RO"}]},
        "appc": {"type": "MESOS", "mesos": {}, "volumes": [
            {"image": {"type": "APPC", "appc": {"name": "app", "id": "sha512-abc"}},
             "container_path": "taskfs", "mode": "RO"}]},
        "plain": None,
    }
    containers = {"docker": DOCKER, "mesosdocker": MESOS_DOCKER, "appc": APPC,
                  "plain": "Mesos()"}
    with daemon.client() as c:
        for name, container in containers.items():
            if name == "docker":  # announced: a port for its Announcer
                c.create_job(job(tmp_path, name, container, "sleep 600 # {{thermos.ports[http]}}",
                                 extra=", announce=Announcer()"))
            else:
                c.create_job(job(tmp_path, name, container))
    for name, container_info in expected.items():
        task = any_task(daemon, name)
        executor = launched_executor(cluster, task.task_id)
        assert executor.info.get("container") == container_info, name
        if name not in ("docker", "plain"):
            continue  # refused by our executor: see below
        active(daemon, name)
        info = json.loads((executor.directory / "taskinfo.json").read_text())
        data = AssignedTask.from_json(base64.b64decode(info["data"]))
        assert (data.announcer_ensemble, data.announcer_zk_path_prefix) == (
            zookeeper_server.hosts, PREFIX)
        assert "container" not in info  # on the executor, never on the task
    # Our executor cannot enter a Mesos image's root filesystem: it refuses, never ignores.
    # The executor announced the task in the scheduler's ZooKeeper, under its prefix.
    zk = KazooClient(hosts=zookeeper_server.hosts)
    zk.start(timeout=10)
    try:
        path = f"{PREFIX}/www/test/docker"
        eventually(lambda: zk.exists(path) and zk.get_children(path), timeout=15,
                   what=f"a member under {path}")
        member = json.loads(zk.get(f"{path}/{zk.get_children(path)[0]}")[0])
        port = active(daemon, "docker").ports["http"]
        assert (member["serviceEndpoint"]["port"], member["shard"]) == (port, 0)
    finally:
        zk.stop()
        zk.close()
    refusal = ("cannot start the task: a Mesos container image (taskfs) cannot be run by "
               "this executor yet; use container=Docker(image=...)")
    for name in ("mesosdocker", "appc"):
        assert ended(daemon, name).status == "FAILED"
        with daemon.client() as c:
            failed = c.job_status(f"devcluster/www/test/{name}").terminal[0]
        assert any(refusal in (e.message or "") for e in failed.events), failed.events
    with daemon.client() as c:
        for name in containers:
            c.killall(f"devcluster/www/test/{name}")


def test_the_test_master_catches_a_misspelt_container_field() -> None:
    executor = {"executor_id": {"value": "e"}, "container": {
        "type": "DOCKER", "docker": {"image": "busybox", "paramters": []}}}
    with pytest.raises(SchemaError, match=r"executor\.container\.docker\.paramters: "
                                          "unknown field"):
        check("ExecutorInfo", executor, "executor")
    executor["container"] = {"type": "MESOS", "volumes": [
        {"image": {"type": "DOCKER", "docker": {"name": "x"}}, "container_path": "taskfs",
         "mode": "READ_ONLY"}]}
    with pytest.raises(SchemaError, match=r"executor\.container\.volumes\[0\]\.mode"):
        check("ExecutorInfo", executor, "executor")


# -- local ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def runtime_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("runtime") / "podman.log"


@pytest.fixture(scope="module")
def with_runtime(tmp_path_factory: pytest.TempPathFactory,
                 runtime_log: Path) -> Iterator[Daemon]:
    root = tmp_path_factory.mktemp("containers-local")
    bin_dir = root / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "podman"
    fake.write_text(FAKE_RUNTIME.format(python=sys.executable, log=str(runtime_log)))
    fake.chmod(0o755)
    daemon = Daemon(root / "work", root / "home", ["--container-runtime", "podman"])
    path = os.environ["PATH"]
    os.environ["PATH"] = f"{bin_dir}{os.pathsep}{path}"
    try:
        daemon.start()
    finally:
        os.environ["PATH"] = path
    yield daemon
    daemon.stop(signal.SIGKILL)
    daemon.kill_runners()


def recorded(log: Path) -> list[list[str]]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines()]


def test_local_processes_run_in_the_image_through_the_runtime(
        with_runtime: Daemon, runtime_log: Path, tmp_path: Path) -> None:
    with with_runtime.client() as c:
        c.create_job(job(tmp_path, "once", DOCKER, "echo inside $PWD; exit 3", service=False))
    task = ended(with_runtime, "once")
    assert task.status == "FAILED"  # the container's exit status is the process's
    sandbox = str(with_runtime.work_dir / "tasks" / task.task_id / "sandbox")
    runs = [args for args in recorded(runtime_log) if args[0] == "run"]
    assert runs == [[
        "run", "--rm", "--init", f"--label=org.apache.aurora.task={task.task_id}",
        "--network=host", f"--volume={sandbox}:{sandbox}", f"--workdir={sandbox}",
        "--env=HOME", "--env=USER", "--env=LOGNAME", "--env=AURORA_XCOM_FILE", "--env=A=1",
        "busybox:1",
        "/bin/bash", "-c", "echo inside $PWD; exit 3"]]
    with with_runtime.client() as c:
        out = c.task_log(task.task_id, "main", 0, "stdout")
    assert out.strip() == f"inside {sandbox}"


def test_a_killed_local_task_has_its_containers_removed(
        with_runtime: Daemon, runtime_log: Path, tmp_path: Path) -> None:
    with with_runtime.client() as c:
        c.create_job(job(tmp_path, "served", MESOS_DOCKER))
    task = active(with_runtime, "served")
    run = eventually(lambda: next((a for a in recorded(runtime_log)
                                   if a[0] == "run" and task.task_id in a[3]), None),
                     timeout=10, what="the process run through the runtime")
    assert run[-5:] == ["--volume=/h:/c:ro", "busybox:1", "/bin/bash", "-c", "sleep 600"]
    with with_runtime.client() as c:
        c.killall("devcluster/www/test/served")
    assert ended(with_runtime, "served").status == "KILLED"
    removal = [["ps", "-aq", "--filter", f"label=org.apache.aurora.task={task.task_id}"],
               ["rm", "-f", f"container-of-{task.task_id}"]]
    eventually(lambda: all(call in recorded(runtime_log) for call in removal), timeout=10,
               what="the task's containers removed")


def test_an_appc_image_is_refused_by_a_local_runtime_at_create_and_update(
        with_runtime: Daemon, tmp_path: Path) -> None:
    appc = "job devcluster/www/test/appc: an appc image needs the Mesos containerizer; a " \
           "Docker-compatible runtime runs Docker images only "
    with with_runtime.client() as c:
        with pytest.raises(InvalidRequest) as refused:
            c.create_job(job(tmp_path, "appc", APPC))
        assert str(refused.value).startswith(appc)
        c.create_job(job(tmp_path, "appc", "Mesos()"))  # no image: runs on the host
        with pytest.raises(InvalidRequest) as refused:
            c.start_update(job(tmp_path, "appc", APPC))
        assert str(refused.value).startswith(appc)
        c.killall("devcluster/www/test/appc")


def test_a_runtime_that_is_not_on_path_stops_the_start(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    common = ["--listen", f"127.0.0.1:{free_port()}", "--work-dir", str(tmp_path / "work")]
    for flags, expected in [
        (["--container-runtime", "podman"],
         "aurora-scheduler: --container-runtime podman: no podman on PATH; install it or "
         "drop the flag"),
        (["--container-runtime", "docker", "--backend", "mesos", "--mesos-master", "m:5050"],
         "aurora-scheduler: --container-runtime is for the local backend (--backend local); "
         "the mesos backend would ignore it"),
    ]:
        assert scheduler_main([*common, *flags]) == 1
        assert capsys.readouterr().err.splitlines() == [expected]
    assert not (tmp_path / "work").exists()
