"""From a job of the configuration language to the runner's bound task."""

from __future__ import annotations

import pytest

from aurora_provider.config.schema import (
    Announcer,
    HealthCheckConfig,
    HealthCheckerConfig,
    HttpLifecycleConfig,
    Job,
    LifecycleConfig,
    Logger,
    Process,
    Resources,
    RotatePolicy,
    ShellHealthChecker,
    Task,
)
from executor.core.binding import bind_job
from executor.errors import InvalidTask

pytestmark = pytest.mark.unit

RES = Resources(cpu=0.1, ram=1 << 20, disk=1 << 20)


def _job(**kw: object) -> object:
    web = Process(
        name="web",
        cmdline="serve --port {{thermos.ports[http]}} --shard {{mesos.instance}}",
        logger=Logger(mode="rotate", rotate=RotatePolicy(log_size=1000, backups=3)),
    )
    return Job(cluster="c", role="r", environment="devel", name="web",
               task=Task(processes=[web], resources=RES, max_concurrency=2), **kw)  # fmt: skip


def test_runtime_variables_ports_and_process_fields_are_bound() -> None:
    spec = bind_job(_job(), task_id="t", instance=3, ports={"http": 8000}, hostname="h")
    (web,) = spec.processes
    assert web.cmdline == "serve --port 8000 --shard 3"
    assert (web.logger.mode, web.logger.log_size, web.logger.backups) == ("rotate", 1000, 3)
    assert (spec.job_key, spec.instance, spec.max_concurrency) == ("c/r/devel/web", 3, 2)
    assert spec.health is None and spec.lifecycle is None and spec.announcer is None


def test_a_health_port_turns_on_http_checks_and_the_lifecycle() -> None:
    hc = HealthCheckConfig(initial_interval_secs=3, interval_secs=2, max_consecutive_failures=4)
    lifecycle = LifecycleConfig(http=HttpLifecycleConfig(graceful_shutdown_wait_secs=9))
    job = _job(health_check_config=hc, lifecycle=lifecycle)
    spec = bind_job(job, task_id="t", instance=0, ports={"http": 1, "health": 2})
    assert spec.health is not None and spec.lifecycle is not None
    assert (spec.health.kind, spec.health.port, spec.health.endpoint) == ("http", 2, "/health")
    assert (spec.health.initial_interval_secs, spec.health.max_consecutive_failures) == (3.0, 4)
    assert (spec.lifecycle.port, spec.lifecycle.graceful_shutdown_wait_secs) == (2, 9.0)


def test_a_shell_checker_wins_and_needs_no_port() -> None:
    checker = HealthCheckerConfig(
        shell=ShellHealthChecker(shell_command="check {{mesos.instance}}")
    )
    job = _job(health_check_config=HealthCheckConfig(health_checker=checker))
    spec = bind_job(job, task_id="t", instance=5, ports={"http": 1})
    assert spec.health is not None
    assert (spec.health.kind, spec.health.shell_command) == ("shell", "check 5")


def test_announcer_endpoints_and_path() -> None:
    job = _job(announce=Announcer(portmap={"aurora": "http", "alias": "http"}))
    spec = bind_job(job, task_id="t", instance=1, ports={"http": 8000})
    assert spec.announcer is not None
    assert spec.announcer.path == "/aurora/r/devel/web"
    assert spec.announcer.ports == {"http": 8000, "aurora": 8000, "alias": 8000}
    custom = bind_job(_job(announce=Announcer(zk_path="/my/set")), task_id="t", instance=0,
                      ports={"http": 1})  # fmt: skip
    assert custom.announcer is not None and custom.announcer.path == "/my/set"


def test_a_missing_port_is_one_clear_error() -> None:
    with pytest.raises(InvalidTask, match="no port assigned for http"):
        bind_job(_job(), task_id="t", instance=0, ports={})
