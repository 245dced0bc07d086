"""A runner killed with SIGKILL and started again on the same task."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from executor.core import killer
from tests.eventually import eventually

from .helpers import pid_alive, proc, start_runner, task, view, wait_running

pytestmark = pytest.mark.process

GATED = "until [ -e {go} ]; do sleep 0.02; done; echo done"


@pytest.fixture
def paths(tmp_path: Path) -> Iterator[tuple[Path, Path, Path]]:
    root, sandbox, go = tmp_path / "ck", tmp_path / "sb", tmp_path / "go"
    yield root, sandbox, go
    go.touch()
    v = view(root) if (root / "t1").exists() else None
    for p in v.processes.values() if v else []:
        for r in p.runs:
            if r.pid:
                killer.kill_trees([(r.pid, None)], grace=0)


def _kill_runner(runner) -> None:  # type: ignore[no-untyped-def]
    runner.send_signal(signal.SIGKILL)
    runner.wait(10)
    runner.stderr.close()


def test_resumed_runner_reattaches_to_a_live_process(paths: tuple[Path, Path, Path]) -> None:
    root, sandbox, go = paths
    first = start_runner(root, sandbox, task(proc("a", GATED.format(go=go))))
    pid = wait_running(root, "a")
    _kill_runner(first)
    assert pid_alive(pid)
    second = start_runner(root, sandbox)
    eventually(lambda: view(root).runner_pid == second.pid, what="second runner attached")
    go.touch()
    assert second.wait(20) == 0, second.stderr.read()
    second.stderr.close()
    v = view(root)
    assert v.state == "SUCCESS"
    runs = v.processes["a"].runs
    assert len(runs) == 1 and runs[0].pid == pid and runs[0].return_code == 0
    assert (sandbox / ".logs/a/0/stdout").read_text() == "done\n"


def test_a_vanished_process_is_lost_and_rerun(paths: tuple[Path, Path, Path]) -> None:
    root, sandbox, go = paths
    first = start_runner(root, sandbox, task(proc("a", GATED.format(go=go), min_duration=60)))
    pid = wait_running(root, "a")
    _kill_runner(first)
    os.killpg(pid, signal.SIGKILL)  # the whole run dies while no runner watches
    eventually(lambda: not pid_alive(pid), what="run gone")
    go.touch()
    second = start_runner(root, sandbox)
    assert second.wait(20) == 0, second.stderr.read()
    second.stderr.close()
    runs = view(root).processes["a"].runs
    assert [r.state for r in runs] == ["LOST", "SUCCESS"]  # rerun at once, no failure counted


def test_a_run_that_ended_meanwhile_is_settled_from_its_exit_file(
    paths: tuple[Path, Path, Path],
) -> None:
    root, sandbox, go = paths
    spec = task(proc("a", GATED.format(go=go) + "; exit 4"), proc("b", "true"), max_failures=2)
    first = start_runner(root, sandbox, spec)
    pid = wait_running(root, "a")
    _kill_runner(first)
    go.touch()
    eventually(lambda: not pid_alive(pid), what="a finished")
    second = start_runner(root, sandbox)
    assert second.wait(20) == 0, second.stderr.read()
    second.stderr.close()
    run = view(root).processes["a"].runs[0]
    assert (run.state, run.return_code, run.reason) == ("FAILED", 4, "exit status 4")


def test_a_second_runner_is_refused_and_a_torn_tail_is_survived(
    paths: tuple[Path, Path, Path],
) -> None:
    root, sandbox, go = paths
    first = start_runner(root, sandbox, task(proc("a", GATED.format(go=go))))
    wait_running(root, "a")
    intruder = start_runner(root, sandbox)
    assert intruder.wait(20) == 3
    assert "another runner holds this task" in intruder.stderr.read()
    intruder.stderr.close()
    _kill_runner(first)
    with open(root / "t1" / "runner.ckpt", "ab") as f:
        f.write(b'0badc0de {"type":"proc')  # as if SIGKILL hit mid-write
    go.touch()
    second = start_runner(root, sandbox)
    assert second.wait(20) == 0, second.stderr.read()
    second.stderr.close()
    assert view(root).state == "SUCCESS" and view(root).checkpoint_error is None
