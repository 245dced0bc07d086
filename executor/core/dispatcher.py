"""The task's recorded state and the one dispatcher that applies records to it.

The runner never changes state directly: it builds a typed record and hands it to
``Dispatcher.apply``, which checks it against the state machines of
``aurora_provider.states``, writes it (when live), updates ``RecordedTask`` and tells the
listeners (the planner bookkeeping). Replaying a checkpoint calls the very same ``apply``
without writing, so a replay rebuilds exactly the state the live runner had; a record the
machines refuse makes the checkpoint corrupt.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from aurora_provider.states import executor_task, health, process_run
from aurora_provider.states.executor_task import ExecutorTaskState
from aurora_provider.states.health import HealthState
from aurora_provider.states.machine import IllegalTransition
from aurora_provider.states.process_run import ProcessState

from ..errors import CorruptCheckpoint, InvalidRecord
from .records import (
    HeaderRecord,
    HealthRecord,
    ProcessRecord,
    Record,
    RunnerRecord,
    TaskStateRecord,
)

_RUN_FIELDS = ("pid", "create_time", "fork_time", "start_time", "stop_time", "return_code",
               "reason")  # fmt: skip


class ProcessRun:
    """One run of a process, as recorded (mutable: each record updates it)."""

    __slots__ = ("process", "run", "state", *_RUN_FIELDS)

    def __init__(self, process: str, run: int, state: ProcessState) -> None:
        self.process = process
        self.run = run
        self.state = state
        self.pid: int | None = None
        self.create_time: float | None = None  # the pid's start time: its identity with the pid
        self.fork_time: float | None = None
        self.start_time: float | None = None
        self.stop_time: float | None = None
        self.return_code: int | None = None
        self.reason: str | None = None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ProcessRun):
            return NotImplemented
        return all(getattr(self, k) == getattr(other, k) for k in self.__slots__)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"ProcessRun({self.process}#{self.run} {self.state.value} pid={self.pid})"


class RecordedTask:
    """Everything the checkpoint says about a task."""

    def __init__(self) -> None:
        self.header: HeaderRecord | None = None
        self.state = ExecutorTaskState.ACTIVE
        self.statuses: list[tuple[ExecutorTaskState, float]] = []
        self.runner_pid: int | None = None
        self.runner_create_time: float | None = None
        self.processes: dict[str, list[ProcessRun]] = {}
        self.health = HealthState.NONE
        self.health_reason: str | None = None
        self.failure_reason: str | None = None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RecordedTask):
            return NotImplemented
        return vars(self) == vars(other)

    __hash__ = None  # type: ignore[assignment]

    @property
    def task_id(self) -> str:
        return self.header.task_id if self.header is not None else "?"

    def current_run(self, process: str) -> ProcessRun | None:
        runs = self.processes.get(process)
        return runs[-1] if runs else None

    def live_runs(self) -> list[ProcessRun]:
        return [
            run
            for runs in self.processes.values()
            if runs and (run := runs[-1]).state in process_run.LIVE
        ]


class Listener(Protocol):
    def on_process(self, run: ProcessRun, live: bool) -> None: ...

    def on_task(self, state: ExecutorTaskState, live: bool) -> None: ...


class Dispatcher:
    def __init__(self, task: RecordedTask, write: Callable[[Record], None] | None = None):
        self.state = task
        self._write = write
        self._listeners: list[Listener] = []
        # Each runner runs a health checker of its own, whose verdicts start over at STARTING.
        self._fresh_checker = True

    def listen(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def set_writer(self, write: Callable[[Record], None] | None) -> None:
        self._write = write

    def replay(self, records: Sequence[Record]) -> None:
        for i, record in enumerate(records):
            try:
                self.apply(record, live=False)
            except (IllegalTransition, InvalidRecord) as e:
                raise CorruptCheckpoint(f"record {i + 1} cannot be applied: {e}") from e

    def apply(self, record: Record, *, live: bool = True) -> None:
        """Check ``record`` against the recorded state, write it when live, then apply it."""
        if self.state.header is None and not isinstance(record, HeaderRecord):
            raise InvalidRecord(f"a {type(record).__name__} before the header")
        match record:
            case HeaderRecord():
                if self.state.header is not None:
                    raise InvalidRecord("a second header")
                self._commit(record, live)
                self._apply_header(record)
            case RunnerRecord():
                self._commit(record, live)
                self.state.runner_pid = record.pid
                self.state.runner_create_time = record.create_time
                self._fresh_checker = True
            case TaskStateRecord():
                executor_task.MACHINE.transition(self.state.task_id, self.state.state, record.state)
                self._commit(record, live)
                self._apply_task(record, live)
            case ProcessRecord():
                self._check_process(record)
                self._commit(record, live)
                self._apply_process(record, live)
            case HealthRecord():
                base = HealthState.STARTING if self._fresh_checker else self.state.health
                if record.status is not base:
                    health.MACHINE.transition(f"of task {self.state.task_id}", base, record.status)
                self._commit(record, live)
                self._fresh_checker = False
                self.state.health = record.status
                self.state.health_reason = record.reason

    def _commit(self, record: Record, live: bool) -> None:
        if live and self._write is not None:
            self._write(record)

    def _apply_header(self, record: HeaderRecord) -> None:
        self.state.header = record
        if record.health_checked:
            # From the first record on, a health-checked task is "starting", never "none":
            # a reader between the header and the checker's first verdict must not take
            # the task for one without a health check (and so for healthy).
            self.state.health = HealthState.STARTING

    def _apply_task(self, record: TaskStateRecord, live: bool) -> None:
        self.state.state = record.state
        self.state.statuses.append((record.state, record.time))
        if record.reason:
            self.state.failure_reason = record.reason
        for listener in self._listeners:
            listener.on_task(record.state, live)

    def _check_process(self, record: ProcessRecord) -> None:
        name, new = record.process, record.state
        current = self.state.current_run(name)
        if new is ProcessState.WAITING:
            if current is not None and current.state not in process_run.TERMINAL:
                raise InvalidRecord(f"process {name}: new run while run {current.run} lives")
            expected = 0 if current is None else current.run + 1
            if record.run != expected:
                raise InvalidRecord(f"process {name}: run {record.run}, expected {expected}")
            return
        if current is None or current.run != record.run:
            raise InvalidRecord(f"process {name}: no run {record.run} to move to {new.value}")
        process_run.MACHINE.transition(name, current.state, new)

    def _apply_process(self, record: ProcessRecord, live: bool) -> None:
        if record.state is ProcessState.WAITING:
            run = ProcessRun(record.process, record.run, record.state)
            self.state.processes.setdefault(record.process, []).append(run)
        else:
            run = self.state.processes[record.process][-1]  # checked by _check_process
            run.state = record.state
        for key in _RUN_FIELDS:
            value = getattr(record, key)
            if value is not None:
                setattr(run, key, value)
        for listener in self._listeners:
            listener.on_process(run, live)
