"""An agent's task status update manager: reliable, ordered delivery of status updates.

Per task, updates queue in order; only the oldest unacknowledged one is in flight: it is
sent to the master, resent after ``retry_interval`` (doubling, at most 10 minutes, as
Mesos's STATUS_UPDATE_RETRY_INTERVAL_MIN/MAX) until the framework acknowledges its uuid, and
only then is the next one sent. While the agent has no master the manager is paused; on
resume every task's oldest update is sent again.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from tests.mesos_cluster import wire
from tests.mesos_cluster.wire import Update

RETRY_INTERVAL_MAX = 600.0
log = logging.getLogger(__name__)

Later = Callable[..., asyncio.TimerHandle]


@dataclass
class UpdateStream:
    pending: deque[Update] = field(default_factory=deque)
    seen: set[str] = field(default_factory=set)  # uuids received, to drop duplicates
    timer: asyncio.TimerHandle | None = None
    interval: float = 0.0


class StatusUpdateManager:
    """``forward(update)`` sends one update to the master; ``later`` is the agent's timer."""

    def __init__(self, forward: Callable[[Update], None], later: Later,
                 retry_interval: float) -> None:
        self._forward = forward
        self._later = later
        self.retry_interval = retry_interval
        self.streams: dict[tuple[str, str], UpdateStream] = {}
        self.paused = True

    def update(self, update: Update) -> None:
        """Take a new update (it must carry a uuid) for reliable delivery."""
        key = (update.framework_id, update.task_id)
        stream = self.streams.setdefault(key, UpdateStream())
        uuid = update.uuid or ""
        if uuid in stream.seen:
            log.info("duplicate status update %s of task %s dropped", uuid, update.task_id)
            return
        stream.seen.add(uuid)
        stream.pending.append(update)
        if len(stream.pending) == 1 and not self.paused:
            self._send(stream, self.retry_interval)

    def seen(self, update: Update) -> bool:
        """Whether this update (its uuid) was taken already: a duplicate."""
        stream = self.streams.get((update.framework_id, update.task_id))
        return stream is not None and (update.uuid or "") in stream.seen

    def acknowledge(self, framework_id: str, task_id: str, uuid: str) -> str | None:
        """Apply a framework's acknowledgement; why it does not apply, or None."""
        stream = self.streams.get((framework_id, task_id))
        if stream is None or not stream.pending:
            return f"unexpected acknowledgement {wire.uuid_text(uuid)} of task {task_id}"
        head = stream.pending[0]
        if head.uuid != uuid:
            return (f"acknowledgement {wire.uuid_text(uuid)} of task {task_id} does not match"
                    f" the pending update {wire.uuid_text(head.uuid or '')}")
        stream.pending.popleft()
        self._cancel(stream)
        if wire.is_terminal(head.state):  # the task is done: so is its stream (as Mesos)
            if stream.pending:
                log.warning("terminal update of %s acknowledged with updates pending", task_id)
            del self.streams[(framework_id, task_id)]
        elif stream.pending and not self.paused:
            self._send(stream, self.retry_interval)
        return None

    def pending(self, framework_id: str, task_id: str) -> list[Update]:
        stream = self.streams.get((framework_id, task_id))
        return list(stream.pending) if stream else []

    def has_pending(self, framework_id: str) -> bool:
        return any(s.pending for (fid, _), s in self.streams.items() if fid == framework_id)

    def forget_framework(self, framework_id: str) -> None:
        for key in [k for k in self.streams if k[0] == framework_id]:
            self._cancel(self.streams.pop(key))

    def pause(self) -> None:
        self.paused = True
        for stream in self.streams.values():
            self._cancel(stream)

    def resume(self) -> None:
        self.paused = False
        for stream in self.streams.values():
            if stream.pending:
                self._send(stream, self.retry_interval)

    def _send(self, stream: UpdateStream, interval: float) -> None:
        self._cancel(stream)
        stream.interval = interval
        self._forward(stream.pending[0])
        stream.timer = self._later(interval, self._retry, stream)

    def _retry(self, stream: UpdateStream) -> None:
        stream.timer = None
        if stream.pending and not self.paused:
            head = stream.pending[0]
            log.info("resending status update %s of task %s", head.state, head.task_id)
            self._send(stream, min(stream.interval * 2, RETRY_INTERVAL_MAX))

    @staticmethod
    def _cancel(stream: UpdateStream) -> None:
        if stream.timer is not None:
            stream.timer.cancel()
            stream.timer = None
