"""A worker that dies mid-run, under a real Airflow (``airflow standalone``: api-server,
scheduler with LocalExecutor, dag-processor, triggerer): the retry reattaches to the job
the first try started instead of failing on it or starting it again."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from aurora_provider.api.errors import JobNotFound
from tests.daemon import Daemon, free_port
from tests.eventually import eventually
from tests.provider.conftest import _airflow_settings, connection_json

pytestmark = pytest.mark.integration
DAG_ID = "aurora_test_worker_death"
JOB = "devcluster/www-data/test/survivor"
DAG_FILE = Path(__file__).with_name("dags") / "worker_death.py"


class Standalone:
    """``airflow standalone`` in its own home and session, every user an admin."""

    def __init__(self, home: Path, scheduler: Daemon) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.pids = home / "pids"
        self.pids.mkdir(parents=True)
        dags = home / "dags"
        dags.mkdir()
        shutil.copy(DAG_FILE, dags)
        self.log = home / "standalone.log"
        self.env = {
            **os.environ, **_airflow_settings(home),
            "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__BASE_URL": self.url,
            "AIRFLOW__API_AUTH__JWT_SECRET": "aurora-worker-death-secret",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "2",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
            "AURORA_HOME": str(scheduler.home),
            "AURORA_TEST_PID_DIR": str(self.pids),
            "AIRFLOW_CONN_AURORA_DEFAULT": connection_json(scheduler.url, scheduler.token()),
        }
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(["airflow", "standalone"], env=self.env, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        eventually(self._dag_parsed, timeout=180, interval=0.5, what="the DAG in Airflow")

    def _dag_parsed(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise AssertionError(f"standalone exited: {self.log.read_text()[-3000:]}")
        try:
            return httpx.get(f"{self.url}/api/v2/dags/{DAG_ID}", timeout=5).status_code == 200
        except httpx.HTTPError:
            return False

    def api(self, method: str, path: str, **kw: Any) -> Any:
        response = httpx.request(method, f"{self.url}/api/v2{path}", timeout=30, **kw)
        assert response.status_code < 300, f"{method} {path}: {response.text}"
        return response.json()

    def stop(self) -> None:
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=20)
        with contextlib.suppress(ProcessLookupError):  # task runners and workers too
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()


@pytest.fixture
def airflow(tmp_path: Path, scheduler: Daemon) -> Iterator[Standalone]:
    standalone = Standalone(tmp_path / "airflow", scheduler)
    standalone.start()
    try:
        yield standalone
    finally:
        standalone.stop()


@pytest.mark.parametrize("scheduler", ["local"], indirect=True)
def test_the_retry_after_a_dead_worker_reattaches(airflow: Standalone,
                                                  scheduler: Daemon) -> None:
    run_id = airflow.api("POST", f"/dags/{DAG_ID}/dagRuns",
                         json={"logical_date": None})["dag_run_id"]
    first_try = airflow.pids / "try1"
    with scheduler.client() as client:
        eventually(lambda: first_try.exists() and client.job_summary(JOB).active.get(
            "RUNNING") == 1, timeout=120, what="the first try's job RUNNING",
                   ignore=(JobNotFound,))
        started = [t.task_id for t in client.job_status(JOB).active]
    os.kill(int(first_try.read_text()), signal.SIGKILL)  # the worker dies mid-run

    def ended() -> Any:
        ti = airflow.api("GET", f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/run")
        return ti if ti["state"] in ("success", "failed") else None

    ti = eventually(ended, timeout=180, interval=0.5, what="the task instance ended")
    assert (ti["state"], ti["try_number"]) == ("success", 2), ti
    with scheduler.client() as client:
        status = client.job_status(JOB)
    # One run of the job: the one the first try started, finished, never a second.
    assert [t.task_id for t in status.terminal] == started, status
    assert [t.status for t in status.terminal] == ["FINISHED"], status
    assert not status.active, status
