"""A job's wire form is checked with the ``.aurora`` loader's rules whichever way it arrives,
and every number and text the API takes is bounded: hostile requests POSTed to the real
daemon get a 400 and one line naming the field, and nothing is stored or run."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from aurora_provider.cli.admin import main as admin_main
from aurora_provider.cli.aurora import main as aurora_main
from tests.daemon import Daemon
from tests.scheduler.conftest import job_wire

pytestmark = pytest.mark.integration

Change = Callable[[dict[str, Any], dict[str, Any]], None]  # (the summary, the executor's job)


def post(daemon: Daemon, path: str, body: Any = None, content: str | None = None,
         method: str = "POST") -> httpx.Response:
    headers = {"Authorization": f"Bearer {daemon.token()}", "Content-Type": "application/json"}
    data = json.dumps(body) if content is None else content
    return httpx.request(method, daemon.url + path, headers=headers, content=data, timeout=30)


def refused(response: httpx.Response, *words: str) -> str:
    assert response.status_code == 400, response.text
    body = response.json()
    assert set(body) == {"code", "message"} and body["code"] == "INVALID_REQUEST"
    message = body["message"]
    assert "\n" not in message and "Traceback" not in message
    for word in words:
        assert word in message, message
    return str(message)


def hostile(tmp_path: Path, name: str, change: Change) -> dict[str, Any]:
    """A real job's wire form, then changed as a hand-written request might be."""
    wire = job_wire(tmp_path, name, "echo hi > owned", ports=True)
    data = json.loads(wire["task"]["executor_config"]["data"])
    change(wire, data)
    wire["task"]["executor_config"]["data"] = json.dumps(data)
    return wire


def process_named(name: str) -> Change:
    def change(_: dict[str, Any], job: dict[str, Any]) -> None:
        job["task"]["processes"][0]["name"] = name
        job["task"]["name"] = name
    return change


def both(*path: str, value: Any, data_path: tuple[str, ...] | None = None,
         data_value: Any = None) -> Change:
    """Set ``path`` in the summary and (``data_path``) in the executor's job alike."""
    def change(wire: dict[str, Any], job: dict[str, Any]) -> None:
        _set(wire, path, value)
        if data_path is not None:
            _set(job, data_path, value if data_value is None else data_value)
    return change


def _set(target: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value


RES = ("task", "resources")
CASES: dict[str, tuple[Change, tuple[str, ...]]] = {
    "process ../../../x": (process_named("../../../x"),
                           ("task.processes[0].name", "'../../../x'", "file name")),
    "process a/b": (process_named("a/b"), ("task.processes[0].name", "'a/b'")),
    "process .": (process_named("."), ("task.processes[0].name", "'.'")),
    "job named .. in both": (both("key", "name", value="..", data_path=("name",)),
                             ("job.key.name", "'..'")),
    "job named .. in the data": (both("x", value=0, data_path=("name",), data_value=".."),
                                 ("job.task.executor_config.data", "name: '..'")),
    "role a b": (both("key", "role", value="a b", data_path=("role",)), ("job.key.role",)),
    "role a b in the data": (both("x", value=0, data_path=("role",), data_value="a b"),
                             ("role: 'a b' is not a valid job key part",)),
    "cpu -1": (both(*RES, "cpu", value=-1, data_path=(*RES, "cpu")),
               ("job.task.resources.cpu",)),
    "cpu 1e308": (both(*RES, "cpu", value=1e308, data_path=(*RES, "cpu")),
                  ("job.task.resources.cpu",)),
    "cpu 1e308 in the data": (both("x", value=0, data_path=(*RES, "cpu"), data_value=1e308),
                              ("task.resources.cpu",)),
    "cpu differs from the data": (both(*RES, "cpu", value=64.0),
                                  ("job.task.resources.cpu: 64.0 differs",)),
    "ram 0": (both(*RES, "ram_mb", value=0, data_path=(*RES, "ram"), data_value=0),
              ("job.task.resources.ram_mb",)),
    "ram 0 in the data": (both("x", value=0, data_path=(*RES, "ram"), data_value=0),
                          ("task.resources.ram", "at least 1 MB")),
    "port name empty": (both("task", "requested_ports", value=[""]),
                        ("job.task.requested_ports.0",)),
    "ports differ from the data": (both("task", "requested_ports", value=["admin"]),
                                   ("job.task.requested_ports", "differs")),
    "instances 0": (both("instances", value=0), ("job.instances",)),
    "instances 10^9": (both("instances", value=10**9, data_path=("instances",)),
                       ("job.instances",)),
    "batch size 0": (both("update_config", "batch_size", value=0,
                          data_path=("update_config", "batch_size")),
                     ("update_config.batch_size", "at least 1")),
    "a limit constraint of 0": (both("task", "constraints",
                                     value=[{"name": "host", "limit": 0}]),
                                ("job.task.constraints",)),
    "metadata of 65 entries": (both("task", "metadata",
                                    value=[{"key": f"k{i}", "value": "v"} for i in range(65)]),
                               ("job.task.metadata",)),
    "an unknown attribute in the data": (both("x", value=0, data_path=("surprise",)),
                                         ("executor_config.data", "surprise")),
}


def _drop_x(change: Change) -> Change:
    """``both("x", ...)`` changes the data only: the summary keeps no stray field."""
    def run(wire: dict[str, Any], job: dict[str, Any]) -> None:
        change(wire, job)
        wire.pop("x", None)
    return run


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_hostile_wire_form_is_refused_and_nothing_is_stored(daemon: Daemon, tmp_path: Path,
                                                              case: str) -> None:
    change, words = CASES[case]
    name = "hostile-" + str(sorted(CASES).index(case))
    wire = hostile(tmp_path, name, _drop_x(change))
    refused(post(daemon, "/api/v1/jobs", {"job": wire}), *words)
    # The same rules for an update, a cron schedule and a diff.
    refused(post(daemon, "/api/v1/updates", {"job": wire}))
    refused(post(daemon, "/api/v1/cron", {"job": wire}))
    refused(post(daemon, f"/api/v1/jobs/www/test/{name}/diff", {"job": wire}))
    with daemon.client() as c:
        assert [j.key for j in c.list_jobs().jobs if "hostile" in j.key] == []
    assert not (daemon.work_dir / "tasks").exists() or \
        not list((daemon.work_dir / "tasks").glob("*hostile*"))
    assert not list(daemon.work_dir.parent.rglob("owned"))


@pytest.mark.parametrize("literal", ["Infinity", "NaN", "-Infinity", "1e309"])
def test_non_finite_numbers_are_refused(daemon: Daemon, tmp_path: Path, literal: str) -> None:
    wire = job_wire(tmp_path, "nonfinite", "sleep 1")
    text = json.dumps({"job": wire}).replace('"cpu": 0.01', f'"cpu": {literal}')
    assert literal in text
    refused(post(daemon, "/api/v1/jobs", content=text), "job.task.resources.cpu")
    # 1e308 + 1e308, and the JSON literals, as a quota.
    quota = f'{{"cpu": {literal}, "ram_mb": 1024, "disk_mb": 1024}}'
    refused(post(daemon, "/api/v1/quotas/www", content=quota, method="PUT"), "cpu")
    with daemon.client() as c:
        assert c.get_quota("www").quota.cpu == 0


def test_a_quota_cannot_be_increased_past_its_bound(daemon: Daemon) -> None:
    big = {"cpu": 1e9, "ram_mb": 1024, "disk_mb": 1024}
    assert post(daemon, "/api/v1/quotas/bigrole", big, method="PUT").status_code == 200
    refused(post(daemon, "/api/v1/quotas/bigrole/increase", big), "cpu would be 2e+09 cores")
    with daemon.client() as c:
        assert c.get_quota("bigrole").quota.cpu == 1e9


def test_long_messages_are_refused(daemon: Daemon, tmp_path: Path) -> None:
    wire = job_wire(tmp_path, "chatty", "sleep 600", service=True)
    assert post(daemon, "/api/v1/jobs", {"job": wire}).status_code == 201
    job = "/api/v1/jobs/www/test/chatty"
    refused(post(daemon, job + "/kill", {"message": "x" * 4097}), "message")
    refused(post(daemon, "/api/v1/updates", {"job": wire, "message": "x" * 4097}), "message")
    refused(post(daemon, job + "/restart", {"batch_size": 10**9}), "batch_size")
    refused(post(daemon, job + "/instances", {"template_instance": 0, "count": 10**9}),
            "count")
    assert post(daemon, job + "/kill", {"message": "x" * 4096}).status_code == 200


def test_a_stored_infinite_quota_is_answered_and_shown_without_a_traceback(
        daemon: Daemon, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    # What a scheduler that did not bound quotas may have stored.
    assert post(daemon, "/api/v1/quotas/legacy", {"cpu": 1, "ram_mb": 1, "disk_mb": 1},
                method="PUT").status_code == 200
    with sqlite3.connect(daemon.work_dir / "scheduler.db") as db:
        db.execute("UPDATE quotas SET cpu = 9e999 WHERE role = 'legacy'")
    answer = httpx.get(daemon.url + "/api/v1/quotas/legacy", timeout=10,
                       headers={"Authorization": f"Bearer {daemon.token()}"})
    assert answer.status_code == 200 and answer.json()["quota"]["cpu"] == 1e9
    daemon.as_devcluster(tmp_path, monkeypatch)
    assert aurora_main(["quota", "get", "devcluster/legacy"]) == 0
    assert "Traceback" not in capsys.readouterr().err
    assert admin_main(["increase-quota", "devcluster", "legacy", "1", "1GB", "1GB"]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "more than the largest quota" in err[0], err
    assert admin_main(["increase-quota", "devcluster", "legacy", "inf", "1GB", "1GB"]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "finite" in err[0], err
    # set-quota replaces it, and the role is healthy again.
    assert admin_main(["set-quota", "devcluster", "legacy", "2", "1GB", "1GB"]) == 0
    assert "quota CPU 2" in capsys.readouterr().out
