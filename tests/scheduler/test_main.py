"""Start-up errors of ``aurora-scheduler`` are one line, never a traceback."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.process


def start(tmp_path: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    observer = [] if "mesos" in flags else ["--observer-listen", "127.0.0.1:0"]
    argv = [sys.executable, "-m", "aurora_provider.framework.main", "--work-dir",
            str(tmp_path / "work"), *observer,
            "--listen", "127.0.0.1:0", *flags]  # never the default ports a demo may hold
    return subprocess.run(argv, capture_output=True, text=True, timeout=60,
                          env={"AURORA_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"})


@pytest.mark.parametrize(("flags", "words"), [
    (["--auth-file", "/nonexistent/auth.json"], "auth file /nonexistent/auth.json"),
    (["--backend", "mesos"], "--backend mesos needs --mesos-master"),
    (["--backend", "mesos", "--mesos-master", "zk://nohost"], "--mesos-master 'zk://nohost'"),
    (["--backend", "mesos", "--mesos-master", "m:5050", "--mesos-secret-file", "/x"],
     "--mesos-secret-file needs --mesos-principal"),
    (["--backend", "mesos", "--mesos-master", "m:5050", "--mesos-principal", "p",
      "--mesos-secret-file", "/nonexistent"], "cannot read --mesos-secret-file /nonexistent"),
    (["--db", "nosuchdb://x"], "cannot open the database 'nosuchdb://x'"),
    (["--mesos-role", "aurora"], "--mesos-role is for the mesos backend (--backend mesos); "
     "the local backend would ignore it"),
    (["--backend", "mesos", "--mesos-master", "m:5050", "--local-agents", "3"],
     "--local-agents is for the local backend (--backend local); the mesos backend would "
     "ignore it"),
    (["--zk-path", "/aurora/scheduler"], "--zk-path needs --zk"),
    (["--zk", "nohost"], "--zk 'nohost': expected HOST:PORT[,HOST:PORT...]"),
    (["--zk", "127.0.0.1:2181"], "--zk: the replicas must share one store; give --db"),
    (["--zk", "127.0.0.1:2181", "--db", "sqlite://", "--zk-path", "aurora"],
     "--zk-path 'aurora': expected an absolute ZooKeeper path"),
])
def test_startup_errors_are_one_line(tmp_path: Path, flags: list[str], words: str) -> None:
    result = start(tmp_path, *flags)
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if "alembic" not in line]
    assert len(lines) == 1 and lines[0].startswith("aurora-scheduler: ") and words in lines[0]


def test_bad_flags_are_usage_errors(tmp_path: Path) -> None:
    result = start(tmp_path, "--listen", "nowhere")
    assert result.returncode == 2 and "--listen 'nowhere': expected HOST:PORT" in result.stderr


def test_a_taken_address_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = start(tmp_path, "--listen", f"127.0.0.1:{port}")
    assert result.returncode == 1
    assert result.stderr.strip() == (f"aurora-scheduler: cannot listen on 127.0.0.1:{port}: "
                                     "Address already in use")


def test_a_root_scheduler_running_tasks_as_their_users_keeps_its_state_where_they_reach(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Root's home is 0700: the default work dir of a root scheduler whose tasks run as their
    role's users is /var/lib/aurora/scheduler; any other scheduler keeps ~/.aurora."""
    from aurora_provider.framework import main

    monkeypatch.delenv("AURORA_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    home = tmp_path / ".aurora" / "scheduler"
    for euid, flags, expected in (
            (0, [], main.ROOT_WORK_DIR),
            (0, ["--nosetuid"], home),
            (0, ["--backend", "mesos", "--mesos-master", "m:5050"], home),
            (1000, [], home)):
        monkeypatch.setattr(main.os, "geteuid", lambda euid=euid: euid)
        assert main.default_work_dir(main.parser().parse_args(flags)) == expected, flags
    monkeypatch.setattr(main.os, "geteuid", lambda: 0)
    monkeypatch.setenv("AURORA_HOME", str(tmp_path / "chosen"))
    assert main.default_work_dir(main.parser().parse_args([])) == tmp_path / "chosen" / \
        "scheduler"


def test_a_zookeeper_that_does_not_answer_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # nothing listens there
    result = start(tmp_path, "--zk", f"127.0.0.1:{port}", "--zk-session-timeout", "1",
                   "--db", f"sqlite:///{tmp_path / 'shared.db'}")
    assert result.returncode == 1
    ours = [line for line in result.stderr.splitlines() if line.startswith("aurora-scheduler:")]
    assert ours == [f"aurora-scheduler: --zk 127.0.0.1:{port}: no ZooKeeper answered within "
                    "3 s"]
