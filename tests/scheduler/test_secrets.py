"""Tasks and the scheduler's secrets, on the real daemon with the local backend: the auth
file, the token file and the store are 0600 (tightened, with a log line, when found looser);
a runner does not inherit the scheduler's environment secrets; and the start-up log says
plainly what file modes cannot do when tasks run as the scheduler's own user."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from aurora_provider.framework.backends.local.environment import runner_environment
from tests.daemon import Daemon
from tests.eventually import eventually
from tests.scheduler.conftest import job_wire

pytestmark = pytest.mark.integration

SECRETS = {
    "AURORA_TOKEN": "leak-aurora-token",
    "MY_SERVICE_TOKEN": "leak-service-token",
    "DB_PASSWORD": "leak-db-password",
    "AIRFLOW_CONN_AURORA_DEFAULT": "aurora://:leak-conn@localhost",
    "AWS_SECRET_ACCESS_KEY": "leak-aws",
    "UNLISTED_SETTING": "leak-unlisted",
}
KEPT = {"LANG": "C.UTF-8", "LC_TIME": "C", "TZ": "UTC"}
SAME_USER = "so they can read its auth file, token file and store despite their 0600 modes"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def private_files(daemon: Daemon) -> list[Path]:
    store = daemon.work_dir / "scheduler.db"
    return [daemon.work_dir / "auth.json", daemon.home / "token", store,
            *(p for p in (Path(f"{store}-wal"), Path(f"{store}-shm")) if p.exists())]


def test_auth_token_and_store_files_are_0600_and_tightened_at_start(
        make_daemon: Callable[..., Daemon]) -> None:
    daemon = make_daemon()
    files = private_files(daemon)
    assert {f.name: oct(mode(f)) for f in files} == {f.name: "0o600" for f in files}
    daemon.stop()
    for f in private_files(daemon):
        os.chmod(f, 0o644)
    daemon.start()
    log = daemon.log.read_text()
    for what, path in (("token file", daemon.home / "token"),
                       ("auth file", daemon.work_dir / "auth.json"),
                       ("store file", daemon.work_dir / "scheduler.db")):
        assert f"{what} {path} was readable by others (mode 644): it is now 0600" in log
        assert mode(path) == 0o600
    for f in private_files(daemon):
        assert mode(f) == 0o600, f


def test_a_given_auth_file_is_tightened(make_daemon: Callable[..., Daemon],
                                        tmp_path: Path) -> None:
    auth = tmp_path / "tokens.json"
    auth.write_text(json.dumps({"tokens": {"t0k3n": {"user": "ops", "admin": True}}}))
    os.chmod(auth, 0o644)
    daemon = make_daemon("--auth-file", str(auth))
    assert mode(auth) == 0o600
    assert f"auth file {auth} was readable by others (mode 644)" in daemon.log.read_text()
    with daemon.client("t0k3n") as c:
        assert c.whoami().user == "ops"


def test_a_task_sees_none_of_the_schedulers_secrets(
        make_daemon: Callable[..., Daemon], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {**SECRETS, **KEPT}.items():
        monkeypatch.setenv(name, value)
    daemon = make_daemon()
    auth_file = daemon.work_dir / "auth.json"
    # The process's shell is a child of the run's wrapper, whose parent is the runner.
    cmdline = ("read -r _ _ _ runner _ < /proc/$PPID/stat; cat /proc/$runner/environ > "
               f"runner.env; env > process.env; cat {auth_file} > auth.seen 2>&1; true")
    wire = job_wire(tmp_path, "snoop", cmdline)
    with daemon.client() as c:
        (task_id,) = c.create_job(wire).task_ids
        eventually(lambda: c.task(task_id).status == "FINISHED", what="snoop FINISHED")
    sandbox = daemon.work_dir / "tasks" / task_id / "sandbox"
    runner_env = dict(line.split("=", 1) for line in
                      (sandbox / "runner.env").read_text().split("\0") if "=" in line)
    process_env = (sandbox / "process.env").read_text()
    for name, value in SECRETS.items():
        assert name not in runner_env and value not in process_env, name
    assert "AURORA_HOME" not in runner_env  # where the token file is
    assert {k: runner_env.get(k) for k in KEPT} == KEPT
    assert runner_env["PATH"] == os.environ["PATH"]
    # File modes are the only barrier, and they cannot hold against a task of the same user
    # (or of root): the task reads the auth file, and the start-up log says so plainly.
    assert mode(auth_file) == 0o600
    if (sandbox / "auth.seen").read_text() == auth_file.read_text():
        assert SAME_USER in daemon.log.read_text()


def test_the_runner_environment_is_an_allow_list() -> None:
    environ = {**SECRETS, **KEPT, "PATH": "/usr/bin", "PYTHONPATH": "/src", "HOME": "/root",
               "AURORA_HOME": "/root/.aurora", "LC_SECRET_KEY": "x", "TMPDIR": "/tmp"}
    assert runner_environment(environ) == {**KEPT, "PATH": "/usr/bin", "PYTHONPATH": "/src",
                                           "TMPDIR": "/tmp"}
