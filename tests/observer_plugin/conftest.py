"""The real parts the plugin tests drive: a scheduler daemon (local backend, with its
observer) running one job whose process prints a known line, and one ``airflow api-server``
per auth manager with the plugin loaded through its entry point."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from aurora_provider.config import job_to_wire, load
from tests.daemon import Daemon, free_port
from tests.eventually import eventually
from tests.observer_plugin.servers import ApiServer

MARKER = "aurora-ui-marker-7f3a"
JOB = "devcluster/www/test/ui-demo"
# The process prints the marker and an HTML fragment (which must be shown escaped), leaves a
# text file and a binary file in the sandbox, then stays up.
AURORA = textwrap.dedent(f"""
    main = Process(name='main', min_duration=0, cmdline=(
        "echo {MARKER}; echo '<b>not bold</b>'; mkdir -p data; echo hello > data/note.txt; "
        "printf '\\\\000\\\\001\\\\002binary' > data/blob.bin; exec sleep 3600"))
    task = Task(processes=[main], resources=Resources(cpu=0.01, ram=8*MB, disk=8*MB))
    jobs = [Service(cluster='devcluster', role='www', environment='test', name='ui-demo',
                    task=task, instances=2)]
""")


@dataclass
class RunningJob:
    key: str
    task_id: str
    path: Path  # the .aurora file


@pytest.fixture(scope="session")
def aurora_scheduler(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    base = tmp_path_factory.mktemp("ui-scheduler")
    # Its own observer port: other suites may run a scheduler with the default 1338.
    daemon = Daemon(base / "work", base / "home", ["--observer-listen", f"127.0.0.1:{free_port()}"])
    daemon.start()
    try:
        yield daemon
    finally:
        daemon.stop()
        daemon.kill_runners()


@pytest.fixture(scope="session")
def running_job(aurora_scheduler: Daemon, tmp_path_factory: pytest.TempPathFactory) -> RunningJob:
    path = tmp_path_factory.mktemp("ui-job") / "ui_demo.aurora"
    path.write_text(AURORA)
    wire = job_to_wire(load(str(path)).pick(JOB))
    with aurora_scheduler.client() as client:
        client.create_job(wire)

        def running() -> str | None:
            status = client.job_status(JOB)
            ids = [t.task_id for t in status.active
                   if t.instance == 0 and t.status.value == "RUNNING"]
            return ids[0] if ids else None

        task_id = eventually(running, timeout=60, interval=0.1, what=f"{JOB} RUNNING")
        logs_ready = eventually(lambda: MARKER in client.task_log(task_id, "main", 0),
                                timeout=30, interval=0.1, what="the marker in stdout")
    assert logs_ready
    return RunningJob(JOB, str(task_id), path)


@pytest.fixture(scope="session", params=["simple", "fab"])
def api_server(request: pytest.FixtureRequest, aurora_scheduler: Daemon,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    home = tmp_path_factory.mktemp(f"airflow-{request.param}")
    server = ApiServer(home, request.param, aurora_scheduler.url, aurora_scheduler.token(),
                       aurora_scheduler.home)
    server.prepare()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def session_token(api_server: ApiServer) -> str:
    return api_server.token()


@pytest.fixture
def http(api_server: ApiServer, session_token: str) -> Iterator[httpx.Client]:
    """An authenticated client of the api-server (the token as a Bearer header)."""
    with httpx.Client(base_url=api_server.url, timeout=30,
                      headers={"Authorization": f"Bearer {session_token}"}) as client:
        yield client
