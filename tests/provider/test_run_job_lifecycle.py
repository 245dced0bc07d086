"""AuroraRunJobOperator's lifecycle against the real scheduler: a retry reattaches to the job
its first try left running, finish actions, one job per mapped instance, a sensor that
reschedules, and the connection's Test button."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sqlite3
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowFailException

from aurora_provider.api import NotFound
from aurora_provider.api.models import JobStatus
from aurora_provider.config import job_to_wire, load_source
from aurora_provider.hooks.aurora import AuroraHook
from aurora_provider.operators.base import AuroraJobLink
from aurora_provider.operators.job import AuroraRunJobOperator
from aurora_provider.operators.run_identity import TryIdentity, suffixed_key, with_identity
from tests.daemon import Daemon
from tests.eventually import eventually
from tests.provider.conftest import (
    EXAMPLES,
    DagOutcome,
    _airflow_settings,
    connection_json,
    run_dag,
)

pytestmark = pytest.mark.integration
# The lifecycle is the operator's, not the backend's: the local scheduler is enough.
LOCAL = pytest.mark.parametrize("scheduler", ["local"], indirect=True)

DAGS = Path(__file__).with_name("dags")
LIFECYCLE = DAGS / "lifecycle.py"  # aurora_test_lifecycle
SHORT = """
jobs = [Job(
  cluster='devcluster', role='www-data', environment='test', name='NAME',
  task=Task(processes=[Process(name='work', cmdline='CMD')],
            resources=Resources(cpu=0.1, ram=16*MB, disk=16*MB)),
)]
"""


def lifecycle_env(airflow_env: dict[str, str]) -> dict[str, str]:
    return {**airflow_env, "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS)}


def short_job(name: str, cmdline: str, started_by: TryIdentity | None = None) -> dict[str, Any]:
    text = SHORT.replace("NAME", name).replace("CMD", cmdline)
    job = load_source(text, name="<test>").pick(f"devcluster/www-data/test/{name}")
    return job_to_wire(with_identity(job, started_by) if started_by else job)


def kill_leftovers(scheduler: Daemon, key: str) -> None:
    with scheduler.client() as client, contextlib.suppress(NotFound):  # none left active
        client.killall(key)


KEYS = {name: f"devcluster/www-data/test/{name}"
        for name in ("reattached", "foreign", "half_fails", "sensed")}


@pytest.fixture(scope="module")
def lifecycle(airflow_home: Path, scheduler: Daemon,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[DagOutcome]:
    """``aurora_test_lifecycle`` run once; its tests look at the outcome and the scheduler.

    The sensed job ends only when told to (a file appears), once the sensor has given its
    slot back at least once: its first poke cannot find it finished.
    """
    go = tmp_path_factory.mktemp("sensed") / "go"
    other = TryIdentity("aurora_test_lifecycle", "manual__earlier", "foreign", -1, 1)
    with scheduler.client() as client:
        client.create_job(short_job("foreign", "sleep 600", other))
        client.create_job(short_job("sensed", f"while [ ! -e {go} ]; do sleep 0.1; done"))
    env = {**os.environ, **_airflow_settings(airflow_home), "AURORA_HOME": str(scheduler.home),
           "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
           "AIRFLOW_CONN_AURORA_DEFAULT": connection_json(scheduler.url, scheduler.token())}
    try:
        with ThreadPoolExecutor(1) as pool:
            running = pool.submit(run_dag, env, LIFECYCLE, "aurora_test_lifecycle")
            eventually(lambda: running.done() or sensor_reschedules(airflow_home) > 0,
                       timeout=120, ignore=(sqlite3.OperationalError,),
                       what="the sensor to reschedule")
            go.touch()
            yield running.result()
    finally:
        go.touch()
        for key in KEYS.values():
            kill_leftovers(scheduler, key)


def sensor_reschedules(airflow_home: Path) -> int:
    with sqlite3.connect(airflow_home / "airflow.db", timeout=1) as db:
        (count,) = db.execute(
            "SELECT count(*) FROM task_reschedule WHERE ti_id IN (SELECT id FROM task_instance"
            " WHERE dag_id = 'aurora_test_lifecycle' AND task_id = 'sensor')").fetchone()
    return int(count)


@LOCAL
def test_a_retry_reattaches_to_the_job_its_first_try_left_running(
    lifecycle: DagOutcome, scheduler: Daemon
) -> None:
    key = KEYS["reattached"]
    assert lifecycle.tasks["reattach"] == "success", lifecycle.output[-4000:]
    assert "simulated: the worker of try 1 died" in lifecycle.output
    assert f"reattached to {key}, started by aurora_test_lifecycle/" in lifecycle.output
    assert "/reattach try 1: waiting on" in lifecycle.output
    assert "work done" in lifecycle.output  # the logs of the job it waited on
    with scheduler.client() as client:
        status = client.job_status(key)
        newest = client.job_configs(key, 1).configs[0].job
    # One task, created by try 1: try 2 neither restarted it nor made a second one.
    assert not status.active
    assert [t.status for t in status.terminal] == ["FINISHED"]
    assert newest is not None
    started_by = TryIdentity.from_metadata(e.model_dump() for e in newest.task.metadata)
    assert started_by is not None
    assert (started_by.dag_id, started_by.task_id, started_by.map_index,
            started_by.try_number) == ("aurora_test_lifecycle", "reattach", -1, 1)


@LOCAL
def test_a_job_of_another_run_is_not_reattached(lifecycle: DagOutcome,
                                                scheduler: Daemon) -> None:
    key = KEYS["foreign"]
    assert lifecycle.tasks["foreign"] == "failed"
    assert f"create {key}:" in lifecycle.output  # if_running='fail', as without reattach
    assert f"reattached to {key}" not in lifecycle.output
    with scheduler.client() as client:
        assert len(client.job_status(key).active) == 1  # left alone


@LOCAL
def test_finish_action_kill_stops_what_still_runs_when_the_job_failed(
    lifecycle: DagOutcome, scheduler: Daemon
) -> None:
    key = KEYS["half_fails"]
    assert lifecycle.tasks["finish_kill"] == "failed"
    assert f"{key}: instance 0 FAILED" in lifecycle.output
    assert f"killed 1 task(s) of {key}" in lifecycle.output
    with scheduler.client() as client:

        def all_ended() -> JobStatus | None:
            status = client.job_status(key)
            return None if status.active else status

        status = eventually(all_ended, timeout=30, what=f"{key}'s instance 1 killed")
    assert sorted((t.instance, t.status) for t in status.terminal) == [
        (0, "FAILED"), (1, "KILLED")]


@LOCAL
def test_a_rescheduling_sensor_gives_its_slot_back_between_pokes(
    lifecycle: DagOutcome, airflow_home: Path, scheduler: Daemon
) -> None:
    assert lifecycle.tasks["sensor"] == "success", lifecycle.output[-4000:]
    assert sensor_reschedules(airflow_home) >= 1
    with scheduler.client() as client:
        assert [t.status for t in client.job_status(KEYS["sensed"]).terminal] == ["FINISHED"]


@LOCAL
def test_mapped_instances_run_one_job_each_then_prune_it(
    airflow_env: dict[str, str], airflow_home: Path, scheduler: Daemon
) -> None:
    outcome = run_dag(airflow_env, EXAMPLES / "mapped_runs.py", "aurora_mapped_runs")
    assert outcome.state == "success", outcome.output[-4000:]
    keys = [f"devcluster/www-data/test/crunch_part_{i}" for i in range(3)]
    for key in keys:
        assert f"running {key}:" in outcome.output
        assert f"pruned 1 task(s) of {key}" in outcome.output
    for part in ("north", "south", "west"):
        assert f"crunching part {part}" in outcome.output
    with scheduler.client() as client:
        for key in keys:  # pruned: the scheduler keeps none of their tasks
            try:
                status = client.job_status(key)
            except NotFound:
                continue
            assert not status.active and not status.terminal
    with sqlite3.connect(airflow_home / "airflow.db") as db:
        rows = db.execute("SELECT map_index, value FROM xcom WHERE dag_id = ? AND key = ?",
                          ("aurora_mapped_runs", AuroraJobLink().xcom_key)).fetchall()
    links = {index: json.loads(value) for index, value in rows}
    assert links == {i: f"/aurora/jobs/{key}" for i, key in enumerate(keys)}


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@LOCAL
def test_connection_test_button(monkeypatch: pytest.MonkeyPatch, scheduler: Daemon) -> None:
    def tested(url: str, token: str, cluster: str = "devcluster") -> tuple[bool, str]:
        conn = json.loads(connection_json(url, token))
        conn["extra"]["cluster"] = cluster
        monkeypatch.setenv("AIRFLOW_CONN_AURORA_BUTTON", json.dumps(conn))
        return AuroraHook("aurora_button").test_connection()

    ok, message = tested(scheduler.url, scheduler.token())
    assert ok, message
    assert "cluster 'devcluster'" in message and "(admin)" in message
    ok, message = tested(scheduler.url, "not-a-valid-token")
    assert not ok and "refused the API token" in message
    url = f"http://127.0.0.1:{closed_port()}"
    ok, message = tested(url, "some-token")
    assert not ok and f"cannot reach the scheduler at {url}" in message
    ok, message = tested(scheduler.url, scheduler.token(), cluster="west")
    assert not ok and "runs cluster 'devcluster', but the connection's cluster is 'west'" \
        in message
    assert "\n" not in message


def test_prune_with_a_token_that_is_not_admin_fails_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    auth = tmp_path / "auth.json"
    auth.write_text(json.dumps({"tokens": {"alice-token": {
        "user": "alice", "roles": ["www-data"], "admin": False}}}))
    auth.chmod(0o600)
    daemon = Daemon(tmp_path / "work", tmp_path / "home", ["--auth-file", str(auth)])
    daemon.start()
    try:
        monkeypatch.setenv("AIRFLOW_CONN_AURORA_ALICE", connection_json(daemon.url, "alice-token"))
        op = AuroraRunJobOperator(task_id="run", job_key="devcluster/www-data/test/p",
                                  config=SHORT, aurora_conn_id="aurora_alice",
                                  on_finish_action="prune")
        ti = SimpleNamespace(dag_id="d", run_id="r", task_id="run", map_index=-1, try_number=1)
        with pytest.raises(AirflowFailException) as failed:
            op.execute({"ti": ti})
        assert str(failed.value) == (
            "run: on_finish_action='prune' needs an admin token (the scheduler lets only "
            "admin prune tasks); 'alice' is not admin: use 'keep' or 'kill'")
        # Refused before anything was created.
        with daemon.client("alice-token") as client, pytest.raises(NotFound):
            client.job_summary("devcluster/www-data/test/p")
    finally:
        daemon.stop()


def test_the_connection_form_shows_only_what_the_hook_reads() -> None:
    behaviour = AuroraHook.get_ui_field_behaviour()
    assert set(behaviour["hidden_fields"]) == {"schema", "login", "port", "extra"}
    assert behaviour["relabeling"] == {"host": "Scheduler URL", "password": "API token"}
    assert "host" in behaviour["placeholders"]


def test_bad_finish_action_is_refused_when_the_dag_is_parsed() -> None:
    with pytest.raises(ValueError, match=r"on_finish_action must be one of .* not 'delete'"):
        AuroraRunJobOperator(task_id="run", job_key="devcluster/r/e/n", config="",
                             on_finish_action="delete")


def test_identity_round_trips_through_metadata_and_ignores_the_try() -> None:
    text = SHORT.replace("NAME", "n").replace("CMD", "true").replace(
        "task=Task(", "metadata=[Metadata(key='team', value='x')], task=Task(")
    job = load_source(text, name="<test>").pick("devcluster/www-data/test/n")
    first = TryIdentity("d", "manual__1", "t", 2, 1)
    again = with_identity(with_identity(job, first), TryIdentity("d", "manual__1", "t", 2, 2))
    entries = job_to_wire(again)["task"]["metadata"]
    assert entries[0] == {"key": "team", "value": "x"}  # the job's own metadata is kept
    read = TryIdentity.from_metadata(entries)
    assert read == TryIdentity("d", "manual__1", "t", 2, 2)
    assert read.same_task_instance(first)
    assert not read.same_task_instance(TryIdentity("d", "manual__1", "t", 3, 2))
    assert TryIdentity.from_metadata(entries[:3]) is None  # part of one is none


def test_mapped_run_keys() -> None:
    op = AuroraRunJobOperator(task_id="run", job_key="c/r/e/crunch", config="")
    assert (op.run_key(-1), op.run_key(4)) == ("c/r/e/crunch", "c/r/e/crunch_4")
    named = AuroraRunJobOperator(task_id="named", job_key="c/r/e/crunch", config="",
                                 job_name_suffix="-daily")
    assert named.run_key(4) == "c/r/e/crunch-daily"
    assert suffixed_key("c/r/e/crunch", "") == "c/r/e/crunch"
