"""The log route never follows a link out of the task's sandbox. Real daemon, real runner:
the task itself replaces its logs with symlinks, as a hostile task would."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.daemon import Daemon
from tests.eventually import eventually
from tests.scheduler.conftest import job_wire

pytestmark = pytest.mark.integration


def test_a_log_replaced_by_a_symlink_out_of_the_sandbox_is_not_served(
        daemon: Daemon, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "stdout").write_text("SECRET outside the sandbox\n")
    # The process (cwd: its sandbox) links its stderr to /etc/passwd and its stdout, through
    # a linked run directory, to a file outside; a second process's log stays served.
    cmd = (f"echo visible; echo err >&2; ln -sf /etc/passwd .logs/main/0/stderr; "
           f"mv .logs/main/0/stdout .logs/main/0/stdout.real; "
           f"ln -s {outside}/stdout .logs/main/0/stdout; touch linked; sleep 600")
    key = "devcluster/www/test/linker"
    with daemon.client() as c:
        [task_id] = c.create_job(job_wire(tmp_path, "linker", cmd, service=True)).task_ids
    sandbox = daemon.work_dir / "tasks" / task_id / "sandbox"
    eventually(lambda: (sandbox / "linked").exists(), what="the logs linked out")
    headers = {"Authorization": f"Bearer {daemon.token()}"}
    base = f"{daemon.url}/api/v1/tasks/{task_id}/logs/main/0"
    for stream in ("stderr", "stdout"):
        answer = httpx.get(f"{base}/{stream}", headers=headers, timeout=30)
        assert answer.status_code == 404, (stream, answer.text)
        assert "root:" not in answer.text and "SECRET" not in answer.text
    (sandbox / ".logs" / "main" / "0" / "stdout").unlink()
    (sandbox / ".logs" / "main" / "0" / "stdout.real").rename(
        sandbox / ".logs" / "main" / "0" / "stdout")
    served = httpx.get(f"{base}/stdout", headers=headers, timeout=30)
    assert served.status_code == 200 and "visible" in served.text
    with daemon.client() as c:
        c.killall(key)


def test_a_run_directory_linked_out_of_the_sandbox_is_not_followed(
        daemon: Daemon, tmp_path: Path) -> None:
    outside = tmp_path / "outside-run"
    outside.mkdir()
    (outside / "stderr").write_text("SECRET outside the sandbox\n")
    cmd = (f"mv .logs/main .logs/main.real; ln -s {outside} .logs/main; touch linked; "
           "sleep 600")
    key = "devcluster/www/test/dirlinker"
    with daemon.client() as c:
        [task_id] = c.create_job(job_wire(tmp_path, "dirlinker", cmd, service=True)).task_ids
    sandbox = daemon.work_dir / "tasks" / task_id / "sandbox"
    eventually(lambda: (sandbox / "linked").exists(), what="the run directory linked out")
    (outside / "0").mkdir()
    (outside / "0" / "stderr").write_text("SECRET outside the sandbox\n")
    headers = {"Authorization": f"Bearer {daemon.token()}"}
    answer = httpx.get(f"{daemon.url}/api/v1/tasks/{task_id}/logs/main/0/stderr",
                       headers=headers, timeout=30)
    assert answer.status_code == 404 and "SECRET" not in answer.text
    with daemon.client() as c:
        c.killall(key)
