"""The checkpoint stream: framing, torn tails, corruption, locks, and replay."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from aurora_provider.states.process_run import ProcessState as P
from executor.core import checkpoint
from executor.core.dispatcher import Dispatcher, RecordedTask
from executor.core.records import HeaderRecord, ProcessRecord, Record, RunnerRecord, kind_of
from executor.core.runner import Runner
from executor.errors import CorruptCheckpoint, TaskLocked

from .conftest import Env
from .helpers import proc, task, view


def _write(path: Path, records: Sequence[Record]) -> None:
    w = checkpoint.StreamWriter(path, 0, 0)
    for r in records:
        w.append(r)
    w.close()


HEADER = HeaderRecord(task_id="t1", sandbox="/x", ports={})


@pytest.mark.unit
def test_round_trip_and_replay_with_the_live_dispatcher(tmp_path: Path) -> None:
    path = tmp_path / "runner.ckpt"
    records: list[Record] = [
        HEADER,
        ProcessRecord("a", 0, P.WAITING),
        ProcessRecord("a", 0, P.FORKED, pid=1),
        ProcessRecord("a", 0, P.RUNNING, start_time=1.0),
    ]
    _write(path, records)
    state = RecordedTask()
    Dispatcher(state).replay(checkpoint.scan(path).records)
    run = state.current_run("a")
    assert run is not None and run.state.value == "RUNNING" and run.pid == 1


@pytest.mark.unit
def test_torn_last_record_is_ignored_then_cut_before_appending(tmp_path: Path) -> None:
    path = tmp_path / "runner.ckpt"
    _write(path, [HEADER])
    good = path.stat().st_size
    with open(path, "ab") as f:
        f.write(b'deadbeef {"type": "pro')  # the runner died mid-write
    scan = checkpoint.scan(path)
    assert scan.torn and scan.error is None and len(scan.records) == 1
    w = checkpoint.StreamWriter(path, scan.good_bytes, len(scan.records))
    w.append(RunnerRecord(pid=5))
    w.close()
    assert path.stat().st_size > good
    assert [kind_of(r) for r in checkpoint.read_records(path)] == ["header", "runner"]


@pytest.mark.unit
def test_corrupt_record_is_reported_with_its_place(tmp_path: Path) -> None:
    path = tmp_path / "runner.ckpt"
    _write(path, [HEADER, RunnerRecord(pid=5), RunnerRecord(pid=6)])
    data = path.read_bytes().replace(b'"pid":5', b'"pid":7')
    path.write_bytes(data)
    scan = checkpoint.scan(path)
    assert len(scan.records) == 1
    assert isinstance(scan.error, CorruptCheckpoint)
    assert "record 2" in str(scan.error) and "checksum" in str(scan.error)


@pytest.mark.unit
def test_out_of_order_records_are_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "runner.ckpt"
    path.write_bytes(checkpoint.encode(HEADER, n=1))
    with pytest.raises(CorruptCheckpoint, match="record number 1, expected 0"):
        list(checkpoint.read_records(path))


@pytest.mark.process
def test_a_corrupt_checkpoint_is_refused_by_the_runner_and_shown_by_the_reader(
    env: Env,
) -> None:
    spec = task(proc("a", "true"))
    env.runner(spec).run()
    stream = env.root / "t1" / "runner.ckpt"
    lines = stream.read_bytes().splitlines(keepends=True)
    lines[2] = lines[2].replace(b"WAITING", b"WAITINX")
    stream.write_bytes(b"".join(lines))
    with pytest.raises(CorruptCheckpoint, match="record 3"):
        Runner(spec, env.root, "t1", sandbox=env.sandbox)
    v = view(env.root)
    assert v.checkpoint_error is not None and "record 3" in v.checkpoint_error


@pytest.mark.unit
def test_lock_keeps_a_second_runner_off(tmp_path: Path) -> None:
    first = checkpoint.TaskLock(tmp_path / "lock")
    first.acquire()
    assert checkpoint.is_locked(tmp_path / "lock")
    with pytest.raises(TaskLocked):
        checkpoint.TaskLock(tmp_path / "lock").acquire()
    first.release()
    assert not checkpoint.is_locked(tmp_path / "lock")


@pytest.mark.process
def test_replaying_a_finished_task_rebuilds_its_state_exactly(env: Env) -> None:
    spec = task(proc("a", "exit 1", max_failures=2), proc("b", "true"), order=(("a", "b"),))
    live = env.runner(spec)
    assert live.run().value == "FAILED"
    replayed = Runner(spec, env.root, "t1", sandbox=env.sandbox)
    assert replayed.record == live.record
    assert replayed.regular.failed == live.regular.failed == {"a"}


@pytest.mark.unit
@pytest.mark.parametrize(("checked", "health"), [(True, "starting"), (False, "none")])
def test_health_checked_task_is_starting_from_its_header(checked: bool, health: str) -> None:
    # A reader that looks between the header and the checker's first verdict must not take
    # a health-checked task for one without a check (the scheduler would call it RUNNING).
    state = RecordedTask()
    Dispatcher(state).replay([HEADER._replace(health_checked=checked)])
    assert state.health == health
