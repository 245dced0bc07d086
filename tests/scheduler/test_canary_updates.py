"""Updates of some instances only (``aurora update start KEY/0-2 FILE``, a canary), the diff
of those instances, and an update that creates a job that did not exist, through the CLI
and the HTTP API of the real daemon (one per module; each test has its own jobs)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from aurora_provider.api import ApiError, JobNotFound, SchedulerClient
from aurora_provider.cli.aurora import main
from aurora_provider.config import job_to_wire, load
from tests.daemon import Daemon
from tests.eventually import eventually

pytestmark = pytest.mark.integration

CONFIG = textwrap.dedent("""
    proc = Process(name='main', cmdline='{{cmd}}', min_duration=0)
    task = Task(processes=[proc], resources=Resources(cpu=0.01, ram=8*MB, disk=8*MB))
    jobs = [Service(cluster='devcluster', role='www', environment='test', name='{{the_name}}',
                    task=task, instances='{{count}}',
                    update_config=UpdateConfig(batch_size=2, watch_secs='{{watch}}',
                                               max_total_failures=0))]
""")


@pytest.fixture
def config(daemon: Daemon, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    daemon.as_devcluster(tmp_path, monkeypatch)
    path = tmp_path / "canary.aurora"
    path.write_text(CONFIG)
    return path


def aurora(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def binds(name: str, cmd: str, count: int, watch: float = 0) -> list[str]:
    return ["--bind", f"the_name={name}", "--bind", f"cmd={cmd}", "--bind", f"count={count}",
            "--bind", f"watch={watch:g}"]


def tasks(daemon: Daemon, key: str) -> dict[int, str]:
    """instance -> task id of the job's RUNNING tasks."""
    with daemon.client() as c:
        return {t.instance: t.task_id for t in c.job_status(key).active
                if t.status == "RUNNING"}


def settled(daemon: Daemon, key: str, instances: set[int]) -> dict[int, str]:
    """The job's tasks once exactly ``instances`` run (and nothing else is active)."""
    def check() -> dict[int, str] | None:
        with daemon.client() as c:
            active = c.job_status(key).active
        running = {t.instance: t.task_id for t in active if t.status == "RUNNING"}
        return running if set(running) == instances and len(active) == len(instances) \
            else None

    found: dict[int, str] = eventually(check, timeout=60, what=f"{key} on {instances}")
    return found


def test_canary_touches_only_the_named_instances(
        config: Path, daemon: Daemon, capsys: pytest.CaptureFixture[str]) -> None:
    key = "devcluster/www/test/canary"
    code, _, err = aurora(capsys, "job", "create", key, str(config),
                          *binds("canary", "sleep 600", 4), "--wait-until", "RUNNING")
    assert code == 0, err
    before = settled(daemon, key, {0, 1, 2, 3})

    # The diff of the canary's instances is what the scoped update will do.
    code, out, err = aurora(capsys, "job", "diff", f"{key}/0-1", str(config),
                            *binds("canary", "sleep 601", 4))
    assert code == 0, err
    assert "update: instances [0, 1]" in out and "unchanged" not in out
    code, out, err = aurora(capsys, "job", "diff", f"{key}/7", str(config),
                            *binds("canary", "sleep 601", 4))
    assert code == 1 and "[7]" in err and err.count("\n") == 1

    code, out, err = aurora(capsys, "update", "start", f"{key}/0-1", str(config),
                            *binds("canary", "sleep 601", 4), "--wait")
    assert code == 0, err
    assert "instances [0, 1] only" in out and out.strip().endswith("ROLLED_FORWARD")
    after = settled(daemon, key, {0, 1, 2, 3})
    assert after[2] == before[2] and after[3] == before[3]  # never touched
    assert after[0] != before[0] and after[1] != before[1]
    code, out, _ = aurora(capsys, "update", "info", key)
    assert code == 0 and "only instances [0, 1]" in out

    # More instances in the file: only the named ones past the old count are added, and a
    # named running one is replaced; 3 (running) and 5 (new) are out of scope.
    code, out, err = aurora(capsys, "update", "start", f"{key}/2,4", str(config),
                            *binds("canary", "sleep 601", 6), "--wait", "--json")
    assert code == 0, err
    details = json.loads(out[out.index("{"):])
    assert (details["replace"], details["add"], details["remove"]) == ([2], [4], [])
    assert details["only_instances"] == [2, 4] and details["instances"] == 5
    grown = settled(daemon, key, {0, 1, 2, 3, 4})
    assert grown[3] == before[3] and grown[0] == after[0] and grown[2] != after[2]

    # A scoped update that fails rolls back its own instances only: 0 gets a task of its
    # old configuration again, 5 is removed, the others are as they were.
    code, out, err = aurora(capsys, "update", "start", f"{key}/0,5", str(config),
                            *binds("canary", "exit 1", 6, watch=1), "--wait")
    assert code == 1 and "ROLLED_BACK" in err
    assert "replace 1, add 1, remove 0" in out
    rolled = settled(daemon, key, {0, 1, 2, 3, 4})
    assert {i: rolled[i] for i in (1, 2, 3, 4)} == {i: grown[i] for i in (1, 2, 3, 4)}
    code, out, _ = aurora(capsys, "job", "diff", f"{key}/0-4", str(config),
                          *binds("canary", "sleep 601", 5))
    assert code == 0 and "unchanged: instances [0, 1, 2, 4]" in out and "update:" in out
    aurora(capsys, "job", "killall", key)


def test_a_scope_is_checked_before_anything_is_written(
        config: Path, daemon: Daemon, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    key = "devcluster/www/test/scoped-bad"
    code, _, err = aurora(capsys, "job", "create", key, str(config),
                          *binds("scoped-bad", "sleep 600", 2), "--wait-until", "RUNNING")
    assert code == 0, err
    code, _, err = aurora(capsys, "update", "start", f"{key}/1,5-6", str(config),
                            *binds("scoped-bad", "sleep 601", 3))
    assert code == 1 and err.count("\n") == 1
    assert "instances 5-6 are neither running (0-1) nor in the new configuration (0-2)" in err
    code, _, err = aurora(capsys, "update", "start", f"{key}/1", str(config),
                          *binds("scoped-bad", "sleep 600", 2))
    assert code == 1 and "instances 1 of job" in err and "unchanged" in err
    code, _, err = aurora(capsys, "update", "start", f"{key}/2-1", str(config),
                          *binds("scoped-bad", "sleep 601", 2))
    assert code == 1 and "runs backwards" in err
    wire = job_wire(config, "scoped-bad", "sleep 601", 2)
    with daemon.client() as c:
        for bad in ([], [-1]):
            with pytest.raises(ApiError) as refused:
                c.start_update(wire, None, bad)
            assert refused.value.status == 400 and "instances" in refused.value.message
        with pytest.raises(ApiError) as never:
            c.update_details(key)
        assert never.value.status == 404  # nothing half-written
    aurora(capsys, "job", "killall", key)


def job_wire(config: Path, name: str, cmd: str, count: int) -> dict[str, Any]:
    """The job as ``update start`` sends it, through the real loader."""
    loaded = load(str(config), bindings=[b for b in binds(name, cmd, count) if b != "--bind"])
    return dict(job_to_wire(loaded.pick(f"devcluster/www/test/{name}")))


def test_an_update_of_a_missing_job_creates_it(
        config: Path, daemon: Daemon, capsys: pytest.CaptureFixture[str]) -> None:
    key = "devcluster/www/test/born-by-update"
    code, out, err = aurora(capsys, "update", "start", key, str(config),
                            *binds("born-by-update", "sleep 600", 2), "--wait")
    assert code == 0, err
    assert "creates the job" in out and "add 2" in out
    settled(daemon, key, {0, 1})
    code, out, _ = aurora(capsys, "update", "info", key)
    assert code == 0 and "creates the job (it did not exist)" in out
    with daemon.client() as c:
        assert c.update_details(key).creates_job
        assert any(j.key == key for j in c.list_jobs("devcluster/*").jobs)
    aurora(capsys, "job", "killall", key)

    # One that fails and rolls back leaves no job behind.
    gone = "devcluster/www/test/stillborn"
    code, out, err = aurora(capsys, "update", "start", gone, str(config),
                            *binds("stillborn", "exit 1", 1, watch=5), "--wait")
    assert code == 1 and "creates the job" in out and "ROLLED_BACK" in err
    with daemon.client() as c:
        eventually(lambda: not _exists(c, gone), what=f"{gone} gone")
        assert c.update_details(gone).creates_job


def _exists(client: SchedulerClient, key: str) -> bool:
    try:
        return bool(client.job_status(key).active)
    except JobNotFound:
        return False
