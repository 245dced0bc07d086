"""createJob and the reads over Thrift, each compared with the REST API's answer on the same
daemon: one implementation, two faces."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from aurora_provider.config import job_to_wire, load
from tests.api.thrift.conftest import ADMIN, ALICE, BOB, rest
from tests.daemon import Daemon
from tests.eventually import eventually

pytestmark = pytest.mark.integration

# Uses {{role}}, {{environment}} and {{mesos.instance}}: bound by the executor, so the output
# shows the job ran with the data Thrift carried, not only that something ran.
AURORA = """
hello = Process(name='hello',
                cmdline='echo "hello from {{{{role}}}}/{{{{environment}}}} '
                        'instance {{{{mesos.instance}}}}"; {tail}')
task = Task(name='hello', processes=[hello],
            resources=Resources(cpu={cpu}, ram=8*MB, disk=8*MB))
jobs = [Job(cluster='devcluster', role='www', environment='test', name='{name}', task=task,
            instances=2, service={service}, contact='www@example.com',
            metadata=[Metadata(key='team', value='web')], constraints={{'host': 'limit:2'}})]
"""


def wire_of(tmp_path: Path, name: str, *, tail: str = "true", cpu: float = 0.01,
            service: bool = False) -> dict[str, Any]:
    """The wire form of a ``.aurora`` job, as the REST API takes it."""
    path = tmp_path / f"{name}.aurora"
    path.write_text(textwrap.dedent(AURORA.format(name=name, tail=tail, cpu=cpu,
                                                  service=service)))
    return job_to_wire(load(str(path)).pick(f"devcluster/www/test/{name}"))


def aurora_client_job(ttypes: Any, wire: dict[str, Any]) -> Any:
    """The JobConfiguration Aurora's Python client built for this job: the Thrift fields
    the scheduler reads, and the job's Thermos JSON as the executor's data."""
    key = ttypes.JobKey(role=wire["key"]["role"], environment=wire["key"]["environment"],
                        name=wire["key"]["name"])
    t = wire["task"]
    r = t["resources"]
    task = ttypes.TaskConfig(
        job=key, owner=ttypes.Identity(user="www"), isService=t["is_service"],
        priority=t["priority"], maxTaskFailures=t["max_task_failures"],
        production=t["production"], tier=t["tier"], contactEmail=t["contact"],
        resources={ttypes.Resource(numCpus=r["cpu"]), ttypes.Resource(ramMb=r["ram_mb"]),
                   ttypes.Resource(diskMb=r["disk_mb"])},
        constraints={ttypes.Constraint(name="host", constraint=ttypes.TaskConstraint(
            limit=ttypes.LimitConstraint(limit=2)))},
        metadata={ttypes.Metadata(key="team", value="web")},
        executorConfig=ttypes.ExecutorConfig(name="AuroraExecutor",
                                             data=t["executor_config"]["data"]))
    return ttypes.JobConfiguration(key=key, owner=task.owner, taskConfig=task,
                                   instanceCount=wire["instances"],
                                   cronCollisionPolicy=ttypes.CronCollisionPolicy.KILL_EXISTING)


def codes(apache: ModuleType) -> Any:
    return apache.ttypes.ResponseCode


def _statuses(http: httpx.Client, name: str) -> list[dict[str, Any]]:
    status = http.get(f"/api/v1/jobs/www/test/{name}").raise_for_status().json()
    return sorted(status["active"] + status["terminal"], key=lambda t: t["instance"])


def _stdout(http: httpx.Client, task_id: str) -> str:
    answer = http.get(f"/api/v1/tasks/{task_id}/logs/hello/0/stdout")
    return answer.text if answer.status_code == 200 else ""


def _finished(http: httpx.Client, name: str) -> list[dict[str, Any]]:
    tasks = _statuses(http, name)
    return tasks if len(tasks) == 2 and all(t["status"] == "FINISHED" for t in tasks) else []


@pytest.fixture
def http(thrift_daemon: Daemon) -> Iterator[httpx.Client]:
    with rest(thrift_daemon, ADMIN) as client:
        yield client


def test_create_job_runs_as_the_same_aurora_file(
        tmp_path: Path, http: httpx.Client, apache_client: Callable[..., Any],
        apache_api: ModuleType) -> None:
    via_rest, via_thrift = wire_of(tmp_path, "hello-rest"), wire_of(tmp_path, "hello-thrift")
    http.post("/api/v1/jobs", json={"job": via_rest}).raise_for_status()
    answer = apache_client(ALICE).createJob(aurora_client_job(apache_api.ttypes, via_thrift))
    assert answer.responseCode == codes(apache_api).OK, answer.details

    # The scheduler keeps the same configuration for both (but the name).
    stored = {name: http.get(f"/api/v1/jobs/www/test/{name}/configs").raise_for_status()
              .json()["configs"][0]["job"] for name in ("hello-rest", "hello-thrift")}
    assert json.loads(json.dumps(stored["hello-thrift"]).replace("hello-thrift", "hello-rest")) \
        == stored["hello-rest"]

    # The same tasks ran, with the same output in their sandboxes.
    done = {name: eventually(lambda n=name: _finished(http, n), timeout=60, what=f"{name} runs")
            for name in ("hello-rest", "hello-thrift")}
    outputs = {name: [eventually(lambda t=t: _stdout(http, t["task_id"]), timeout=30)
                      for t in tasks] for name, tasks in done.items()}
    assert outputs["hello-thrift"] == outputs["hello-rest"] == [
        "hello from www/test instance 0\n", "hello from www/test instance 1\n"]


def test_create_job_refusals(tmp_path: Path, http: httpx.Client, thrift_daemon: Daemon,
                             apache_client: Callable[..., Any],
                             apache_api: ModuleType) -> None:
    ttypes = apache_api.ttypes
    job = aurora_client_job(ttypes, wire_of(tmp_path, "refused", tail="sleep 600"))
    # A role the user lacks: AUTH_FAILED, as REST's 403.
    denied = apache_client(BOB).createJob(job)
    assert denied.responseCode == codes(apache_api).AUTH_FAILED
    assert "may not change jobs of role 'www'" in denied.details[0].message
    assert rest(thrift_daemon, BOB).post(
        "/api/v1/jobs", json={"job": wire_of(tmp_path, "refused")}).status_code == 403
    # Executor data that is no job: one line naming the field.
    job.taskConfig.executorConfig.data = "{not json"
    bad = apache_client(ALICE).createJob(job)
    assert bad.responseCode == codes(apache_api).INVALID_REQUEST
    assert bad.details[0].message.startswith("description.taskConfig.executorConfig.data")
    # A cron job has its own call.
    cron = aurora_client_job(ttypes, wire_of(tmp_path, "refused"))
    cron.cronSchedule = "* * * * *"
    assert apache_client(ALICE).createJob(cron).responseCode == codes(apache_api).INVALID_REQUEST
    assert http.get("/api/v1/jobs/www/test/refused").status_code == 404


@pytest.fixture
def service(request: pytest.FixtureRequest, tmp_path: Path, http: httpx.Client,
            apache_client: Callable[..., Any], apache_api: ModuleType) -> Iterator[str]:
    """A running two-instance service created over Thrift, named after the test; killed
    afterwards."""
    name = "svc-" + request.node.name.removeprefix("test_").replace("_", "-")[:30]
    job = aurora_client_job(apache_api.ttypes,
                            wire_of(tmp_path, name, tail="sleep 600", service=True))
    assert apache_client(ALICE).createJob(job).responseCode == codes(apache_api).OK

    def running() -> bool:
        tasks = _statuses(http, name)
        return len(tasks) == 2 and all(t["status"] == "RUNNING" for t in tasks)

    eventually(running, timeout=60, what=f"{name} running")
    yield name
    http.post(f"/api/v1/jobs/www/test/{name}/kill", json={}).raise_for_status()


def test_reads_match_rest(service: str, http: httpx.Client,
                          apache_client: Callable[..., Any], apache_api: ModuleType) -> None:
    ttypes = apache_api.ttypes
    client = apache_client(BOB)  # reads need a token, not the role
    rest_tasks = _statuses(http, service)
    stored = http.get(f"/api/v1/jobs/www/test/{service}/configs").json()["configs"][0]["job"]

    tasks = client.getTasksStatus(ttypes.TaskQuery(role="www", environment="test",
                                                   jobName=service))
    assert tasks.responseCode == codes(apache_api).OK
    got = sorted(tasks.result.scheduleStatusResult.tasks,
                 key=lambda t: t.assignedTask.instanceId)
    assert [(t.assignedTask.taskId, t.assignedTask.instanceId,
             ttypes.ScheduleStatus._VALUES_TO_NAMES[t.status], t.assignedTask.slaveHost)
            for t in got] == [(t["task_id"], t["instance"], t["status"], t["host"])
                              for t in rest_tasks]
    assert {t.assignedTask.task.executorConfig.data for t in got} == \
        {stored["task"]["executor_config"]["data"]}
    assert [e.status for e in got[0].taskEvents][-1] == ttypes.ScheduleStatus.RUNNING

    lean = client.getTasksWithoutConfigs(ttypes.TaskQuery(
        jobKeys={ttypes.JobKey(role="www", environment="test", name=service)},
        instanceIds={1})).result.scheduleStatusResult.tasks
    assert [t.assignedTask.instanceId for t in lean] == [1]
    assert lean[0].assignedTask.task.executorConfig.data is None
    assert lean[0].assignedTask.task.executorConfig.name == "AuroraExecutor"

    jobs = client.getJobs("www").result.getJobsResult.configs
    mine = [j for j in jobs if j.key.name == service]
    assert len(mine) == 1 and mine[0].instanceCount == 2
    task = mine[0].taskConfig
    assert task.isService and task.contactEmail == "www@example.com"
    assert {(r.numCpus, r.ramMb, r.diskMb) for r in task.resources} == {
        (0.01, None, None), (None, 8, None), (None, None, 8)}
    assert {(m.key, m.value) for m in task.metadata} == {("team", "web")}
    assert [c.constraint.limit.limit for c in task.constraints] == [2]

    summary = http.get(f"/api/v1/jobs/www/test/{service}/summary").json()
    summaries = client.getJobSummary("www").result.jobSummaryResult.summaries
    stats = next(s.stats for s in summaries if s.job.key.name == service)
    assert stats.activeTaskCount == summary["active"].get("RUNNING") == 2
    assert stats.pendingTaskCount == stats.failedTaskCount == 0

    roles = {r.role: r for r in client.getRoleSummary().result.roleSummaryResult.summaries}
    assert roles["www"].jobCount >= 1

    groups = client.getConfigSummary(
        ttypes.JobKey(role="www", environment="test", name=service)
    ).result.configSummaryResult.summary.groups
    assert [(r.first, r.last) for g in groups for r in g.instances] == [(0, 1)]


def test_quota_matches_rest(service: str, http: httpx.Client,
                            apache_client: Callable[..., Any], apache_api: ModuleType) -> None:
    http.put("/api/v1/quotas/www", json={"cpu": 4, "ram_mb": 4096, "disk_mb": 2048}
             ).raise_for_status()
    expected = http.get("/api/v1/quotas/www").raise_for_status().json()
    answer = apache_client(ALICE).getQuota("www")
    assert answer.responseCode == codes(apache_api).OK

    def amounts(aggregate: Any) -> dict[str, float]:
        out: dict[str, float] = {}
        for r in aggregate.resources:
            for field, ours in (("numCpus", "cpu"), ("ramMb", "ram_mb"), ("diskMb", "disk_mb")):
                if getattr(r, field) is not None:
                    out[ours] = getattr(r, field)
        return out

    quota = answer.result.getQuotaResult
    assert amounts(quota.quota) == expected["quota"] == {"cpu": 4, "ram_mb": 4096,
                                                         "disk_mb": 2048}
    assert amounts(quota.prodSharedConsumption) == expected["production"]
    assert amounts(quota.nonProdSharedConsumption) == expected["non_production"]
    assert expected["non_production"]["cpu"] > 0  # the service counts


def test_pending_reason_matches_rest(tmp_path: Path, http: httpx.Client,
                                     apache_client: Callable[..., Any],
                                     apache_api: ModuleType) -> None:
    ttypes = apache_api.ttypes
    wire = wire_of(tmp_path, "too-big", cpu=48, tail="sleep 600", service=True)
    job = aurora_client_job(ttypes, wire)
    assert apache_client(ALICE).createJob(job).responseCode == codes(apache_api).OK
    try:
        # 2 x 48 CPUs on a 64-CPU agent: one instance stays PENDING, with a reason.
        def reasons() -> dict[str, str]:
            answer = apache_client(ALICE).getPendingReason(ttypes.TaskQuery(
                role="www", environment="test", jobName="too-big"))
            found = answer.result.getPendingReasonResult.reasons
            return {r.taskId: r.reason for r in found if r.reason}

        by_task = eventually(reasons, timeout=30, what="a pending reason")
        (task_id, reason), = by_task.items()
        assert http.get(f"/api/v1/tasks/{task_id}").json()["pending_reason"] == reason
        refused = apache_client(ALICE).getPendingReason(ttypes.TaskQuery(
            statuses={ttypes.ScheduleStatus.RUNNING}))
        assert refused.responseCode == codes(apache_api).INVALID_REQUEST
    finally:
        http.post("/api/v1/jobs/www/test/too-big/kill", json={}).raise_for_status()
