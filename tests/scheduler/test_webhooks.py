"""``--webhook-config``: every committed task state change POSTed to a real local receiver
by the real daemon, retried when the receiver fails, never slowing the scheduler; a bad
file stops the start in one line. The queue's bound is checked on the sender itself."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry

from aurora_provider.framework.core.changes import Changes, TaskCache
from aurora_provider.framework.operations.webhooks import (
    Delivery,
    WebhookSender,
    _Batch,
    state_changes,
    webhook_from_json,
)
from aurora_provider.states.task import TaskState
from tests.daemon import Daemon
from tests.eventually import eventually
from tests.scheduler.conftest import job_wire

S = TaskState


@dataclass
class Receiver:
    """A webhook receiver on 127.0.0.1: what it got, failing its first ``failures`` POSTs
    (500) and taking ``delay`` seconds per answer."""

    failures: int = 0
    delay: float = 0.0
    got: list[tuple[dict[str, str], dict[str, Any]]] = field(default_factory=list)
    refused: int = 0
    released: threading.Event = field(default_factory=threading.Event)

    def handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.released.wait(receiver.delay)
                if receiver.refused < receiver.failures:
                    receiver.refused += 1
                    self.send_response(500)
                else:
                    receiver.got.append((dict(self.headers), json.loads(body)))
                    self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        return Handler

    def states(self, task_id: str) -> list[tuple[str | None, str]]:
        return [(b["oldState"], b["newState"]) for _, b in list(self.got)
                if b["taskId"] == task_id]


@pytest.fixture
def serve() -> Iterator[Callable[[Receiver], str]]:
    servers: list[tuple[ThreadingHTTPServer, Receiver]] = []

    def start(receiver: Receiver) -> str:
        server = ThreadingHTTPServer(("127.0.0.1", 0), receiver.handler())
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append((server, receiver))
        return f"http://127.0.0.1:{server.server_address[1]}/events"

    yield start
    for server, receiver in servers:
        receiver.released.set()
        server.shutdown()
        server.server_close()


def webhook_file(tmp_path: Path, url: str, **more: Any) -> str:
    path = tmp_path / "webhook.json"
    path.write_text(json.dumps({"headers": {"Producer-Type": "reliable"}, "targetURL": url,
                                "timeoutMsec": 2000, **more}))
    return str(path)


def only_task(d: Daemon, key: str) -> str:
    with d.client() as c:
        (task,) = c.job_status(key).active
        return task.task_id


@pytest.mark.integration
def test_task_state_changes_arrive_with_the_headers(make_daemon: Callable[..., Daemon],
                                                   serve: Callable[[Receiver], str],
                                                   tmp_path: Path) -> None:
    receiver = Receiver()
    d = make_daemon("--webhook-config", webhook_file(tmp_path, serve(receiver)))
    key = "devcluster/www/test/hooked"
    with d.client() as c:
        c.create_job(job_wire(tmp_path, "hooked", "sleep 600", service=True))
    task_id = only_task(d, key)
    expected = [("INIT", "PENDING"), ("PENDING", "ASSIGNED"), ("ASSIGNED", "STARTING"),
                ("STARTING", "RUNNING")]
    eventually(lambda: receiver.states(task_id) == expected, what="four state changes")
    headers, body = next(b for b in receiver.got if b[1]["newState"] == "RUNNING")
    assert headers["Producer-Type"] == "reliable" and headers["Timestamp"].isdigit()
    assert headers["Content-Type"] == "application/json"
    task = body["task"]
    assert (task["task_id"], task["status"], task["job_key"], task["cluster"]) == (
        task_id, "RUNNING", "www/test/hooked", "devcluster")
    assert task["host"] == "localhost"
    stats = httpx.get(f"{d.url}/vars.json").json()
    assert stats["webhook_sent"] >= 4 and stats["webhook_failed"] == 0
    assert stats["webhook_dropped"] == 0
    assert "webhook_sent_total" in httpx.get(f"{d.url}/metrics").text
    with d.client() as c:
        c.killall(key)


@pytest.mark.integration
def test_failing_receiver_gets_the_changes_once_it_recovers(
        make_daemon: Callable[..., Daemon], serve: Callable[[Receiver], str],
        tmp_path: Path) -> None:
    receiver = Receiver(failures=2)
    d = make_daemon("--webhook-config", webhook_file(tmp_path, serve(receiver),
                                                     statuses=["RUNNING", "KILLED"]))
    key = "devcluster/www/test/retried"
    with d.client() as c:
        c.create_job(job_wire(tmp_path, "retried", "sleep 600", service=True))
        task_id = only_task(d, key)
        eventually(lambda: receiver.states(task_id) == [("STARTING", "RUNNING")],
                   what="RUNNING delivered after two refusals")
        c.killall(key)
    eventually(lambda: receiver.states(task_id)[-1:] == [("KILLING", "KILLED")],
               what="KILLED delivered")
    assert receiver.refused == 2
    assert [s for _, s in receiver.states(task_id)] == ["RUNNING", "KILLED"]  # the filter
    assert httpx.get(f"{d.url}/vars.json").json()["webhook_failed"] == 0


@pytest.mark.integration
def test_slow_receiver_does_not_slow_the_scheduler(make_daemon: Callable[..., Daemon],
                                                  serve: Callable[[Receiver], str],
                                                  tmp_path: Path) -> None:
    receiver = Receiver(delay=30.0)  # each answer takes longer than the whole test
    d = make_daemon("--webhook-config", webhook_file(tmp_path, serve(receiver),
                                                     timeoutMsec=60000))
    key = "devcluster/www/test/slowhook"
    with d.client() as c:
        c.create_job(job_wire(tmp_path, "slowhook", "sleep 600", service=True))
        eventually(lambda: [t.status for t in c.job_status(key).active] == ["RUNNING"],
                   timeout=20, what="RUNNING while the receiver sleeps")
        c.killall(key)
        eventually(lambda: not c.job_status(key).active, timeout=20,
                   what="killed while the receiver sleeps")
    assert receiver.got == []  # nothing answered yet: the scheduler did not wait for it
    assert httpx.get(f"{d.url}/vars.json").json()["webhook_queued"] >= 5


@pytest.mark.process
@pytest.mark.parametrize(("content", "says"), [
    ("[1,", "not JSON"),
    (json.dumps({"targetURL": "ftp://x/", "timeoutMsec": 5}),
     "targetURL must be an http:// or https:// URL"),
    (json.dumps({"targetURL": "http://127.0.0.1:1/", "timeoutMsec": "5"}),
     "timeoutMsec must be a whole number"),
    (json.dumps({"targetURL": "http://127.0.0.1:1/", "timeoutMsec": 5, "retries": 3}),
     "unknown key 'retries'"),
    (json.dumps({"targetURL": "http://127.0.0.1:1/", "timeoutMsec": 5,
                 "statuses": ["RUNING"]}), "statuses: 'RUNING' is not a task state"),
])
def test_bad_webhook_file_stops_the_start_in_one_line(tmp_path: Path, content: str,
                                                      says: str) -> None:
    bad = tmp_path / "webhook.json"
    bad.write_text(content)
    daemon = Daemon(tmp_path / "work", tmp_path / "home", ["--webhook-config", str(bad)])
    code, lines = daemon.refused_start()
    assert code == 1 and len(lines) == 1
    assert lines[0].startswith(f"aurora-scheduler: --webhook-config {bad}") and says in lines[0]


def _created_and_pending(cache: TaskCache, now: float) -> Changes:
    ch = Changes(cache, now)
    row = ch.create("www/test/a", 0, 1)
    ch.move(row, S.PENDING)
    return ch


@pytest.mark.unit
def test_old_states_come_from_the_cache_and_the_batch() -> None:
    cache = TaskCache()
    ch = _created_and_pending(cache, 1.0)
    (task_id,) = ch.rows
    first = _Batch(tuple(ch.events), dict(ch.rows), {})
    assert [(c.old, c.new) for c in state_changes(first)] == [(S.INIT, S.PENDING)]
    ch.apply_to_cache()
    ch2 = Changes(cache, 2.0)
    moved = ch2.move(cache.by_id[task_id], S.ASSIGNED)
    ch2.move(moved, S.STARTING)
    second = _Batch(tuple(ch2.events), dict(ch2.rows), {task_id: cache.by_id[task_id].status})
    changes = state_changes(second)
    assert [(c.old, c.new) for c in changes] == [(S.PENDING, S.ASSIGNED),
                                                  (S.ASSIGNED, S.STARTING)]
    assert [c.task.status for c in changes] == [S.ASSIGNED, S.STARTING]


@pytest.mark.unit
def test_a_full_queue_drops_and_counts_instead_of_waiting() -> None:
    registry = CollectorRegistry()
    config = webhook_from_json({"targetURL": "http://127.0.0.1:1/", "timeoutMsec": 5})
    sender = WebhookSender(config, registry, cluster="devcluster",
                           delivery=Delivery(queue_size=3))  # not started: nothing drains
    sender.published(_created_and_pending(TaskCache(), 1.0))  # 2 events: queued
    sender.published(_created_and_pending(TaskCache(), 1.0))  # 2 more: over the bound
    assert registry.get_sample_value("webhook_dropped_total") == 2
    assert registry.get_sample_value("webhook_queued") == 2
    sender.stop()  # what still waited counts as dropped too
    assert registry.get_sample_value("webhook_dropped_total") == 4
