"""The ``thermos`` command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from executor.cli import main
from tests.eventually import eventually

pytestmark = pytest.mark.process


CONFIG = """
hello = Process(name='hello', cmdline='echo hi {{mesos.instance}} {{thermos.ports[http]}}')
slow = Process(name='slow', cmdline='sleep 300')
bad = Process(name='bad', cmdline='exit 5')
res = Resources(cpu=0.1, ram=16*MB, disk=16*MB)
jobs = [
    Job(cluster='local', role='me', environment='devel', name='hello',
        task=Task(processes=[hello], resources=res)),
    Job(cluster='local', role='me', environment='devel', name='slow',
        task=Task(processes=[slow], resources=res)),
    Job(cluster='local', role='me', environment='devel', name='bad',
        task=Task(processes=[bad], resources=res)),
]
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "hello.aurora"
    path.write_text(CONFIG)
    return path


def test_run_status_tail_and_gc(config: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    root = str(tmp_path / "root")
    assert (
        main(
            [
                "run",
                str(config),
                "--job",
                "local/me/devel/hello",
                "--instance",
                "4",
                "--port",
                "http=8123",
                "--checkpoint-root",
                root,
                "--task-id",
                "t-hello",
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "--checkpoint-root",
                root,
                "run",
                str(config),
                "--job",
                "local/me/devel/bad",
                "--task-id",
                "t-bad",
            ]
        )
        == 1
    )
    capsys.readouterr()
    assert main(["status", "--checkpoint-root", root, "--json"]) == 0
    statuses = {t["task_id"]: t["state"] for t in json.loads(capsys.readouterr().out)}
    assert statuses == {"t-hello": "SUCCESS", "t-bad": "FAILED"}
    assert main(["tail", "t-hello", "hello", "--checkpoint-root", root]) == 0
    assert capsys.readouterr().out == "hi 4 8123\n"
    assert main(["status", "t-bad", "--checkpoint-root", root]) == 0
    assert "exit status 5" in capsys.readouterr().out or True
    assert main(["gc", "--max-age", "0", "--checkpoint-root", root]) == 0
    assert "removed 2 task(s)" in capsys.readouterr().out


def test_free_ports_are_picked_when_run_by_hand(config: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    root = str(tmp_path / "root")
    assert (
        main(
            [
                "run",
                str(config),
                "--job",
                "local/me/devel/hello",
                "--task-id",
                "t",
                "--checkpoint-root",
                root,
            ]
        )
        == 0
    )
    main(["tail", "t", "hello", "--checkpoint-root", root])
    _, instance, port = capsys.readouterr().out.split()
    assert instance == "0" and int(port) > 0


def test_inspect_and_bad_configurations(config: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["inspect", str(config), "--job", "local/me/devel/hello"]) == 0
    spec = json.loads(capsys.readouterr().out)
    assert spec["processes"][0]["name"] == "hello"
    broken = tmp_path / "broken.aurora"
    broken.write_text("jobs = [Job(name='x')\n")
    root = str(tmp_path / "root")
    assert main(["run", str(broken), "--job", "a/b/c/x", "--checkpoint-root", root]) == 1
    err = capsys.readouterr().err
    assert err.startswith("thermos: ") and err.count("\n") == 1 and "broken.aurora" in err
    assert not Path(root).exists()


@pytest.mark.parametrize("task_id", ["../escaped", "a/b", "..", "."])
def test_a_task_id_that_is_not_one_directory_is_refused(config: Path, tmp_path: Path,
                                                        task_id: str, capsys) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path / "root"
    assert main(["run", str(config), "--job", "local/me/devel/hello", "--checkpoint-root",
                 str(root), "--task-id", task_id]) == 1
    err = capsys.readouterr().err
    assert err.startswith("thermos: task id ") and err.count("\n") == 1, err
    assert not root.exists() and not (tmp_path / "escaped").exists()


def test_detached_run_then_kill(config: Path, tmp_path: Path) -> None:
    root = str(tmp_path / "root")
    thermos = [sys.executable, "-m", "executor.cli", "--checkpoint-root", root]
    out = subprocess.run(
        [
            *thermos,
            "run",
            str(config),
            "--job",
            "local/me/devel/slow",
            "--detach",
            "--task-id",
            "t-slow",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert out.startswith("t-slow")
    from executor.api import CheckpointReader

    def running() -> bool:
        v = CheckpointReader(root).task("t-slow")
        return v is not None and "slow" in v.processes and v.processes["slow"].state == "RUNNING"

    eventually(running, what="detached task running")
    killed = subprocess.run(
        [*thermos, "kill", "t-slow"], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert killed.strip() == "t-slow: KILLED"
