"""The task's recorded state and the one dispatcher that applies records to it.

The runner never changes state directly: it builds a record and hands it to
``Dispatcher.apply``, which checks it against the state machines, writes it (when live),
updates ``TaskRecord`` and tells the listeners (the planner bookkeeping). Replaying a
checkpoint calls the very same ``apply`` without writing, so a replay rebuilds exactly the
state the live runner had.

Record kinds: ``header`` (once, first), ``runner`` (a runner took control), ``task`` (a stage
change), ``process`` (a run's state change), ``health`` (the health checker's verdict).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from . import process_state, task_state
from .checkpoint import Record
from .errors import CorruptCheckpoint, StateTransitionError
from .process_state import ProcessState
from .task_state import TaskState


class ProcessRun:
    """One run of a process, as recorded (mutable: each record updates it)."""

    __slots__ = (
        "create_time", "fork_time", "pid", "process", "reason", "return_code", "run",
        "start_time", "state", "stop_time",
    )  # fmt: skip

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


class TaskRecord:
    """Everything the checkpoint says about a task."""

    def __init__(self) -> None:
        self.header: dict[str, Any] | None = None
        self.state = TaskState.ACTIVE
        self.statuses: list[tuple[str, float]] = []
        self.runner_pid: int | None = None
        self.runner_create_time: float | None = None
        self.processes: dict[str, list[ProcessRun]] = {}
        self.health = "none"
        self.health_reason: str | None = None
        self.failure_reason: str | None = None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TaskRecord):
            return NotImplemented
        return vars(self) == vars(other)

    __hash__ = None  # type: ignore[assignment]

    def current_run(self, process: str) -> ProcessRun | None:
        runs = self.processes.get(process)
        return runs[-1] if runs else None

    def live_runs(self) -> list[ProcessRun]:
        return [
            run
            for runs in self.processes.values()
            if runs and (run := runs[-1]).state in process_state.LIVE
        ]


class Listener(Protocol):
    def on_process(self, run: ProcessRun, live: bool) -> None: ...

    def on_task(self, state: TaskState, live: bool) -> None: ...


_RUN_FIELDS = (
    "pid",
    "create_time",
    "fork_time",
    "start_time",
    "stop_time",
    "return_code",
    "reason",
)


class Dispatcher:
    def __init__(self, record: TaskRecord, write: Callable[[Record], Record] | None = None):
        self.state = record
        self._write = write
        self._listeners: list[Listener] = []

    def listen(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def set_writer(self, write: Callable[[Record], Record] | None) -> None:
        self._write = write

    def replay(self, records: list[Record]) -> None:
        for i, record in enumerate(records):
            try:
                self.apply(record, live=False)
            except StateTransitionError as e:
                raise CorruptCheckpoint(f"record {i + 1} cannot be applied: {e}") from e

    def apply(self, record: Record, *, live: bool = True) -> None:
        kind = record.get("type")
        handler = getattr(self, f"_check_{kind}", None)
        if handler is None:
            raise StateTransitionError(f"unknown record type {kind!r}")
        handler(record)
        if live and self._write is not None:
            record = self._write(record)
        getattr(self, f"_apply_{kind}")(record, live)

    # -- header and runner
    def _check_header(self, record: Record) -> None:
        if self.state.header is not None:
            raise StateTransitionError("a second header")

    def _apply_header(self, record: Record, live: bool) -> None:
        self.state.header = {k: v for k, v in record.items() if k not in ("type", "n")}
        if record.get("health_checked"):
            # From the first record on, a health-checked task is "starting", never "none":
            # a reader between the header and the checker's first verdict must not take
            # the task for one without a health check (and so for healthy).
            self.state.health = "starting"

    def _check_runner(self, record: Record) -> None:
        if self.state.header is None:
            raise StateTransitionError("runner record before the header")

    def _apply_runner(self, record: Record, live: bool) -> None:
        self.state.runner_pid = record["pid"]
        self.state.runner_create_time = record.get("create_time")

    # -- task stages
    def _check_task(self, record: Record) -> None:
        task_state.check_transition(self.state.state, TaskState(record["state"]))

    def _apply_task(self, record: Record, live: bool) -> None:
        new = TaskState(record["state"])
        self.state.state = new
        self.state.statuses.append((new.value, record["time"]))
        if record.get("reason"):
            self.state.failure_reason = record["reason"]
        for listener in self._listeners:
            listener.on_task(new, live)

    # -- process runs
    def _check_process(self, record: Record) -> None:
        name, run, new = record["process"], record["run"], ProcessState(record["state"])
        current = self.state.current_run(name)
        if new is ProcessState.WAITING:
            expected = 0 if current is None else current.run + 1
            if current is not None and current.state not in process_state.TERMINAL:
                raise StateTransitionError(f"process {name}: new run while run {current.run} lives")
            if run != expected:
                raise StateTransitionError(f"process {name}: run {run}, expected {expected}")
            return
        if current is None or current.run != run:
            raise StateTransitionError(f"process {name}: no run {run} to move to {new.value}")
        process_state.check_transition(name, current.state, new)

    def _apply_process(self, record: Record, live: bool) -> None:
        name, new = record["process"], ProcessState(record["state"])
        if new is ProcessState.WAITING:
            run = ProcessRun(process=name, run=record["run"], state=new)
            self.state.processes.setdefault(name, []).append(run)
        else:
            current = self.state.current_run(name)
            assert current is not None  # guaranteed by _check_process
            run = current
            run.state = new
        for key in _RUN_FIELDS:
            if key in record:
                setattr(run, key, record[key])
        for listener in self._listeners:
            listener.on_process(run, live)

    # -- health
    def _check_health(self, record: Record) -> None:
        if record.get("status") not in ("starting", "healthy", "unhealthy"):
            raise StateTransitionError(f"unknown health status {record.get('status')!r}")

    def _apply_health(self, record: Record, live: bool) -> None:
        self.state.health = record["status"]
        self.state.health_reason = record.get("reason")
