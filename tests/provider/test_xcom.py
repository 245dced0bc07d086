"""Results for XCom: what a job's processes write to ``$AURORA_XCOM_FILE`` (or
``{{thermos.xcom}}``) becomes AuroraRunJobOperator's return value, one per instance; the
scheduler's ``/tasks/{id}/xcom`` route serves it, with its size limit."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aurora_provider.api import NotFound, TaskNotFound
from aurora_provider.api.errors import XcomTooLarge
from aurora_provider.api.models import XCOM_MAX_BYTES, JobStatus
from aurora_provider.config import job_to_wire, load_source
from tests.daemon import Daemon
from tests.eventually import eventually
from tests.provider.conftest import DagOutcome, run_dag

pytestmark = pytest.mark.integration
LOCAL = pytest.mark.parametrize("scheduler", ["local"], indirect=True)

DAGS = Path(__file__).with_name("dags")
XCOM_DAGS = DAGS / "xcom.py"
NAMES = ("xcom_env", "xcom_template", "xcom_nothing", "xcom_not_pushed", "xcom_malformed",
         "xcom_sizes", "xcom_silent")


def key(name: str) -> str:
    return f"devcluster/www-data/test/{name}"


@pytest.fixture(scope="module")
def leftovers_killed(scheduler: Daemon) -> Iterator[None]:
    yield
    with scheduler.client() as client:
        for name in NAMES:
            with contextlib.suppress(NotFound):
                client.killall(key(name))


def xcoms(airflow_home: Path, dag_id: str) -> dict[str, Any]:
    with sqlite3.connect(airflow_home / "airflow.db") as db:
        rows = db.execute("SELECT task_id, value FROM xcom WHERE dag_id = ? AND key = ?",
                          (dag_id, "return_value")).fetchall()
    return {task: json.loads(value) for task, value in rows}


@LOCAL
def test_each_instance_result_becomes_the_return_value(
    airflow_env: dict[str, str], airflow_home: Path, scheduler: Daemon, leftovers_killed: None,
) -> None:
    outcome = run_dag({**airflow_env, "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS)}, XCOM_DAGS,
                      "aurora_test_xcom")
    assert outcome.state == "success", outcome.output[-6000:]
    pushed = xcoms(airflow_home, "aurora_test_xcom")
    assert pushed["by_env"] == {"0": {"instance": 0}, "1": {"instance": 1}}
    # One instance still answers keyed by instance; the template named the same file.
    with scheduler.client() as client:
        (task,) = client.job_status(key("xcom_template")).terminal
    assert pushed["by_template"] == {"0": {"via": task.task_id}}
    # None written: the usual summary of the run.
    assert pushed["nothing"]["job_key"] == key("xcom_nothing")
    assert pushed["nothing"]["instances"] == {"0": "FINISHED"}
    assert "not_pushed" not in pushed


@LOCAL
def test_malformed_json_fails_the_task_naming_it_and_the_file(
    airflow_env: dict[str, str], scheduler: Daemon, leftovers_killed: None,
) -> None:
    outcome: DagOutcome = run_dag({**airflow_env, "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS)},
                                  XCOM_DAGS, "aurora_test_xcom_malformed")
    assert outcome.tasks == {"malformed": "failed"}
    with scheduler.client() as client:
        (task,) = client.job_status(key("xcom_malformed")).terminal
    assert (f"malformed: instance 0 of {key('xcom_malformed')} (task {task.task_id}) wrote "
            "malformed JSON to $AURORA_XCOM_FILE (.aurora/xcom.json in the sandbox): "
            "Expecting value: line 2 column 1") in outcome.output


def run_to_the_end(scheduler: Daemon, name: str, cmdline: str, instances: int = 1
                   ) -> dict[int, str]:
    """Run a job straight through the API; each instance's task id once all FINISHED."""
    text = (f"jobs = [Job(cluster='devcluster', role='www-data', environment='test', "
            f"name='{name}', instances={instances}, task=Task(processes=[Process(name='work', "
            f"cmdline='''{cmdline}''')], resources=Resources(cpu=0.1, ram=16*MB, disk=16*MB)))]")
    job = load_source(text, name="<test>").pick(key(name))
    with scheduler.client() as client:
        client.create_job(job_to_wire(job))

        def finished() -> JobStatus | None:
            status = client.job_status(key(name))
            done = [t for t in status.terminal if t.status == "FINISHED"]
            assert not [t for t in status.terminal if t.status != "FINISHED"], status
            return status if len(done) == instances else None

        status = eventually(finished, timeout=60, what=f"{name} to finish")
    return {t.instance: t.task_id for t in status.terminal}


@pytest.mark.parametrize("scheduler", ["local", "mesos"], indirect=True)
def test_the_route_serves_the_result_up_to_its_limit(
    scheduler: Daemon, leftovers_killed: None,
) -> None:
    # Instance 0 writes exactly the limit, instance 1 one byte more.
    tasks = run_to_the_end(
        scheduler, "xcom_sizes",
        f'head -c $(({XCOM_MAX_BYTES} + {{{{mesos.instance}}}})) /dev/zero | tr "\\\\0" 7 '
        '> "$AURORA_XCOM_FILE"', instances=2)
    silent = run_to_the_end(scheduler, "xcom_silent", "true")
    with scheduler.client() as client:
        at_limit = client.task_xcom(tasks[0])
        assert (at_limit.present, at_limit.size) == (True, XCOM_MAX_BYTES)
        assert at_limit.content == "7" * XCOM_MAX_BYTES
        with pytest.raises(XcomTooLarge) as over:
            client.task_xcom(tasks[1])
        assert str(over.value) == (
            f"task {tasks[1]}: its result file .aurora/xcom.json holds {XCOM_MAX_BYTES + 1} "
            f"bytes, over the limit of {XCOM_MAX_BYTES} bytes: write a smaller result (a path "
            "or URL to the data) (XCOM_TOO_LARGE, HTTP 413)")
        none = client.task_xcom(silent[0])
        assert (none.present, none.size, none.content) == (False, 0, None)
        with pytest.raises(TaskNotFound):
            client.task_xcom("www-data-test-xcom_silent-0-no-such-task")
