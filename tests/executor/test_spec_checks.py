"""The executor re-checks what it is handed: a hostile job (from the wire, a task spec file, or
the language) is refused with one line before the runner writes anything, and a log path that
a task's process redirected out of the sandbox is never followed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from aurora_provider.config.plan import PROCESS_NAME_RE as LANGUAGE_RULE
from executor.core.launch import launch, process_env
from executor.core.spec import PROCESS_NAME_RE, LoggerSpec, TaskSpec
from executor.core.wire_binding import spec_from_wire
from executor.errors import InvalidTask
from executor.runner_main import EXIT_INVALID
from tests.executor.helpers import proc, task

pytestmark = pytest.mark.unit

HOSTILE = ["../../../x", "a/b", ".", "..", ".hidden", "", "nul\x00byte"]


def job_data(process: str) -> str:
    return json.dumps({
        "cluster": "devcluster", "role": "www", "environment": "test", "name": "evil",
        "task": {"name": "evil", "processes": [{"name": process, "cmdline": "echo pwned"}],
                 "resources": {"cpu": 0.1, "ram": 8 << 20, "disk": 8 << 20}}})


def files_under(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


def test_the_executor_keeps_the_languages_rule() -> None:
    assert PROCESS_NAME_RE.pattern == LANGUAGE_RULE.pattern


@pytest.mark.parametrize("name", HOSTILE)
def test_a_hostile_process_name_is_refused_from_every_source(name: str) -> None:
    with pytest.raises(InvalidTask, match="is not a valid process name"):
        spec_from_wire(job_data(name), task_id="t1", instance=0, ports={}, hostname="h")
    spec = task(proc(name, "echo pwned"))
    with pytest.raises(InvalidTask, match="is not a valid process name"):
        TaskSpec.from_dict(json.loads(spec.to_json()))


def test_two_processes_of_one_name_are_refused() -> None:
    spec = task(proc("main", "true"), proc("main", "false"))
    with pytest.raises(InvalidTask, match="used by two processes"):
        spec.checked()


@pytest.mark.parametrize("source", ["--executor-data", "--task-spec"])
def test_the_runner_refuses_a_hostile_job_before_writing_anything(tmp_path: Path,
                                                                  source: str) -> None:
    given = tmp_path / "given"
    given.mkdir()
    if source == "--executor-data":
        (given / "job").write_text(job_data("../../../x"))
    else:
        (given / "job").write_text(task(proc("../../../x", "echo pwned")).to_json())
    root, sandbox = tmp_path / "root", tmp_path / "deep" / "er" / "sandbox"
    result = subprocess.run(
        [sys.executable, "-m", "executor.runner_main", source, str(given / "job"),
         "--task-id", "t1", "--checkpoint-root", str(root), "--sandbox", str(sandbox),
         "--quiet"], capture_output=True, text=True, timeout=60)
    assert result.returncode == EXIT_INVALID, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "'../../../x' is not a valid process name" in lines[0]
    assert "Traceback" not in result.stderr
    # Nothing written: no checkpoint, no sandbox, nothing beside the sandbox either.
    assert files_under(tmp_path) == ["given", "given/job"]


def test_a_log_directory_redirected_out_of_the_sandbox_is_not_followed(tmp_path: Path) -> None:
    sandbox, outside = tmp_path / "sandbox", tmp_path / "outside"
    (sandbox / ".logs").mkdir(parents=True)
    outside.mkdir()
    # What a task's process may do between two runs of another process.
    os.symlink(outside, sandbox / ".logs" / "main")
    with pytest.raises(OSError, match="outside the sandbox"):
        launch(process="main", run=1, cmdline="echo leaked", sandbox=sandbox,
               log_dir=sandbox / ".logs", logger=LoggerSpec(), exit_file=tmp_path / "exit" / "m",
               env=process_env(sandbox))
    assert files_under(outside) == []


def test_a_log_file_replaced_by_a_symlink_is_not_followed(tmp_path: Path) -> None:
    sandbox, target = tmp_path / "sandbox", tmp_path / "passwd"
    logs = sandbox / ".logs" / "main" / "0"
    logs.mkdir(parents=True)
    target.write_text("root:x:0:0\n")
    os.symlink(target, logs / "stdout")
    with pytest.raises(OSError):
        launch(process="main", run=0, cmdline="echo leaked", sandbox=sandbox,
               log_dir=sandbox / ".logs", logger=LoggerSpec(), exit_file=tmp_path / "exit" / "m",
               env=process_env(sandbox))
    assert target.read_text() == "root:x:0:0\n"


def test_launch_refuses_a_process_name_that_is_a_path(tmp_path: Path) -> None:
    sandbox = tmp_path / "sandbox"
    sandbox.mkdir()
    with pytest.raises(OSError, match="not a file name"):
        launch(process="../x", run=0, cmdline="true", sandbox=sandbox,
               log_dir=sandbox / ".logs", logger=LoggerSpec(), exit_file=tmp_path / "exit" / "m",
               env=process_env(sandbox))
    assert files_under(tmp_path) == ["sandbox"]
