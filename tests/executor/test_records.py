"""Typed checkpoint records: the JSON they become and back, and records that do not apply."""

from __future__ import annotations

import json
import shutil
import zlib
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from aurora_provider.states.executor_task import ExecutorTaskState as T
from aurora_provider.states.health import HealthState as H
from aurora_provider.states.machine import IllegalTransition
from aurora_provider.states.process_run import ProcessState as P
from executor.api import CheckpointReader
from executor.core import checkpoint
from executor.core.dispatcher import Dispatcher, RecordedTask
from executor.core.records import (
    HeaderRecord,
    HealthRecord,
    ProcessRecord,
    Record,
    RunnerRecord,
    TaskStateRecord,
    from_json,
    to_json,
)
from executor.errors import CorruptCheckpoint, InvalidRecord

pytestmark = pytest.mark.unit

DATA = Path(__file__).with_name("data")
HEADER = HeaderRecord(task_id="t1", sandbox="/x")
EVERY_KIND: list[Record] = [
    HeaderRecord(
        task_id="t1", launch_time=1.5, sandbox="/sb", log_dir="/sb/.logs", hostname="h",
        user="u", ports={"http": 80}, job_key="c/r/e/n", instance=2, health_checked=True,
    ),
    RunnerRecord(pid=10, create_time=2.0, time=3.0),
    TaskStateRecord(T.CLEANING, 4.0, "killed"),
    ProcessRecord("a", 0, P.RUNNING, pid=11, start_time=5.0),
    ProcessRecord("a", 1, P.FAILED, stop_time=6.0, return_code=1, reason="exit status 1"),
    HealthRecord(H.HEALTHY, None, 7.0),
]


@pytest.mark.parametrize("record", EVERY_KIND, ids=lambda r: type(r).__name__)
def test_every_kind_survives_json_and_the_stream(record: Record, tmp_path: Path) -> None:
    assert from_json(json.loads(json.dumps(to_json(record)))) == record
    path = tmp_path / "runner.ckpt"
    path.write_bytes(checkpoint.encode(record, n=0))
    assert checkpoint.scan(path).records == [record]


def test_the_stored_form_is_the_one_the_stream_always_had() -> None:
    assert to_json(ProcessRecord("a", 0, P.WAITING)) == {
        "type": "process", "process": "a", "run": 0, "state": "WAITING"}  # fmt: skip
    assert to_json(TaskStateRecord(T.KILLED, 1.0, "runner received SIGTERM")) == {
        "type": "task", "state": "KILLED", "time": 1.0, "reason": "runner received SIGTERM"}
    line = checkpoint.encode(RunnerRecord(pid=5), n=3)
    crc, body = line.rstrip(b"\n").split(b" ", 1)
    assert body == b'{"n":3,"pid":5,"type":"runner"}' and len(crc) == 8


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"type": "nope"}, "unknown record type 'nope'"),
        ({"task_id": "t"}, "unknown record type None"),
        ({"type": "process", "process": "a", "run": 0, "state": "WAITINX"}, "malformed process"),
        ({"type": "task", "state": "CLEANING"}, "malformed task"),  # no time
        ({"type": "health", "status": "so-so"}, "malformed health"),
    ],
)
def test_malformed_records_are_refused(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidRecord, match=message):
        from_json(raw)


def test_a_well_framed_but_malformed_record_is_corruption_with_its_place(tmp_path: Path) -> None:
    path = tmp_path / "runner.ckpt"
    body = json.dumps({"type": "process", "process": "a", "run": 0, "state": "X", "n": 1})
    line = b"%08x %s\n" % (zlib.crc32(body.encode()), body.encode())
    path.write_bytes(checkpoint.encode(HEADER, n=0) + line)
    scan = checkpoint.scan(path)
    assert scan.records == [HEADER]
    assert scan.error is not None
    assert "record 2" in str(scan.error) and "malformed process record" in str(scan.error)


@pytest.mark.parametrize(
    ("records", "message"),
    [
        ([HEADER, ProcessRecord("a", 0, P.WAITING), ProcessRecord("a", 0, P.RUNNING)],
         "process a: illegal transition WAITING -> RUNNING"),
        ([HEADER, TaskStateRecord(T.SUCCESS, 1.0)],
         "executor task t1: illegal transition ACTIVE -> SUCCESS"),
        ([HEADER, RunnerRecord(1), HealthRecord(H.HEALTHY), HealthRecord(H.STARTING)],
         "health of task t1: illegal transition healthy -> starting"),
        ([HEADER, HEADER], "a second header"),
        ([RunnerRecord(1)], "before the header"),
        ([HEADER, ProcessRecord("a", 1, P.WAITING)], "run 1, expected 0"),
        ([HEADER, ProcessRecord("a", 0, P.WAITING), ProcessRecord("a", 1, P.WAITING)],
         "new run while run 0 lives"),
    ],
)  # fmt: skip
def test_a_record_the_state_refuses_makes_the_replay_corrupt(
    records: list[Record], message: str
) -> None:
    with pytest.raises(CorruptCheckpoint, match=f"record {len(records)} cannot be applied"):
        Dispatcher(RecordedTask()).replay(records)
    with pytest.raises((IllegalTransition, InvalidRecord), match=message):
        dispatcher = Dispatcher(RecordedTask())  # live, the same check raises the cause
        for record in records:
            dispatcher.apply(record)


def test_a_refused_record_is_not_written(tmp_path: Path) -> None:
    written: list[Record] = []
    dispatcher = Dispatcher(RecordedTask(), written.append)
    dispatcher.apply(HEADER)
    with pytest.raises(IllegalTransition):
        dispatcher.apply(TaskStateRecord(T.SUCCESS, 1.0))
    assert written == [HEADER]


def test_each_runner_s_health_checker_starts_over() -> None:
    task = RecordedTask()
    Dispatcher(task).replay([
        HEADER._replace(health_checked=True), RunnerRecord(1), HealthRecord(H.HEALTHY),
        RunnerRecord(2), HealthRecord(H.STARTING), HealthRecord(H.UNHEALTHY, "down"),
    ])  # fmt: skip
    assert (task.health, task.health_reason, task.runner_pid) == (H.UNHEALTHY, "down", 2)


@pytest.mark.parametrize("name", ["legacy-success", "legacy-resumed-killed"])
def test_checkpoints_written_by_the_previous_runner_read_the_same(
    name: str, tmp_path: Path
) -> None:
    """Streams written before records were typed (``data/``), and what was read from them."""
    expected = json.loads((DATA / "legacy-views.json").read_text())[name]
    task_id = expected["task_id"]
    (tmp_path / task_id).mkdir()
    shutil.copy(DATA / f"{name}.ckpt", tmp_path / task_id / "runner.ckpt")
    view = CheckpointReader(tmp_path).task(task_id)
    assert view is not None and view.checkpoint_error is None
    got = json.loads(json.dumps(asdict(view)))
    got.pop("resources"), got.pop("runner_alive")
    assert got == expected
