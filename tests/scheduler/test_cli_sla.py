"""``aurora sla ...``: the uptime arithmetic on tasks with known events, then the commands
against the real daemon, with the cluster named in a clusters.json."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from aurora_provider.api import models as m
from aurora_provider.cli.aurora import main
from aurora_provider.cli.sla_noun import (
    duration_text,
    instance_uptimes,
    job_uptime,
    parse_durations,
    up_count,
)
from tests.daemon import Daemon
from tests.eventually import eventually
from tests.scheduler.conftest import job_wire

pytestmark = pytest.mark.integration
NOW = 100_000.0


def _task(instance: int, status: str, running_since: float | None) -> m.TaskModel:
    events = [m.TaskEventModel(timestamp=NOW - 5000, status="PENDING")]
    if running_since is not None:
        events.append(m.TaskEventModel(timestamp=running_since, status="RUNNING"))
    return m.TaskModel(task_id=f"t{instance}", job_key="r/e/n", instance=instance,
                       status=status, created_at=NOW - 5000, status_at=NOW - 1,
                       events=events)


def test_uptimes_percentiles_and_up_counts() -> None:
    tasks = [_task(0, "RUNNING", NOW - 900.5), _task(1, "RUNNING", NOW - 60),
             _task(2, "KILLING", NOW - 3600), _task(3, "RUNNING", NOW - 10),
             _task(4, "PENDING", None)]
    uptimes = instance_uptimes(tasks, NOW)
    assert uptimes == {0: 900, 1: 60, 2: 3600, 3: 10}  # PENDING: never up
    assert [job_uptime(uptimes, p) for p in (99, 75, 50, 25, 10)] == [10, 10, 60, 900, 3600]
    assert [up_count(uptimes, s) for s in (10, 60, 600, 3600, 7200)] == [100, 75, 50, 25, 0]
    assert up_count({}, 60) == 0.0 and job_uptime({}, 50) == 0
    assert [duration_text(s) for s in parse_durations("3m,2d6h,3h,90,1d")] == [
        "90 secs", "3 mins", "3 hrs", "1 days", "54 hrs"]


@pytest.fixture
def cli(daemon: Daemon, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Daemon:
    daemon.as_devcluster(tmp_path, monkeypatch)
    return daemon


def test_sla_commands_on_a_running_job(cli: Daemon, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    key = "devcluster/www/test/sla-cli"
    with cli.client() as c:
        c.create_job(job_wire(tmp_path, "sla-cli", "sleep 600", service=True, instances=2))

        def up_for_a_second() -> bool:
            active = c.job_status(key).active
            return len(active) == 2 and all(
                t.status == "RUNNING" and time.time() - t.status_at >= 1.5 for t in active)

        eventually(up_for_a_second, what="both instances RUNNING for a second")
    assert main(["sla", "get-task-up-count", key, "--duration", "1,1h"]) == 0
    out = capsys.readouterr().out
    assert out == "1 secs\t- 100.00 %\n1 hrs\t- 0.00 %\n"
    assert main(["sla", "get-task-up-count", key]) == 0
    out = capsys.readouterr().out
    assert out.splitlines() == ["1 mins\t- 0.00 %", "10 mins\t- 0.00 %", "1 hrs\t- 0.00 %",
                                "12 hrs\t- 0.00 %", "7 days\t- 0.00 %"]
    assert main(["sla", "get-job-uptime", key, "--percentiles", "50,95"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[0] for line in lines] == ["95.0 percentile", "50.0 percentile"]
    seconds = [int(line.split("\t- ")[1].removesuffix(" seconds")) for line in lines]
    assert all(1 <= s < 600 for s in seconds), lines
    assert main(["sla", "get-job-uptime", key, "--percentiles", "50", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["job"] == key and data["instances"] == 2
    assert [u["percentile"] for u in data["uptimes"]] == [50.0]
    with cli.client() as c:
        c.killall(key)


def test_sla_bad_input(cli: Daemon, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sla", "get-job-uptime", "devcluster/www/test/x", "--percentiles", "100"]) == 2
    assert "percentile '100' must be a number above 0 and below 100" in capsys.readouterr().err
    assert main(["sla", "get-task-up-count", "devcluster/www/test/x", "--durations", "1x"]) == 2
    assert "duration '1x': write seconds (90) or XdYhZmWs" in capsys.readouterr().err
    assert main(["sla", "get-job-uptime", "devcluster/www/test/sla-none"]) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "sla-none" in err

