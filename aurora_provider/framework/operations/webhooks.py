"""Aurora's webhook (``aurora-scheduler --webhook-config FILE``): every task state change,
POSTed as JSON to one HTTP endpoint.

The file is Aurora's ``webhook.json``::

    {"targetURL": "http://localhost:5000/", "timeoutMsec": 500,
     "headers": {"Producer-Type": "reliable"}, "statuses": ["LOST", "FAILED"]}

``statuses`` (optional; ``["*"]`` or left out: all) keeps only the changes into those states.

The scheduling round must not wait for the receiver: the ledger hands each committed
``Changes`` to :meth:`WebhookSender.published`, which only appends it to a bounded queue; a
sender thread turns it into one POST per state change, in commit order, retrying a failed or
timed-out POST with backoff a bounded number of times. When the queue is full the changes are
dropped, counted and logged, never waited for. ``webhook_sent``, ``webhook_failed`` (given up
after the last attempt) and ``webhook_dropped`` are on /metrics and /vars.

Each body carries Aurora's keys, ``task`` (the task as the API shows it, in its new state) and
``oldState``, with ``taskId`` and ``newState`` beside them; a ``Timestamp`` header (epoch
milliseconds) comes with the configured headers, as Aurora sent it.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
from prometheus_client import CollectorRegistry, Counter, Gauge

from aurora_provider.framework.core.changes import Changes
from aurora_provider.framework.errors import SchedulerError, json_file
from aurora_provider.framework.jobs.status import task_document
from aurora_provider.framework.storage.rows import EventRow, TaskRow
from aurora_provider.states.task import TaskState

log = logging.getLogger(__name__)
KEYS = ("headers", "targetURL", "timeoutMsec", "statuses")
ALL = "*"


@dataclass(frozen=True)
class WebhookConfig:
    target_url: str
    timeout_secs: float
    headers: Mapping[str, str]
    statuses: frozenset[TaskState] | None  # None: every state

    def wants(self, state: TaskState) -> bool:
        return self.statuses is None or state in self.statuses


@dataclass(frozen=True)
class Delivery:
    """How hard the sender tries: ``attempts`` POSTs per change, waiting ``backoff_secs``
    doubled after each failure up to ``backoff_max_secs``; at most ``queue_size`` changes
    wait to be sent."""

    attempts: int = 5
    backoff_secs: float = 0.5
    backoff_max_secs: float = 10.0
    queue_size: int = 10_000


def webhook_from_json(document: Any) -> WebhookConfig:
    """A configuration from a parsed ``webhook.json``; ValueError says what is wrong."""
    if not isinstance(document, dict):
        raise ValueError("expected an object with targetURL and timeoutMsec")
    unknown = sorted(set(document) - set(KEYS))
    if unknown:
        raise ValueError(f"unknown key {unknown[0]!r} (expected {', '.join(KEYS)})")
    url = document.get("targetURL")
    if not isinstance(url, str) or not _is_http_url(url):
        raise ValueError(f"targetURL must be an http:// or https:// URL, not {json.dumps(url)}")
    timeout = document.get("timeoutMsec")
    if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout < 1:
        raise ValueError(f"timeoutMsec must be a whole number of milliseconds above 0, not "
                         f"{json.dumps(timeout)}")
    headers = document.get("headers", {})
    if not isinstance(headers, dict) or not all(
            isinstance(k, str) and k and isinstance(v, str) for k, v in headers.items()):
        raise ValueError("headers must be an object of header name -> string value")
    return WebhookConfig(target_url=url, timeout_secs=timeout / 1000.0, headers=dict(headers),
                         statuses=_statuses(document.get("statuses")))


def _is_http_url(text: str) -> bool:
    try:
        url = httpx.URL(text)
    except httpx.InvalidURL:
        return False
    return url.scheme in ("http", "https") and bool(url.host)


def _statuses(value: Any) -> frozenset[TaskState] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not value or \
            not all(isinstance(s, str) for s in value):
        raise ValueError('statuses must be a non-empty list of task states (or ["*"]; '
                         "leave it out for every state)")
    if ALL in value:
        return None
    names = {s.value for s in TaskState}
    for status in value:
        if status not in names:
            raise ValueError(f"statuses: {status!r} is not a task state (one of "
                             f"{', '.join(sorted(names))}, or *)")
    return frozenset(TaskState(s) for s in value)


def load_webhook_file(path: Path) -> WebhookConfig:
    """``--webhook-config FILE``; SchedulerError names the file and what is wrong."""
    document = json_file("--webhook-config", path)
    try:
        return webhook_from_json(document)
    except ValueError as e:
        raise SchedulerError(f"--webhook-config {path}: {e}") from e


@dataclass(frozen=True)
class _Batch:
    """One commit's state changes, and each changed task's state before it."""

    events: Sequence[EventRow]
    rows: Mapping[str, TaskRow]
    before: Mapping[str, TaskState]


@dataclass(frozen=True)
class StateChange:
    task: TaskRow  # as it stood after this change
    old: TaskState | None
    new: TaskState


def state_changes(batch: _Batch) -> list[StateChange]:
    """The batch's transitions in commit order. A task created in INIT is no transition yet
    (Aurora reports a new task first when it goes PENDING, from INIT)."""
    state = dict(batch.before)
    found = []
    for event in batch.events:
        old = state.get(event.task_id)
        state[event.task_id] = event.status
        row = batch.rows.get(event.task_id)
        if event.status is TaskState.INIT or row is None:
            continue
        at = replace(row, status=event.status, status_at=event.timestamp,
                     message=event.message)
        found.append(StateChange(at, old, event.status))
    return found


def payload(change: StateChange, cluster: str) -> dict[str, Any]:
    task = task_document(change.task)
    del task["events"], task["pending_reason"]  # what the round knew, not this change
    task["cluster"] = cluster
    return {"taskId": change.task.task_id,
            "oldState": change.old.value if change.old is not None else None,
            "newState": change.new.value, "task": task}


class WebhookSender:
    """Sends the committed task state changes to the webhook, off the scheduling round.

    :param config: the webhook (``--webhook-config``).
    :param registry: where the ``webhook_*`` stats go (the scheduler's /metrics).
    :param cluster: named in every payload's task.
    :param delivery: retries, backoff and queue bound.
    :param clock: the epoch seconds of the ``Timestamp`` header.
    """

    def __init__(self, config: WebhookConfig, registry: CollectorRegistry, *, cluster: str,
                 delivery: Delivery = Delivery(),
                 clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self._cluster = cluster
        self._delivery = delivery
        self._clock = clock
        self._queue: deque[_Batch] = deque()
        self._queued = 0  # state changes (events) waiting, the queue's bound
        self._ready = threading.Condition(threading.Lock())
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._dropping = False  # logged once per run of drops, not once per commit
        self.sent = Counter("webhook_sent", "Task state changes the webhook received.",
                            registry=registry)
        self.failed = Counter("webhook_failed", "Task state changes not delivered after the "
                              "last attempt.", registry=registry)
        self.dropped = Counter("webhook_dropped", "Task state changes not queued for the "
                               "webhook: the queue was full, or the scheduler stopped.",
                               registry=registry)
        self.waiting = Gauge("webhook_queued", "Task state changes waiting for the webhook.",
                             registry=registry)
        self.waiting.set_function(lambda: self._queued)

    # -- the ledger's side: called under its lock after every commit, must stay cheap ----

    def published(self, ch: Changes) -> None:
        """Queue one committed ``Changes`` (call it before the cache takes the new rows:
        the states the tasks leave are read from it)."""
        if not ch.events:  # kills or a feature's own records only: no state changed
            return
        by_id = ch.cache.by_id
        before = {t: r.status for t in ch.rows if (r := by_id.get(t)) is not None}
        size = len(ch.events)
        with self._ready:
            if self._queued + size > self._delivery.queue_size:
                full = True
            else:
                full = False
                self._queue.append(_Batch(tuple(ch.events), dict(ch.rows), before))
                self._queued += size
                self._ready.notify()
        if full:
            self.dropped.inc(size)
            if not self._dropping:
                log.warning("webhook queue full (%d changes waiting): dropping task state "
                            "changes until it drains (counted in webhook_dropped)",
                            self._queued)
            self._dropping = True
        elif self._dropping:
            self._dropping = False
            log.warning("webhook queue drains again: queuing task state changes")

    # -- the sender thread ---------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="webhook-sender", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop sending (a POST in flight ends within the timeout); what still waits is
        counted as dropped."""
        self._stopping.set()
        with self._ready:
            self._ready.notify()
        if self._thread is not None:
            self._thread.join(timeout=self.config.timeout_secs + 5)
            self._thread = None
        with self._ready:
            left, self._queued = self._queued, 0
            self._queue.clear()
        if left:
            self.dropped.inc(left)
            log.warning("scheduler stopping: %d task state changes not sent to the webhook",
                        left)

    def _next(self) -> _Batch | None:
        with self._ready:
            while not self._queue and not self._stopping.is_set():
                self._ready.wait()
            if self._stopping.is_set():
                return None
            batch = self._queue.popleft()
            self._queued -= len(batch.events)
            return batch

    def _run(self) -> None:
        headers = dict(self.config.headers)
        if not any(name.lower() == "content-type" for name in headers):
            headers["Content-Type"] = "application/json"
        with httpx.Client(timeout=self.config.timeout_secs, headers=headers) as client:
            while (batch := self._next()) is not None:
                for change in state_changes(batch):
                    if self._stopping.is_set():
                        return
                    if not self.config.wants(change.new):
                        continue
                    try:
                        self._deliver(client, change)
                    except Exception:  # a bug of ours must not end the sender for good
                        self.failed.inc()
                        log.exception("webhook: cannot send %s", change.task.task_id)

    def _deliver(self, client: httpx.Client, change: StateChange) -> None:
        body = json.dumps(payload(change, self._cluster)).encode()
        wait = self._delivery.backoff_secs
        problem: str | None = None
        for attempt in range(1, self._delivery.attempts + 1):
            problem = self._post(client, body)
            if problem is None:
                self.sent.inc()
                return
            if attempt == self._delivery.attempts:
                break
            log.info("webhook %s: %s; attempt %d of %d again in %gs", self.config.target_url,
                     problem, attempt + 1, self._delivery.attempts, wait)
            if self._stopping.wait(wait):
                return
            wait = min(wait * 2, self._delivery.backoff_max_secs)
        self.failed.inc()
        log.warning("webhook %s: %s; %s -> %s of %s not delivered after %d attempts",
                    self.config.target_url, problem, change.old and change.old.value,
                    change.new.value, change.task.task_id, self._delivery.attempts)

    def _post(self, client: httpx.Client, body: bytes) -> str | None:
        """One POST; None when the receiver took it (2xx), else what went wrong."""
        stamp = str(int(self._clock() * 1000))
        try:
            response = client.post(self.config.target_url, content=body,
                                   headers={"Timestamp": stamp})
        except httpx.TimeoutException:
            return f"no answer within {self.config.timeout_secs:g}s"
        except httpx.HTTPError as e:
            return f"{type(e).__name__}: {e}"
        if response.is_success:
            return None
        return f"answered {response.status_code}"
