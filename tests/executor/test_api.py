"""The Python API the scheduler and the observer use."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from aurora_provider.config.schema import Job, Process, Resources, Task
from executor.api import CheckpointReader, collect_garbage, kill_task, runner_argv
from executor.core.paths import disk_usage
from executor.errors import ExecutorError

from .conftest import Env
from .helpers import pid_alive, proc, start_runner, task, view, wait_running

pytestmark = pytest.mark.process


def _job_file(tmp_path: Path, cmdline: str) -> Path:
    job = Job(
        cluster="local",
        role="me",
        environment="devel",
        name="web",
        task=Task(
            processes=[Process(name="main", cmdline=cmdline)],
            resources=Resources(cpu=0.1, ram=1 << 20, disk=1 << 20),
        ),
    )
    path = tmp_path / "job.json"
    path.write_text(job.json_dumps())
    return path


def test_runner_argv_runs_a_job_given_as_executor_data(tmp_path: Path) -> None:
    data = _job_file(
        tmp_path, "echo {{mesos.instance}} {{thermos.ports[http]}} {{thermos.task_id}}"
    )
    root, sandbox = tmp_path / "ck", tmp_path / "sb"
    argv = runner_argv(
        executor_data=str(data),
        task_id="me-devel-web-1-abc",
        instance=1,
        hostname="box",
        ports={"http": 31000},
        sandbox=str(sandbox),
        checkpoint_root=str(root),
    )
    result = subprocess.run(
        argv, capture_output=True, text=True, start_new_session=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    reader = CheckpointReader(root)
    assert reader.task_ids() == ["me-devel-web-1-abc"]
    v = reader.task("me-devel-web-1-abc")
    assert v is not None
    assert (v.state, v.health, v.ports, v.job_key, v.instance, v.hostname) == (
        "SUCCESS",
        "none",
        {"http": 31000},
        "local/me/devel/web",
        1,
        "box",
    )
    assert v.sandbox == str(sandbox) and v.launch_time is not None and not v.runner_alive
    assert (sandbox / ".logs/main/0/stdout").read_text() == "1 31000 me-devel-web-1-abc\n"
    assert reader.task("nope") is None


def test_prebound_runner_argv_hands_the_runner_a_bound_task(tmp_path: Path) -> None:
    data = _job_file(tmp_path, "echo {{mesos.instance}} {{thermos.ports[http]}}")
    root, sandbox = tmp_path / "ck", tmp_path / "sb"
    argv = runner_argv(
        executor_data=str(data), task_id="t", instance=2, hostname="box", ports={"http": 5},
        sandbox=str(sandbox), checkpoint_root=str(root), prebind=True,
    )  # fmt: skip
    assert "--task-spec" in argv and "--executor-data" not in argv
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert (sandbox / ".logs/main/0/stdout").read_text() == "2 5\n"
    with pytest.raises(ExecutorError, match=r"profile\.missing"):
        runner_argv(
            executor_data=str(_job_file(tmp_path, "echo {{profile.missing}}")), task_id="t",
            instance=0, hostname="h", ports={}, sandbox="sb", checkpoint_root="ck", prebind=True,
        )  # fmt: skip


def test_unbound_variables_refuse_the_task_before_any_process_starts(tmp_path: Path) -> None:
    data = _job_file(tmp_path, "echo {{profile.missing}}")
    argv = runner_argv(
        executor_data=str(data),
        task_id="t",
        instance=0,
        hostname="h",
        ports={},
        sandbox=str(tmp_path / "sb"),
        checkpoint_root=str(tmp_path / "ck"),
    )
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 3
    assert result.stderr.count("\n") == 1 and "profile.missing" in result.stderr
    assert not (tmp_path / "sb").exists()


def test_kill_task_signals_a_live_runner(tmp_path: Path) -> None:
    root, sandbox = tmp_path / "ck", tmp_path / "sb"
    runner = start_runner(root, sandbox, task(proc("a", "sleep 300")))
    pid = wait_running(root, "a")
    assert view(root).runner_alive
    assert kill_task(root, "t1", grace=20) == "KILLED"
    assert runner.wait(20) == 2
    runner.stderr.close()
    assert not pid_alive(pid)


def test_kill_task_kills_the_processes_itself_when_the_runner_is_gone(tmp_path: Path) -> None:
    root, sandbox = tmp_path / "ck", tmp_path / "sb"
    spec = task(proc("a", "trap '' TERM; sleep 300 & wait"), proc("b", "sleep 300"))
    runner = start_runner(root, sandbox, spec)
    pid = wait_running(root, "a")
    wait_running(root, "b")
    runner.send_signal(signal.SIGKILL)
    runner.wait(10)
    runner.stderr.close()
    assert not view(root).runner_alive
    assert kill_task(root, "t1", grace=0.3) == "KILLED"
    v = view(root)
    assert v.state == "KILLED"
    assert {p.runs[-1].state for p in v.processes.values()} == {"KILLED"}
    for p in v.processes.values():
        assert p.runs[-1].pid is not None and not pid_alive(p.runs[-1].pid)
    assert pid


def test_collect_garbage_by_age_and_size(env: Env, tmp_path: Path) -> None:
    for i in range(3):
        env.sandbox = tmp_path / f"sb{i}"
        env.runner(task(proc("a", f"head -c {10000 * (i + 1)} /dev/zero")), task_id=f"t{i}").run()
    old = time.time() - 7200
    os.utime(env.root / "t0" / "runner.ckpt", (old, old))
    assert collect_garbage(env.root, max_age_secs=3600, dry_run=True).removed == ["t0"]
    report = collect_garbage(env.root, max_age_secs=3600)
    assert report.removed == ["t0"] and not (tmp_path / "sb0").exists()
    cap = disk_usage(env.root / "t2") + disk_usage(tmp_path / "sb2")  # room for one task
    report = collect_garbage(env.root, max_total_bytes=cap)
    assert report.removed == ["t1"] and report.kept == ["t2"]
    assert CheckpointReader(env.root).task_ids() == ["t2"]
