"""SLA-aware updates through the real daemon: count policies, a coordinator (a real HTTP
server on 127.0.0.1) that refuses then allows, a coordinator that is down, and the policies
Aurora refused at create and update."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from aurora_provider.api import InvalidRequest
from aurora_provider.api import models as m
from aurora_provider.config import load
from aurora_provider.config.errors import ConfigError
from tests.daemon import Daemon, free_port
from tests.eventually import eventually
from tests.scheduler.conftest import job_wire

pytestmark = pytest.mark.integration


def _wire(tmp_path: Path, name: str, cmd: str, *, instances: int, policy: str,
          watch_secs: int = 1, batch_size: int = 1) -> dict[str, Any]:
    extra = (f", sla_policy={policy}, update_config=UpdateConfig(batch_size={batch_size}, "
             f"watch_secs={watch_secs}, sla_aware=True)")
    return job_wire(tmp_path, name, cmd, service=True, instances=instances, extra=extra)


def _running(d: Daemon, key: str) -> list[m.TaskModel]:
    with d.client() as c:
        return [t for t in c.job_status(key).active if t.status == "RUNNING"]


def _started(d: Daemon, wire: dict[str, Any]) -> str:
    key = f"devcluster/www/test/{wire['key']['name']}"
    with d.client() as c:
        c.create_job(wire)
    eventually(lambda: len(_running(d, key)) == wire["instances"], what="RUNNING")
    return key


def _details(d: Daemon, key: str, update_id: str) -> m.UpdateDetails:
    with d.client() as c:
        return c.update_details(key, update_id)


def _messages(details: m.UpdateDetails) -> list[str]:
    return [e.message for e in details.events if e.message]


@pytest.mark.parametrize("batch_size", [1, 2])
def test_count_policy_keeps_enough_instances_running(daemon: Daemon, tmp_path: Path,
                                                     batch_size: int) -> None:
    # With batch 2, only the SLA keeps the update from killing two of the three at once.
    policy = "CountSlaPolicy(count=2, duration_secs=3)"
    name = f"sla-count-{batch_size}"
    key = _started(daemon, _wire(tmp_path, name, "sleep 600", instances=3, policy=policy,
                                 batch_size=batch_size))
    with daemon.client() as c:
        update = c.start_update(_wire(tmp_path, name, "sleep 601", instances=3,
                                      policy=policy, batch_size=batch_size))
    fewest = 3
    while (details := _details(daemon, key, update.update_id)).active:
        fewest = min(fewest, len(_running(daemon, key)))
        time.sleep(0.05)  # sampling a live update: nothing to wait for but the next sample
    assert details.status == "ROLLED_FORWARD"
    assert fewest >= 2, f"only {fewest} instance(s) RUNNING during the update"
    held = [t for t in _messages(details) if " held by SLA: " in t]
    assert held, _messages(details)
    assert all(re.fullmatch(r"instance \d held by SLA: [01] of 3 instances would remain "
                            r"RUNNING for 3s, policy needs 2", t) for t in held), held
    assert any(t.endswith("SLA check passed, continuing") for t in _messages(details))
    assert sorted(e.instance for e in details.instance_events
                  if e.action == "INSTANCE_UPDATED") == [0, 1, 2]
    with daemon.client() as c:
        c.killall(key)


class _Coordinator:
    """A coordinator answering ``{"drain": allow}``; it keeps what it was asked."""

    def __init__(self) -> None:
        self.allow = False
        self.requests: list[tuple[dict[str, list[str]], dict[str, Any]]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # the name http.server calls
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                owner.requests.append((parse_qs(urlparse(self.path).query), body))
                answer = json.dumps({"drain": owner.allow}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/sla"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join()


@pytest.fixture
def coordinator() -> Iterator[_Coordinator]:
    c = _Coordinator()
    yield c
    c.stop()


def test_coordinator_refuses_then_allows(daemon: Daemon, tmp_path: Path,
                                          coordinator: _Coordinator) -> None:
    policy = f"CoordinatorSlaPolicy(coordinator_url={coordinator.url!r})"
    key = _started(daemon, _wire(tmp_path, "sla-coord", "sleep 600", instances=2,
                                 policy=policy))
    before = {t.task_id for t in _running(daemon, key)}
    with daemon.client() as c:
        update = c.start_update(_wire(tmp_path, "sla-coord", "sleep 601", instances=2,
                                      policy=policy))
    refused = "instance 0 held by SLA: coordinator " + coordinator.url + " answered drain=false"
    eventually(lambda: refused in _messages(_details(daemon, key, update.update_id)),
               what="the coordinator's refusal in the update's events")
    eventually(lambda: len(coordinator.requests) >= 2, what="a second request after a refusal")
    # Refused: nothing was killed, the update waits.
    assert {t.task_id for t in _running(daemon, key)} == before
    assert _details(daemon, key, update.update_id).status == "ROLLING_FORWARD"
    query, body = coordinator.requests[0]
    assert query == {"task": ["devcluster/www/test/sla-coord/0"]}
    assert body["task"] == "devcluster/www/test/sla-coord/0"
    assigned = body["taskConfig"]["assignedTask"]
    assert assigned["instanceId"] == 0 and assigned["taskId"] in before
    assert assigned["task"]["job"] == {"role": "www", "environment": "test",
                                       "name": "sla-coord"}
    coordinator.allow = True

    def ended() -> m.UpdateDetails | None:
        details = _details(daemon, key, update.update_id)
        return None if details.active else details

    done: m.UpdateDetails = eventually(ended, timeout=90, what="the update to end")
    assert done.status == "ROLLED_FORWARD"
    assert "instance 1 held by SLA: asking coordinator " + coordinator.url in _messages(done)
    asked = {q["task"][0] for q, _ in coordinator.requests}
    assert asked == {"devcluster/www/test/sla-coord/0", "devcluster/www/test/sla-coord/1"}
    with daemon.client() as c:
        c.killall(key)


def test_coordinator_down_holds_the_update(daemon: Daemon, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/sla"  # nothing listens there
    policy = f"CoordinatorSlaPolicy(coordinator_url={url!r}, status_key='ok')"
    key = _started(daemon, _wire(tmp_path, "sla-down", "sleep 600", instances=2,
                                 policy=policy))
    before = {t.task_id for t in _running(daemon, key)}
    with daemon.client() as c:
        update = c.start_update(_wire(tmp_path, "sla-down", "sleep 601", instances=2,
                                      policy=policy))
    prefix = f"instance 0 held by SLA: coordinator {url} unreachable (ConnectError"
    eventually(lambda: any(t.startswith(prefix) for t in
                           _messages(_details(daemon, key, update.update_id))),
               what="the unreachable coordinator in the update's events")
    assert {t.task_id for t in _running(daemon, key)} == before
    with daemon.client() as c:
        assert c.update_details(key, update.update_id).status == "ROLLING_FORWARD"
        assert c.abort_update(key).status == "ABORTED"
        c.killall(key)


def _with_instances(wire: dict[str, Any], instances: int) -> dict[str, Any]:
    """The same job with another instance count, in the form and in its executor data."""
    job = json.loads(wire["task"]["executor_config"]["data"])
    job["instances"] = instances
    task = {**wire["task"], "executor_config": {**wire["task"]["executor_config"],
                                                "data": json.dumps(job, sort_keys=True)}}
    return {**wire, "instances": instances, "task": task}


@pytest.mark.parametrize(("policy", "field"), [
    ("CountSlaPolicy(count=2, duration_secs=60)", "sla_policy.count"),
    ("PercentageSlaPolicy(percentage=60, duration_secs=60)", "sla_policy.percentage"),
])
def test_policy_leaving_no_instance_to_kill_is_refused(daemon: Daemon, tmp_path: Path,
                                                       policy: str, field: str) -> None:
    name = f"sla-bad-{field.rsplit('.', 1)[1]}"
    good = _wire(tmp_path, name, "sleep 600", instances=3, policy=policy)
    bad = _with_instances(good, 2)
    with daemon.client() as c:
        with pytest.raises(InvalidRequest) as created:
            c.create_job(bad)
        key = _started(daemon, good)
        with pytest.raises(InvalidRequest) as updated:
            c.start_update({**_with_instances(good, 2)})
        c.killall(key)
    for error in (created.value, updated.value):
        text = str(error)
        assert "\n" not in text and f"{field}: " in text and "would let no instance" in text
    source = tmp_path / f"{name}.aurora"
    source.write_text(source.read_text().replace("instances=3", "instances=2"))
    with pytest.raises(ConfigError) as loaded:
        load(str(source)).pick(f"devcluster/www/test/{name}")
    assert f"{field}: " in str(loaded.value) and "\n" not in str(loaded.value)
