"""``aurora task run|ssh|scp`` against the real daemon: on the local backend the commands
really run in the runners' sandboxes; on the test Mesos cluster they go through ``ssh``.

There is no sshd here, so the Mesos test puts an ``ssh`` and an ``scp`` of its own first on
PATH: they record their arguments and run the remote command (or copy) on this machine,
where the test cluster's agents keep their sandboxes. These scripts are the only fakes, and
only for what cannot run here.
"""

from __future__ import annotations

import json
import os
import stat
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from aurora_provider.api import models as m
from aurora_provider.api.errors import NotFound
from aurora_provider.cli.aurora import main
from tests.daemon import Daemon, daemon_on
from tests.eventually import eventually
from tests.mesos_cluster.cluster import MesosCluster
from tests.scheduler.conftest import job_wire

pytestmark = pytest.mark.integration


def run(capfd: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``aurora ARGV``: exit status, stdout, stderr (of this process and its children)."""
    code = main(list(argv))
    out, err = capfd.readouterr()
    return code, out, err


def start_job(daemon: Daemon, tmp_path: Path, name: str,
              instances: int = 2) -> dict[int, m.TaskModel]:
    """A service of ``instances`` sleeping instances with a port ``http``, RUNNING with a
    sandbox the scheduler knows: its active tasks by instance."""
    wire = job_wire(tmp_path, name, "sleep 600", service=True, instances=instances,
                    ports=True)
    with daemon.client() as c:
        c.create_job(wire)

        def ready() -> dict[int, m.TaskModel]:  # empty (falsy) until it is
            active = c.job_status(f"devcluster/www/test/{name}").active
            if len(active) != instances or any(t.status != "RUNNING" for t in active):
                return {}
            if not all(c.task_logs(t.task_id).sandbox for t in active):
                return {}
            return {t.instance: t for t in active}

        # A task's logs listing is not found until its runner wrote its first checkpoint.
        return eventually(ready, timeout=60, what=f"{name} RUNNING with sandboxes",
                          ignore=(NotFound,))


def sandbox_of(daemon: Daemon, task: m.TaskModel) -> str:
    with daemon.client() as c:
        sandbox = c.task_logs(task.task_id).sandbox
    assert sandbox
    return sandbox


def killall(daemon: Daemon, name: str) -> None:
    with daemon.client() as c:
        c.killall(f"devcluster/www/test/{name}")


def no_active_task(daemon: Daemon, key: str) -> None:
    def gone() -> bool:
        with daemon.client() as c:
            return not c.job_status(key).active

    eventually(gone, timeout=60, what=f"{key} killed")


def test_run_prints_every_instance_with_its_templates_bound(
        cli: Daemon, tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    tasks = start_job(cli, tmp_path, "runner")
    key = "devcluster/www/test/runner"
    try:
        code, out, err = run(capfd, "task", "run", "--threads", "2", key,
                             "echo i={{mesos.instance}} port={{thermos.ports[http]}} "
                             "host={{mesos.hostname}} id={{thermos.task_id}}; "
                             "echo pwd=$(pwd) home=$HOME")
        assert code == 0, err
        lines = out.splitlines()
        assert len(lines) == 4
        for instance, task in tasks.items():
            prefix = f"{task.host}/{instance}: "
            sandbox = sandbox_of(cli, task)
            assert (f"{prefix}i={instance} port={task.ports['http']} host={task.host} "
                    f"id={task.task_id}") in lines
            assert f"{prefix}pwd={os.path.realpath(sandbox)} home={sandbox}" in lines

        # Named instances only, and the executor's sandbox with -e.
        code, out, err = run(capfd, "task", "run", "-e", f"{key}/1", "echo {{mesos.instance}}"
                             "; ls")
        assert code == 0, err
        assert out.splitlines()[0] == f"{tasks[1].host}/1: 1"
        assert f"{tasks[1].host}/1: sandbox" in out.splitlines()
    finally:
        killall(cli, "runner")


def test_run_names_the_instances_where_the_command_failed(
        cli: Daemon, tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    tasks = start_job(cli, tmp_path, "failing")
    try:
        code, out, err = run(capfd, "task", "run", "devcluster/www/test/failing",
                             "echo on {{mesos.instance}}; exit {{mesos.instance}}")
        assert code == 1
        assert f"{tasks[0].host}/0: on 0" in out and f"{tasks[1].host}/1: on 1" in out
        assert err.count("\n") == 1
        assert "failed on instance(s) 1 (exit 1) of devcluster/www/test/failing" in err
    finally:
        killall(cli, "failing")


def test_refusals_are_one_line(cli: Daemon, tmp_path: Path,
                               capfd: pytest.CaptureFixture[str]) -> None:
    start_job(cli, tmp_path, "refused")
    key = "devcluster/www/test/refused"
    cases = [
        (("task", "run", "devcluster/www/test/absent", "true"), "not found"),
        (("task", "run", f"{key}/5", "true"), "has no instance 5 (its active instances: 0-1)"),
        (("task", "ssh", f"{key}/7", "--command", "true"), "has no instance 7"),
        (("task", "ssh", f"{key}/0-1", "--command", "true"), "name one instance"),
        (("task", "ssh", key, "--command", "true"), "name one instance"),
        (("task", "run", key, "echo {{thermos.ports[admin]}}"),
         "{{thermos.ports[admin]}}: not known for instance 0"),
        (("task", "run", "--ssh-user", "root", key, "true"), "--ssh-user: this cluster's"),
        (("task", "ssh", "-L", "8000:http", f"{key}/0"), "-L: this cluster's tasks run on"),
        (("task", "run", "--threads", "0", key, "true"), "--threads 0: expected at least 1"),
    ]
    try:
        for argv, says in cases:
            code, _, err = run(capfd, *argv)
            assert code == 1 and err.count("\n") == 1 and says in err, (argv, err)
    finally:
        killall(cli, "refused")
    no_active_task(cli, key)
    code, _, err = run(capfd, "task", "run", key, "true")
    assert code == 1 and f"job {key} has no active instance" in err


def test_an_instance_that_runs_nowhere_yet_is_refused(
        cli: Daemon, tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    wire = job_wire(tmp_path, "nowhere", "sleep 600", service=True,
                    extra=", constraints={'host': 'no-such-host'}")
    with cli.client() as c:
        c.create_job(wire)
    key = "devcluster/www/test/nowhere"
    try:
        code, _, err = run(capfd, "task", "run", key, "true")
        assert code == 1 and err.count("\n") == 1
        assert f"job {key} has no live instance (its tasks are PENDING)" in err
        code, _, err = run(capfd, "task", "ssh", f"{key}/0")
        assert code == 1 and f"instance 0 of job {key} is PENDING" in err
    finally:
        killall(cli, "nowhere")


def test_ssh_runs_a_command_or_a_shell_in_the_sandbox(
        cli: Daemon, tmp_path: Path, capfd: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    tasks = start_job(cli, tmp_path, "shell", instances=1)
    key = "devcluster/www/test/shell/0"
    sandbox = sandbox_of(cli, tasks[0])
    try:
        code, out, err = run(capfd, "task", "ssh", key, "--command",
                             "pwd; echo $HOME {{thermos.ports[http]}}; exit 7")
        assert code == 7, err
        assert out.splitlines() == [os.path.realpath(sandbox),
                                    f"{sandbox} {tasks[0].ports['http']}"]
        # No --command: $SHELL, interactive, in the sandbox (here a script that says where).
        shell = tmp_path / "shell.sh"
        shell.write_text(f"#!/bin/bash\necho \"shell in $(pwd) home $HOME\" > {tmp_path}/said\n")
        shell.chmod(shell.stat().st_mode | stat.S_IXUSR)
        monkeypatch.setenv("SHELL", str(shell))
        code, _, err = run(capfd, "task", "ssh", key)
        assert code == 0, err
        said = (tmp_path / "said").read_text().strip()
        assert said == f"shell in {os.path.realpath(sandbox)} home {sandbox}"
    finally:
        killall(cli, "shell")


def test_scp_copies_both_ways_and_never_out_of_the_sandbox(
        cli: Daemon, tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    tasks = start_job(cli, tmp_path, "copier", instances=1)
    key = "devcluster/www/test/copier/0"
    sandbox = Path(sandbox_of(cli, tasks[0]))
    local = tmp_path / "to-send.txt"
    local.write_text("sent\n")
    try:
        code, _, err = run(capfd, "task", "scp", str(local), f"{key}:received.txt")
        assert code == 0, err
        assert (sandbox / "received.txt").read_text() == "sent\n"
        code, out, _ = run(capfd, "task", "run", key, "cat received.txt")
        assert out.splitlines() == [f"{tasks[0].host}/0: sent"]

        (sandbox / "made").mkdir()
        (sandbox / "made" / "by-task.txt").write_text("from the task\n")
        back = tmp_path / "back"
        back.mkdir()
        code, _, err = run(capfd, "task", "scp", f"{key}:made/by-task.txt", str(back))
        assert code == 0, err
        assert (back / "by-task.txt").read_text() == "from the task\n"
        code, _, err = run(capfd, "task", "scp", f"{key}:made", str(back))
        assert code == 1 and "a directory; copy it with -r" in err
        code, _, err = run(capfd, "task", "scp", "-r", f"{key}:made", str(back))
        assert code == 0, err
        assert (back / "made" / "by-task.txt").exists()

        # A task may plant a link out of its sandbox; the copy does not follow it out.
        (sandbox / "escape").symlink_to(tmp_path)
        for path, says in [(f"{key}:../job.json", "leaves the sandbox"),
                           (f"{key}:/etc/passwd", "relative to the sandbox"),
                           (f"{key}:~/x", "relative to the sandbox"),
                           (f"{key}:escape/to-send.txt", "leads out of the sandbox")]:
            code, _, err = run(capfd, "task", "scp", path, str(back))
            assert code == 1 and err.count("\n") == 1 and says in err, (path, err)
        code, _, err = run(capfd, "task", "scp", str(local), f"{key}:escape/overwritten")
        assert code == 1 and "leads out of the sandbox" in err
        assert not (tmp_path / "overwritten").exists()
        code, _, err = run(capfd, "task", "scp", str(local), str(back))
        assert code == 1 and "name a sandbox" in err
    finally:
        killall(cli, "copier")


# -- Mesos: through ssh ----------------------------------------------------------------------

FAKE_SSH = textwrap.dedent("""\
    #!{python}
    # Stands in for ssh (no sshd here): records its arguments, runs the remote command here.
    import json, os, subprocess, sys
    with open(os.environ["FAKE_SSH_LOG"], "a") as log:
        log.write(json.dumps(sys.argv[1:]) + "\\n")
    sys.exit(subprocess.call(["/bin/bash", "-c", sys.argv[-1]]))
""")

FAKE_SCP = textwrap.dedent("""\
    #!{python}
    # Stands in for scp: records its arguments, copies here what USER@HOST:PATH names.
    import json, os, re, subprocess, sys
    with open(os.environ["FAKE_SCP_LOG"], "a") as log:
        log.write(json.dumps(sys.argv[1:]) + "\\n")
    paths = [re.sub(r"^[^/:@]+@[^/:]+:", "", a) for a in sys.argv[1:]]
    sys.exit(subprocess.call(["cp", *paths]))
""")


@pytest.fixture
def mesos_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Daemon]:
    """A daemon on the test Mesos cluster (one agent) as the CLIs' devcluster, with the
    recording ``ssh`` and ``scp`` first on PATH."""
    with MesosCluster(tmp_path / "mesos", agents=1, heartbeat_interval=1.0) as cluster, \
            daemon_on(cluster, tmp_path) as daemon:
        daemon.as_devcluster(tmp_path, monkeypatch)
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir()
        ssh = bin_dir / "ssh"
        ssh.write_text(FAKE_SSH.format(python=sys.executable))
        ssh.chmod(0o755)
        scp = bin_dir / "scp"
        scp.write_text(FAKE_SCP.format(python=sys.executable))
        scp.chmod(0o755)
        monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
        monkeypatch.setenv("FAKE_SSH_LOG", str(tmp_path / "ssh.log"))
        monkeypatch.setenv("FAKE_SCP_LOG", str(tmp_path / "scp.log"))
        yield daemon


def test_on_mesos_run_ssh_and_scp_go_through_ssh_to_the_agent(
        mesos_cli: Daemon, tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    tasks = start_job(mesos_cli, tmp_path, "remote")
    key = "devcluster/www/test/remote"
    code, out, err = run(capfd, "task", "run", key, "echo {{mesos.instance}} $(pwd)")
    assert code == 0, err
    calls = [json.loads(line) for line in (tmp_path / "ssh.log").read_text().splitlines()]
    assert len(calls) == 2
    for instance, task in tasks.items():
        sandbox = sandbox_of(mesos_cli, task)
        assert f"{task.host}/{instance}: {instance} {os.path.realpath(sandbox)}" in out
        assert ["-n", "-q", "-l", "www", task.host, f"cd {sandbox} && echo {instance} $(pwd)"] \
            in calls
    code, out, err = run(capfd, "task", "ssh", "--ssh-user", "ops", "-L", "9000:http",
                         f"{key}/1", "--command", "pwd")
    assert code == 0, err
    assert out.strip() == os.path.realpath(sandbox_of(mesos_cli, tasks[1]))
    last = json.loads((tmp_path / "ssh.log").read_text().splitlines()[-1])
    host, port = tasks[1].host, tasks[1].ports["http"]
    assert last == ["-t", "-L", f"9000:{host}:{port}", "-l", "ops", host,
                    f"cd {sandbox_of(mesos_cli, tasks[1])} && pwd"]

    # scp: the sandbox paths become USER@HOST:/sandbox/PATH.
    local = tmp_path / "to-send.txt"
    local.write_text("sent\n")
    sandbox = sandbox_of(mesos_cli, tasks[0])
    code, _, err = run(capfd, "task", "scp", str(local), f"{key}/0:received.txt")
    assert code == 0, err
    assert Path(sandbox, "received.txt").read_text() == "sent\n"
    copied = json.loads((tmp_path / "scp.log").read_text().splitlines()[-1])
    assert copied == [str(local), f"www@{tasks[0].host}:{sandbox}/received.txt"]
    code, _, err = run(capfd, "task", "scp", f"{key}/0:../taskinfo.json", str(tmp_path))
    assert code == 1 and "leaves the sandbox" in err
    killall(mesos_cli, "remote")
    no_active_task(mesos_cli, key)
