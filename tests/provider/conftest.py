"""A real Airflow (migrated SQLite in tmp) next to a real ``aurora-scheduler`` daemon.

DAGs run with ``dag.test()`` in a subprocess (``dag_runner.py``) so that each run gets a
fresh Airflow process, as a worker would; the provider is found through its entry points.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.daemon import Daemon, mesos_flags
from tests.mesos_cluster.cluster import MesosCluster
from tests.zookeeper import ZooKeeperServer

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "dags_examples"
RUNNER = Path(__file__).with_name("dag_runner.py")


@dataclass
class DagOutcome:
    state: str
    tasks: dict[str, str]
    output: str


@pytest.fixture(scope="session", params=["local", "mesos"])
def scheduler(request: pytest.FixtureRequest,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    """The scheduler the DAGs talk to: on the local backend, and on the test Mesos cluster
    (3 agents, masters found through ZooKeeper): the operators work unchanged on both."""
    base = tmp_path_factory.mktemp(f"provider-scheduler-{request.param}")
    if request.param == "local":
        daemon = Daemon(base / "work", base / "home", [])
        daemon.start()
        try:
            yield daemon
        finally:
            daemon.stop()
            daemon.kill_runners()
        return
    zookeeper: ZooKeeperServer = request.getfixturevalue("zookeeper")
    with MesosCluster(base / "mesos", agents=3, zk=zookeeper.hosts,
                      zk_path="/mesos-provider") as cluster:
        daemon = Daemon(base / "work", base / "home", mesos_flags(cluster, base))
        daemon.start()
        try:
            yield daemon
        finally:
            daemon.stop()


@pytest.fixture(scope="session")
def airflow_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("airflow-home")
    env = {**os.environ, **_airflow_settings(home)}
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], env=env, check=True,
                   capture_output=True, timeout=300)
    return home


def _airflow_settings(home: Path) -> dict[str, str]:
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(EXAMPLES),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
    }


def connection_json(url: str, token: str | None) -> str:
    return json.dumps({"conn_type": "aurora", "host": url, "password": token,
                       "extra": {"cluster": "devcluster"}})


@pytest.fixture
def airflow_env(airflow_home: Path, scheduler: Daemon) -> dict[str, str]:
    return {
        **os.environ,
        **_airflow_settings(airflow_home),
        "AURORA_HOME": str(scheduler.home),
        "AIRFLOW_CONN_AURORA_DEFAULT": connection_json(scheduler.url, scheduler.token()),
    }


def run_dag(env: dict[str, str], dag_file: Path, dag_id: str, timeout: float = 600) -> DagOutcome:
    result = subprocess.run([sys.executable, str(RUNNER), str(dag_file), dag_id], env=env,
                            capture_output=True, text=True, timeout=timeout, check=False)
    output = result.stdout + result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    if result.returncode != 0 or not lines:
        raise AssertionError(f"dag.test() of {dag_id} crashed:\n{output[-6000:]}")
    outcome = json.loads(lines[-1])
    return DagOutcome(outcome["state"], outcome["tasks"], output)
