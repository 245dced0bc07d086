"""Custom executors (Aurora's ``-custom_executor_config``), through the real daemon.

``--custom-executor-config FILE`` is read at start: a bad file stops the start with one
line naming the file and the field; the local backend refuses the flag. On the test Mesos
cluster (instant agents) a job naming a configured executor is launched with exactly that
executor's ExecutorInfo (its command, resources as the overhead, task prefix, volume
mounts) and the user's ``ExecutorConfig.data`` as the task's executor data, and a job
naming an executor nobody configured is refused in one line.
"""

from __future__ import annotations

import base64
import json
import signal
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aurora_provider.api import InvalidRequest
from aurora_provider.config import job_to_wire, load
from aurora_provider.framework.main import main as scheduler_main
from aurora_provider.mesos.task_data import AssignedTask
from tests.daemon import Daemon, daemon_on, free_port, mesos_flags
from tests.eventually import eventually
from tests.mesos_cluster.cluster import MesosCluster
from tests.mesos_cluster.schema import SchemaError, check

pytestmark = pytest.mark.integration

COMMAND = {
    "value": "myExecutor.a",
    "shell": "false",  # as Aurora's own sample writes it
    "arguments": ["localhost:2181", "-verbose"],
    "uris": [{"value": "/dist/myExecutor.a", "executable": True, "extract": False,
              "cache": True},
             {"value": "/dist/conf.tgz", "extract": True, "output_file": "conf.tgz"}],
}
ENTRY = {
    "executor": {
        "name": "myExecutor",
        "command": COMMAND,
        "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.5}},
                      {"name": "mem", "type": "SCALAR", "scalar": {"value": 64}}],
    },
    "volume_mounts": [{"mode": "RO", "container_path": "/etc/my", "host_path": "/etc/host-my"}],
    "task_prefix": "my-executor-",
}


def entry_with(path: str, value: Any) -> list[Any]:
    """ENTRY with the field at dotted ``path`` set to ``value`` (None: removed)."""
    entry = json.loads(json.dumps(ENTRY))
    *parents, last = path.split(".")
    target = entry
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    if value is None:
        del target[last]
    else:
        target[last] = value
    return [entry]


def job(tmp_path: Path, name: str, executor: str, data: str) -> dict[str, Any]:
    text = textwrap.dedent(f"""
        task = Task(processes=[Process(name='main', cmdline='unused')],
                    resources=Resources(cpu=0.01, ram=8*MB, disk=8*MB))
        jobs = [Service(cluster='devcluster', role='www', environment='test', name={name!r},
                        task=task, executor_config=ExecutorConfig(name={executor!r},
                                                                  data={data!r}))]
    """)
    path = tmp_path / f"{name}.aurora"
    path.write_text(text)
    return job_to_wire(load(str(path)).pick(f"devcluster/www/test/{name}"))


def test_a_bad_executor_file_or_the_local_backend_stops_the_start(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "executors.json"
    flag = f"--custom-executor-config {config}"
    mesos = ["--backend", "mesos", "--mesos-master", "127.0.0.1:5050"]
    cases: list[tuple[Any, list[str], str]] = [
        (entry_with("executor.command.value", None), mesos,
         f"{flag}: [0].executor.command.value: missing"),
        ("[{", mesos, f"{flag}:1: not JSON: Expecting property name enclosed in double quotes"),
        ([], mesos, f"{flag}: the file: must be a JSON array of at least one executor entry"),
        (entry_with("executor.name", "AuroraExecutor"), mesos,
         f"{flag}: [0].executor.name: 'AuroraExecutor' is this scheduler's own executor; a "
         "custom executor needs a name of its own"),
        (entry_with("executor.resources.0.name", "disk"), mesos,
         f"{flag}: [0].executor.resources[0].name: \"disk\" is not one of cpus, mem"),
        (entry_with("executor.command.uris.0.extrakt", True), mesos,
         f"{flag}: [0].executor.command.uris[0].extrakt: unknown field (expected one of "
         "value, executable, extract, cache, output_file)"),
        (entry_with("volume_mounts.0.mode", "RX"), mesos,
         f"{flag}: [0].volume_mounts[0].mode: \"RX\" is not one of RO, RW"),
        (entry_with("task_prefix", None), mesos, f"{flag}: [0].task_prefix: missing"),
        ([ENTRY], [], "--custom-executor-config is for the mesos backend (--backend mesos); "
         "the local backend would ignore it"),
    ]
    common = ["--listen", f"127.0.0.1:{free_port()}", "--work-dir", str(tmp_path / "work")]
    for document, flags, expected in cases:
        config.write_text(document if isinstance(document, str) else json.dumps(document))
        assert scheduler_main([*common, *flags, "--custom-executor-config", str(config)]) == 1
        assert capsys.readouterr().err.splitlines() == [f"aurora-scheduler: {expected}"]
    assert not (tmp_path / "work").exists()  # stopped before anything was made


def test_executor_uris_are_checked_and_only_for_mesos(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    common = ["--listen", f"127.0.0.1:{free_port()}", "--work-dir", str(tmp_path / "work")]
    assert scheduler_main([*common, "--executor-uris", "http://x/aurora-executor"]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "aurora-scheduler: --executor-uris is for the mesos backend (--backend mesos); the "
        "local backend would ignore it"]
    with pytest.raises(SystemExit):
        scheduler_main([*common, "--backend", "mesos", "--mesos-master", "127.0.0.1:5050",
                        "--executor-uris", "http://x/dist/"])
    assert "'http://x/dist/': expected a URI of a file" in capsys.readouterr().err
    assert not (tmp_path / "work").exists()


def test_the_test_master_catches_a_misspelt_command_field() -> None:
    executor = {"executor_id": {"value": "e"}, "command": {"value": "x", "uris": [
        {"value": "/a", "extrakt": True}]}}
    with pytest.raises(SchemaError, match=r"command\.uris\[0\]\.extrakt: unknown field"):
        check("ExecutorInfo", executor, "executor")
    with pytest.raises(SchemaError, match=r"command\.shel: unknown field"):
        check("ExecutorInfo", {**executor, "command": {"value": "x", "shel": False}},
              "executor")


@pytest.fixture(scope="module")
def on_mesos(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Daemon, MesosCluster]]:
    root = tmp_path_factory.mktemp("custom-executors")
    config = root / "executors.json"
    config.write_text(json.dumps([ENTRY]))
    with MesosCluster(root / "mesos", agents=1, instant=True,
                      heartbeat_interval=1.0) as cluster, \
            daemon_on(cluster, root, "--custom-executor-config", str(config),
                      "--executor-uris", URIS) as daemon:
        yield daemon, cluster


URIS = "http://dist.example/aurora-executor.pex,http://dist.example/extra.tgz"


def launched(cluster: MesosCluster, task_id: str) -> dict[str, Any]:
    """The TaskInfo of ``task_id`` in the ACCEPT the master took (202)."""
    def found() -> dict[str, Any] | None:
        for call in list(cluster.calls):
            if call.type != "ACCEPT" or call.status != 202:
                continue
            for operation in call.body["accept"]["operations"]:
                for info in (operation.get("launch") or {}).get("task_infos", []):
                    if info["task_id"]["value"] == task_id:
                        return dict(info)
        return None
    return eventually(found, timeout=15, what=f"the launch of {task_id}")


def test_a_job_naming_a_configured_executor_runs_under_it_with_its_own_data(
        on_mesos: tuple[Daemon, MesosCluster], tmp_path: Path) -> None:
    daemon, cluster = on_mesos
    with daemon.client() as c:
        c.create_job(job(tmp_path, "custom", "myExecutor", '{"x": 1}'))

    def running() -> Any:
        with daemon.client() as c:
            tasks = c.job_status("devcluster/www/test/custom").active
        return tasks[0] if tasks and tasks[0].status == "RUNNING" else None
    task = eventually(running, timeout=15, what="the custom executor's task RUNNING")
    info = launched(cluster, task.task_id)
    (framework,) = cluster.frameworks()
    assert info["executor"] == {
        "type": "CUSTOM",
        "executor_id": {"value": f"my-executor-{task.task_id}"},
        "framework_id": {"value": framework["id"]},
        "name": "myExecutor",
        "source": "www.test.custom",
        "command": {**COMMAND, "shell": False},
        "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.5}, "role": "*"},
                      {"name": "mem", "type": "SCALAR", "scalar": {"value": 64}, "role": "*"}],
        "container": {"type": "MESOS", "mesos": {}, "volumes": [
            {"container_path": "/etc/my", "host_path": "/etc/host-my", "mode": "RO"}]},
    }
    data = AssignedTask.from_json(base64.b64decode(info["data"]))
    assert (data.executor_data, data.task_id) == ('{"x": 1}', task.task_id)
    with daemon.client() as c:
        c.killall("devcluster/www/test/custom")


def test_a_job_naming_an_unknown_executor_is_refused_in_one_line(
        on_mesos: tuple[Daemon, MesosCluster], tmp_path: Path) -> None:
    daemon, _cluster = on_mesos
    with daemon.client() as c, pytest.raises(InvalidRequest) as refused:
        c.create_job(job(tmp_path, "unknown", "otherExecutor", "opaque"))
    assert str(refused.value).splitlines() == [
        "job devcluster/www/test/unknown: task.executor_config.name 'otherExecutor' is not "
        "a configured executor; this scheduler runs 'AuroraExecutor', 'myExecutor' "
        "(INVALID_REQUEST, HTTP 400)"]


def test_a_custom_executor_s_data_is_opaque_but_every_other_field_is_checked(
        on_mesos: tuple[Daemon, MesosCluster], tmp_path: Path) -> None:
    daemon, _cluster = on_mesos
    wire = job(tmp_path, "checked", "myExecutor", "not JSON at all")
    bad_update = json.loads(json.dumps(wire))
    bad_update["update_config"]["max_total_failures"] = 5
    bad_dedicated = json.loads(json.dumps(wire))
    bad_dedicated["task"]["constraints"] = [{"name": "dedicated", "values": ["other/g"],
                                         "negated": False}]
    bad_port = json.loads(json.dumps(wire))
    bad_port["task"]["requested_ports"] = ["a]b"]
    with daemon.client() as c:
        for sent, expected in [
            (bad_update, "job: job devcluster/www/test/checked: update_config.max_total_failures:"
                         " 5 must be less than the job's 1 instance(s); use at most 0"),
            (bad_dedicated, "job: job devcluster/www/test/checked: constraints[dedicated]: hosts "
                        "dedicated to 'other' are not for role 'www'"),
            (bad_port, "job: task.requested_ports[0]: 'a]b' is not a port name a task can "
                       "refer to as {{thermos.ports[NAME]}}"),
        ]:
            with pytest.raises(InvalidRequest) as refused:
                c.create_job(sent)
            assert str(refused.value).startswith(expected), str(refused.value)
            assert len(str(refused.value).splitlines()) == 1
        c.create_job(wire)  # the opaque data itself is the executor's business
        c.killall("devcluster/www/test/checked")
        # Any change of the data changes what the instance runs (none of it is our job's
        # instance count), and shows as itself.
        c.create_job(job(tmp_path, "identity", "myExecutor", '{"instances": 1}'))
        diff = c.diff(job(tmp_path, "identity", "myExecutor", '{"instances": 2}'))
        assert (diff.update, diff.changes) == ([0], [
            'task.executor_config.data: "{\\"instances\\": 1}" -> "{\\"instances\\": 2}"'])
        c.killall("devcluster/www/test/identity")


def test_a_task_whose_executor_a_restart_no_longer_configures_fails_saying_so(
        tmp_path: Path) -> None:
    config = tmp_path / "executors.json"
    config.write_text(json.dumps([ENTRY]))
    cluster = MesosCluster(tmp_path / "mesos", agents=1, instant=True, heartbeat_interval=1.0)
    cluster.start()
    flags = [*mesos_flags(cluster, tmp_path), "--custom-executor-config", str(config)]
    first = Daemon(tmp_path / "scheduler", tmp_path / "home", flags)
    renamed = entry_with("executor.name", "otherExecutor")
    again = Daemon(tmp_path / "scheduler", tmp_path / "home", flags)
    key = "devcluster/www/test/orphan"
    try:
        first.start()
        with first.client() as c:
            c.create_job(job(tmp_path, "orphan", "myExecutor", "{}"))
        eventually(lambda: _status(first, key) == ["RUNNING"], timeout=15, what="RUNNING")
        first.stop()
        config.write_text(json.dumps(renamed))
        again.start()
        with again.client() as c:
            c.restart(key)  # its replacement must be launched under an executor now gone

        def failed() -> Any:
            with again.client() as c:
                status = c.job_status(key)
            return next((t for t in status.terminal if t.status == "FAILED"), None)
        task = eventually(failed, timeout=15, what="the replacement FAILED")
        assert any(e.message == "executor 'myExecutor' is not configured on this scheduler "
                   "(--custom-executor-config)" for e in task.events), task.events
    finally:
        first.stop(signal.SIGKILL)
        again.stop(signal.SIGKILL)
        cluster.stop()


def _status(daemon: Daemon, key: str) -> list[str]:
    with daemon.client() as c:
        return [t.status for t in c.job_status(key).active]


def test_our_executor_is_launched_with_the_uris_to_fetch(
        on_mesos: tuple[Daemon, MesosCluster], tmp_path: Path) -> None:
    daemon, cluster = on_mesos
    with daemon.client() as c:
        c.create_job(job(tmp_path, "ours", "AuroraExecutor", ""))
        task_id = eventually(lambda: next(iter(
            t.task_id for t in c.job_status("devcluster/www/test/ours").active), None),
            timeout=15, what="a task of the job")
    command = launched(cluster, task_id)["executor"]["command"]
    assert command["shell"] is True and command["uris"] == [
        {"value": uri, "executable": True} for uri in URIS.split(",")]
    with daemon.client() as c:
        c.killall("devcluster/www/test/ours")
