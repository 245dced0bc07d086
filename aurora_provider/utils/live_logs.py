"""Following a job's process output while it runs: what is new in each stream, as lines.

A :class:`LogFollower` keeps, for each (task, process, run, stream), the byte offset it has
read up to and the start of a line not ended yet. Each :meth:`~LogFollower.poll` asks the
scheduler for each followed task's listing (new processes and runs show up in it) and reads
every stream from its offset; it returns the complete lines, each prefixed with where it
comes from: ``[instance 0 process main run 0 stdout] hello``. :meth:`~LogFollower.finish`
reads what is left once the job is done and ends the lines left open.

Bounded, with a marker line (starting ``...``) wherever output is not shown:

* at most ``cap_bytes`` of each stream and run are shown; the end says how much was not;
* a stream that is more than ``max_lag_bytes`` ahead of what was read (it grows faster than
  the polls read it) is skipped forward to its last ``max_lag_bytes``.

A task is followed from the first poll that names it active, and every instance's latest
task at the end, so a task that ran between two polls is still shown when the job is done.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aurora_provider.api import ApiError, AsyncSchedulerClient, NotFound
from aurora_provider.api.models import LogChunk
from aurora_provider.utils.job_waits import instance_views

CAP_BYTES = 2**20  # per stream and run
READ_BYTES = 256 * 2**10  # per request
MAX_LAG_BYTES = 4 * 2**20
STREAMS = ("stdout", "stderr")


@dataclass(frozen=True)
class Limits:
    """:param cap_bytes: the most of one stream and run that is shown.
    :param read_bytes: the most one request reads.
    :param max_lag_bytes: how far a stream may be ahead of what was read before the
        middle is skipped."""

    cap_bytes: int = CAP_BYTES
    read_bytes: int = READ_BYTES
    max_lag_bytes: int = MAX_LAG_BYTES

    def __post_init__(self) -> None:
        for name in ("cap_bytes", "read_bytes", "max_lag_bytes"):
            if getattr(self, name) < 4:
                raise ValueError(f"live logs: {name} must be at least 4, not "
                                 f"{getattr(self, name)}")


@dataclass(frozen=True)
class TaskRef:
    task_id: str
    instance: int
    active: bool


def task_refs(status: Mapping[str, Any]) -> list[TaskRef]:
    """Every task of a job status (``JobStatus.model_dump()``), active ones first."""
    return ([TaskRef(t["task_id"], t["instance"], True) for t in status.get("active", [])]
            + [TaskRef(t["task_id"], t["instance"], False) for t in status.get("terminal", [])])


def latest_refs(status: Mapping[str, Any]) -> list[TaskRef]:
    """Each instance's current task (as the end-of-run copy of the logs chooses them)."""
    return [TaskRef(v.task_id, v.instance, v.active)
            for _, v in sorted(instance_views(status).items())]


@dataclass(frozen=True)
class StreamKey:
    task_id: str
    instance: int
    process: str
    run: int
    stream: str

    @property
    def prefix(self) -> str:
        return f"[instance {self.instance} process {self.process} run {self.run} {self.stream}]"


@dataclass
class StreamState:
    """How far one stream was read, and what of it is not a line yet (no I/O here)."""

    key: StreamKey
    offset: int = 0
    shown: int = 0  # bytes read and shown (skipped ones are not)
    partial: str = ""
    resync: bool = False  # after a skip: what comes before the next line end is a fragment
    capped: bool = False
    ended: bool = False  # the run stopped and everything up to the cap was read

    def take(self, chunk: LogChunk, limits: Limits) -> list[str]:
        """The lines a read completes, and a marker when it reaches the cap or the stream
        has run ahead by more than ``max_lag_bytes`` (then the offset jumps forward)."""
        self.shown += chunk.next - chunk.offset
        self.offset = chunk.next
        lines = self._lines(chunk.text)
        if self.shown >= limits.cap_bytes:
            self.capped = True
            lines += self.flush()
            lines.append(f"{self.key.prefix} ... output beyond {_size(limits.cap_bytes)} "
                         "is not shown")
        elif chunk.size - self.offset > limits.max_lag_bytes:
            skipped = chunk.size - limits.max_lag_bytes - self.offset
            lines += self.flush()
            lines.append(f"{self.key.prefix} ... {skipped} bytes skipped: the stream grew "
                         "faster than it was read")
            self.offset += skipped
            self.resync = True
        return lines

    def flush(self) -> list[str]:
        """The line left open, as a line (the stream ends, or output is skipped)."""
        text, self.partial = self.partial, ""
        return [f"{self.key.prefix} {text}"] if text and not self.resync else []

    def _lines(self, text: str) -> list[str]:
        if self.resync:
            cut = text.find("\n")
            if cut < 0:
                return []
            text, self.resync = text[cut + 1:], False
        *complete, self.partial = (self.partial + text).split("\n")
        return [f"{self.key.prefix} {line.rstrip(chr(13))}" for line in complete]


@dataclass
class _Task:
    ref: TaskRef
    streams: dict[tuple[str, int, str], StreamState] = field(default_factory=dict)
    problem: str | None = None  # the last error reading its logs, said once
    done: bool = False


class LogFollower:
    """Reads what is new in the streams of a job's tasks at each poll (see the module).

    :param limits: the cap per stream and run, the size of a read, the lag allowed.
    """

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self._tasks: dict[str, _Task] = {}

    async def poll(self, client: AsyncSchedulerClient, tasks: Iterable[TaskRef]) -> list[str]:
        """Follow the active ones of ``tasks`` too; the new lines of every followed task
        (a followed task that has ended is read to its end, once)."""
        for ref in tasks:
            known = self._tasks.get(ref.task_id)
            if known is None and ref.active:
                self._tasks[ref.task_id] = _Task(ref)
            elif known is not None:
                known.ref = ref
        lines: list[str] = []
        for task in list(self._tasks.values()):
            if not task.done:
                lines += await self._read_task(client, task, final=not task.ref.active)
        return lines

    async def finish(self, client: AsyncSchedulerClient, tasks: Iterable[TaskRef]) -> list[str]:
        """Everything left of the followed tasks and of ``tasks``; lines left open end."""
        for ref in tasks:
            self._tasks.setdefault(ref.task_id, _Task(ref))
        lines: list[str] = []
        for task in list(self._tasks.values()):
            if not task.done:
                lines += await self._read_task(client, task, final=True)
        return lines

    async def _read_task(self, client: AsyncSchedulerClient, task: _Task, *,
                         final: bool) -> list[str]:
        lines: list[str] = []
        try:
            listing = await client.task_logs(task.ref.task_id)
            for process in listing.processes:
                for run in process.runs:
                    for stream in STREAMS:
                        state = self._state(task, process.name, run.run, stream)
                        if not state.ended:
                            lines += await self._read(client, state, final or
                                                      run.stop_time is not None)
        except NotFound:
            pass  # no sandbox yet (or no logs on this backend): nothing to show so far
        except ApiError as e:
            if str(e) != task.problem:
                lines.append(f"[instance {task.ref.instance}] ... cannot read the logs of "
                             f"{task.ref.task_id}: {e}")
            task.problem = str(e)
            return lines
        task.done = final
        return lines

    def _state(self, task: _Task, process: str, run: int, stream: str) -> StreamState:
        where = (process, run, stream)
        if where not in task.streams:
            task.streams[where] = StreamState(
                StreamKey(task.ref.task_id, task.ref.instance, process, run, stream))
        return task.streams[where]

    async def _read(self, client: AsyncSchedulerClient, state: StreamState,
                    stopped: bool) -> list[str]:
        """What is new in one stream; with ``stopped`` (its run is over) it is read to its
        end, and its open line and what the cap held back are said."""
        key, lines = state.key, []
        try:
            while not state.capped:
                budget = max(4, min(self.limits.read_bytes,
                                    self.limits.cap_bytes - state.shown))
                chunk = await client.task_log_chunk(key.task_id, key.process, key.run,
                                                    key.stream, offset=state.offset,
                                                    limit=budget)
                lines += state.take(chunk, self.limits)
                if chunk.next >= chunk.size or chunk.next == chunk.offset:
                    break
            if stopped and state.capped:
                end = await client.task_log_chunk(key.task_id, key.process, key.run,
                                                  key.stream, offset=state.offset, limit=4)
                if end.size > state.offset:
                    lines.append(f"{key.prefix} ... {end.size - state.offset} bytes over "
                                 "the cap were not shown")
        except NotFound:
            return lines  # the stream has no file yet
        if stopped:
            lines += state.flush()
            state.ended = True
        return lines


def _size(n: int) -> str:
    return f"{n // 2**20} MiB" if n % 2**20 == 0 else f"{n} bytes"
