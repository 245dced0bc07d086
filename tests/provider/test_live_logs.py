"""Live task logs: a job's output read while it runs (the follower against the real daemon),
shown in the Airflow task log by a DAG run deferred and in place, and the follower's bounds
(the cap, a stream that runs ahead) on plain data."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from aurora_provider.api import AsyncSchedulerClient
from aurora_provider.api.models import LogChunk
from aurora_provider.operators.task_logs import end_copy_needed
from aurora_provider.triggers.job import AuroraJobTrigger
from aurora_provider.utils.live_logs import (
    Limits,
    LogFollower,
    StreamKey,
    StreamState,
    latest_refs,
    task_refs,
)
from tests.daemon import Daemon
from tests.provider.conftest import run_dag
from tests.scheduler.conftest import job_wire

DAGS = Path(__file__).with_name("dags")
KEY = StreamKey("t-1", 2, "main", 0, "stdout")
PREFIX = "[instance 2 process main run 0 stdout]"


def chunk(offset: int, text: str, size: int | None = None) -> LogChunk:
    end = offset + len(text.encode())
    return LogChunk(offset=offset, next=end, size=size if size is not None else end, text=text)


@pytest.mark.unit
def test_complete_lines_are_prefixed_and_an_open_line_waits_for_its_end() -> None:
    state = StreamState(KEY)
    assert state.take(chunk(0, "one\ntw"), Limits()) == [f"{PREFIX} one"]
    assert state.take(chunk(6, "o\r\nthree"), Limits()) == [f"{PREFIX} two"]
    assert state.offset == 14
    assert state.flush() == [f"{PREFIX} three"]


@pytest.mark.unit
def test_the_cap_stops_a_stream_with_a_marker() -> None:
    state = StreamState(KEY)
    lines = state.take(chunk(0, "a" * 6 + "\nbbb"), Limits(cap_bytes=10))
    assert lines == [f"{PREFIX} aaaaaa", f"{PREFIX} bbb",
                     f"{PREFIX} ... output beyond 10 bytes is not shown"]
    assert state.capped


@pytest.mark.unit
def test_a_stream_that_ran_ahead_is_skipped_forward_with_a_marker() -> None:
    state = StreamState(KEY)
    limits = Limits(max_lag_bytes=100)
    lines = state.take(chunk(0, "first\nhal", size=1000), limits)
    assert lines == [f"{PREFIX} first", f"{PREFIX} hal",
                     f"{PREFIX} ... 891 bytes skipped: the stream grew faster than it was read"]
    assert state.offset == 900
    # What precedes the next line end after the jump is a fragment of a line: dropped.
    assert state.take(chunk(900, "gment\nwhole\n"), limits) == [f"{PREFIX} whole"]


@pytest.mark.unit
def test_limits_below_one_character_are_refused() -> None:
    with pytest.raises(ValueError, match="cap_bytes must be at least 4"):
        Limits(cap_bytes=0)


@pytest.mark.unit
def test_the_trigger_serializes_the_follow_option_exactly() -> None:
    trigger = AuroraJobTrigger(job_key="c/r/e/n", wait={"states": ["FINISHED"]},
                               follow_logs=True, log_cap_bytes=4096)
    classpath, kwargs = trigger.serialize()
    assert kwargs == {"job_key": "c/r/e/n", "aurora_conn_id": "aurora_default",
                      "poll_interval": 5.0, "wait": {"states": ["FINISHED"]},
                      "follow_logs": True, "log_cap_bytes": 4096}
    assert AuroraJobTrigger(**kwargs).serialize() == (classpath, kwargs)


@pytest.mark.unit
def test_the_end_copy_is_left_out_when_the_output_was_followed() -> None:
    assert end_copy_needed({"status": "failed"})
    assert not end_copy_needed({"status": "failed", "logs_followed": True})
    assert not end_copy_needed({"status": "error"})


@pytest.mark.integration
@pytest.mark.parametrize("scheduler", ["local"], indirect=True)
def test_lines_are_read_while_the_job_still_runs(scheduler: Daemon, tmp_path: Path) -> None:
    cmd = "for i in 1 2 3 4; do echo tick $i; echo warn $i >&2; sleep 1; done"
    key = "devcluster/www/test/ticker"
    with scheduler.client() as c:
        c.create_job(job_wire(tmp_path, "ticker", cmd))
    seen, running_when_first = asyncio.run(follow(scheduler, key))
    assert running_when_first, "the first line was only read after the job ended"
    prefix = "[instance 0 process main run 0"
    assert [line for line in seen if "stdout]" in line] == [
        f"{prefix} stdout] tick {i}" for i in (1, 2, 3, 4)]
    assert [line for line in seen if "stderr]" in line] == [
        f"{prefix} stderr] warn {i}" for i in (1, 2, 3, 4)]


async def follow(daemon: Daemon, key: str) -> tuple[list[str], bool]:
    """Every line the follower shows, and whether the job was still running when the
    first one came."""
    follower, seen, running_when_first = LogFollower(), [], False
    async with AsyncSchedulerClient(daemon.url, token=daemon.token()) as client:
        while True:
            status = (await client.job_task_lists(key)).as_status()
            if not status["active"]:
                return seen + await follower.finish(client, latest_refs(status)), \
                    running_when_first
            lines = await follower.poll(client, task_refs(status))
            if lines and not seen:
                running_when_first = bool(
                    (await client.job_task_lists(key)).as_status()["active"])
            seen += lines
            await asyncio.sleep(0.2)


@pytest.mark.integration
@pytest.mark.parametrize("scheduler", ["local"], indirect=True)
def test_a_dag_shows_the_job_output_once_deferred_and_in_place(
        airflow_env: dict[str, str], scheduler: Daemon) -> None:
    env = {**airflow_env, "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS)}
    outcome = run_dag(env, DAGS / "live_logs.py", "aurora_test_live_logs")
    assert outcome.state == "success", outcome.output[-4000:]
    # Deferred, the trigger logs the lines; in place, the operator does.
    for name, logger in (("live_d", "AuroraJobTrigger"), ("live_p", "AuroraRunJobOperator")):
        for i in (1, 2, 3, 4):
            line = f"[instance 0 process main run 0 stdout] {name} tick {i}"
            assert outcome.output.count(line) == 1, (line, outcome.output[-4000:])
            [logged] = [x for x in outcome.output.splitlines() if line in x]
            assert logger in logged, logged
        assert f"process main, run 0, stdout ----\n{name} tick" not in outcome.output
