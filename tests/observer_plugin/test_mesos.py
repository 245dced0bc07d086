"""The plugin's pages with the Mesos backend: a service of two instances on two agents of the
test Mesos cluster (each running the real executor), shown through a real ``airflow
api-server`` (SimpleAuthManager) whose task, log and sandbox pages come from the observer of
the agent each task runs on (see ``mesos_world``)."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from aurora_provider.api.models import TaskModel
from aurora_provider.config import job_to_wire, load
from tests.daemon import Daemon
from tests.eventually import eventually
from tests.observer_plugin.mesos_world import AGENT_HOSTNAMES, MesosUiWorld
from tests.zookeeper import ZooKeeperServer

pytestmark = pytest.mark.integration

MARKER = "aurora-mesos-ui-marker-51c2"
JOB = "devcluster/www/test/ui-mesos"
# One instance per agent (host limit 1); the process prints the marker, leaves a file in
# its sandbox and stays up.
AURORA = textwrap.dedent(f"""
    main = Process(name='main', min_duration=0, cmdline=(
        "echo {MARKER}; mkdir -p data; echo hello from mesos > data/note.txt; "
        "exec sleep 3600"))
    task = Task(processes=[main], resources=Resources(cpu=0.01, ram=8*MB, disk=8*MB))
    jobs = [Service(cluster='devcluster', role='www', environment='test', name='ui-mesos',
                    task=task, instances=2, constraints={{'host': 'limit:1'}})]
""")


@dataclass
class Deployed:
    world: MesosUiWorld
    tasks: list[TaskModel]  # the job's RUNNING tasks, by instance


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory,
             zookeeper: ZooKeeperServer) -> Iterator[Deployed]:
    root = tmp_path_factory.mktemp("mesos-ui")
    path = root / "ui_mesos.aurora"
    path.write_text(AURORA)
    running: list[TaskModel] = []

    def deploy(daemon: Daemon) -> None:
        """Create the job and wait until both instances run and printed the marker."""
        with daemon.client() as client:
            client.create_job(job_to_wire(load(str(path)).pick(JOB)))

            def both_running() -> list[TaskModel]:  # empty until both run
                tasks = [t for t in client.job_status(JOB).active if t.status.value == "RUNNING"]
                return sorted(tasks, key=lambda t: t.instance) if len(tasks) == 2 else []

            tasks = eventually(both_running, timeout=60, interval=0.1,
                               what=f"{JOB}'s 2 instances RUNNING on Mesos")
            for task in tasks:
                def printed(task_id: str = task.task_id) -> bool:
                    return MARKER in client.task_log(task_id, "main", 0)

                eventually(printed, timeout=30, interval=0.1,
                           what=f"the marker in {task.task_id}'s stdout")
            running.extend(tasks)

    with MesosUiWorld(root, zookeeper, deploy) as world:
        yield Deployed(world, running)


@pytest.fixture(scope="module")
def token(deployed: Deployed) -> str:
    assert deployed.world.api is not None
    return deployed.world.api.token()


@pytest.fixture
def http(deployed: Deployed, token: str) -> Iterator[httpx.Client]:
    assert deployed.world.api is not None
    with httpx.Client(base_url=deployed.world.api.url, timeout=30,
                      headers={"Authorization": f"Bearer {token}"}) as client:
        yield client


def test_the_scheduler_names_each_agents_observer(deployed: Deployed,
                                                  http: httpx.Client) -> None:
    with deployed.world.daemon.client() as client:
        assert client.cluster().observer_url == deployed.world.observer_url
    # One instance on each agent, each known by its agent's hostname.
    assert sorted(t.host or "" for t in deployed.tasks) == sorted(AGENT_HOSTNAMES)
    for task in deployed.tasks:
        mesos_task = deployed.world.cluster.task(task.task_id)
        assert mesos_task is not None and mesos_task["hostname"] == task.host
        assert mesos_task["state"] == "TASK_RUNNING"


def test_cluster_page_lists_the_role_and_job(http: httpx.Client) -> None:
    page = http.get("/aurora/")
    assert page.status_code == 200, page.text
    for part in ("Cluster devcluster", "www", "ui-mesos", "RUNNING"):
        assert part in page.text, part
    role = http.get("/aurora/roles/www")
    assert role.status_code == 200 and "ui-mesos" in role.text


def row_of(html: str, task_id: str) -> str:
    """The table row that links to the task's page."""
    rows = re.findall(r"<tr>.*?</tr>", html, re.S)
    found = [row for row in rows if f'href="/aurora/tasks/{task_id}"' in row]
    assert len(found) == 1, (task_id, html)
    return str(found[0])


def test_job_page_shows_both_instances_on_their_agents(deployed: Deployed,
                                                       http: httpx.Client) -> None:
    page = http.get(f"/aurora/jobs/{JOB}")
    assert page.status_code == 200, page.text
    assert "Instances (2 active)" in page.text
    for task in deployed.tasks:
        row = row_of(page.text, task.task_id)
        assert f"<td>{task.instance}</td>" in row and ">RUNNING<" in row, row
        assert f"<td>{task.host}</td>" in row, row  # its agent's hostname
    assert "Configuration" in page.text and MARKER in page.text  # the process's cmdline


def test_task_page_shows_main_and_its_runs_from_the_agents_observer(
        deployed: Deployed, http: httpx.Client) -> None:
    for task in deployed.tasks:
        page = http.get(f"/aurora/tasks/{task.task_id}")
        assert page.status_code == 200, page.text
        assert "Observer:" not in page.text, page.text  # its agent's observer answered
        assert f"<tr><th>Host</th><td>{task.host}</td></tr>" in page.text
        assert ">main<" in page.text and ">RUNNING<" in page.text
        run = re.search(r"<td>0</td><td>RUNNING</td><td>(\d+)</td>", page.text)
        assert run is not None, page.text  # run 0, running, with its pid
        assert f"/aurora/tasks/{task.task_id}/logs/main/0/stdout" in page.text
        assert f'href="/aurora/tasks/{task.task_id}/browse"' in page.text  # the sandbox


def test_log_tail_shows_the_marker_and_follows(deployed: Deployed,
                                               http: httpx.Client) -> None:
    for task in deployed.tasks:
        page = http.get(f"/aurora/tasks/{task.task_id}/logs/main/0/stdout")
        assert page.status_code == 200, page.text
        assert MARKER in page.text and 'id="follow"' in page.text
        chunk = http.get(f"/aurora/api/tasks/{task.task_id}/logs/main/0/stdout",
                         params={"offset": 0}).json()
        assert MARKER in chunk["data"] and chunk["offset"] == 0


def test_sandbox_browse_file_and_download(deployed: Deployed, http: httpx.Client) -> None:
    for task in deployed.tasks:
        listing = http.get(f"/aurora/tasks/{task.task_id}/browse")
        assert listing.status_code == 200, listing.text
        assert "data/" in listing.text
        inner = http.get(f"/aurora/tasks/{task.task_id}/browse/data")
        assert inner.status_code == 200 and "note.txt" in inner.text
        note = http.get(f"/aurora/tasks/{task.task_id}/file/data/note.txt")
        assert note.status_code == 200 and "hello from mesos" in note.text
        download = http.get(f"/aurora/tasks/{task.task_id}/download/data/note.txt")
        assert download.status_code == 200 and download.content == b"hello from mesos\n"


def message_line(html: str) -> str:
    found = re.search(r'<p class="(?:message|problem)">(.*?)</p>', html, re.S)
    assert found is not None, html
    return found.group(1)


def test_an_unreachable_observer_is_one_line_not_a_500(deployed: Deployed,
                                                       http: httpx.Client) -> None:
    world = deployed.world
    task = deployed.tasks[0]
    observer = f"http://{task.host}:{world.observer.port}"
    world.observer.stop()
    try:
        page = http.get(f"/aurora/tasks/{task.task_id}")
        # The page still shows the task, with the processes the scheduler recorded.
        assert page.status_code == 200, page.text
        line = message_line(page.text)
        assert line.startswith(f"Observer: the observer at {observer} did not answer"), line
        assert "\n" not in line and "Processes below are the scheduler's record" in line
        assert ">main<" in page.text
        browse = http.get(f"/aurora/tasks/{task.task_id}/browse")
        assert browse.status_code == 502 and "Observer unavailable" in browse.text
        line = message_line(browse.text)
        assert line.startswith(f"the observer at {observer} did not answer"), line
        assert "\n" not in line and "Traceback" not in browse.text
        # The log page shows the scheduler's copy of the log's end, read from the agent.
        log = http.get(f"/aurora/tasks/{task.task_id}/logs/main/0/stdout")
        assert log.status_code == 200 and MARKER in log.text and 'id="follow"' not in log.text
        assert message_line(log.text).startswith(f"Observer: the observer at {observer}")
        chunk = http.get(f"/aurora/api/tasks/{task.task_id}/logs/main/0/stdout")
        assert chunk.status_code == 502
        assert chunk.json()["error"].startswith(f"the observer at {observer} did not answer")
    finally:
        world.observer.start()
