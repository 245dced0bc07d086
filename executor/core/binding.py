"""From a job of the configuration language to a ``TaskSpec`` (imports pystachio)."""

from __future__ import annotations

import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import InvalidTask
from .paths import xcom_path
from .spec import (
    AnnouncerSpec,
    HealthSpec,
    LifecycleSpec,
    LoggerSpec,
    ProcessSpec,
    ResourcesSpec,
    TaskSpec,
)


def _logger(process: Any) -> LoggerSpec:
    logger = process.logger()
    size, backups = 100 * 1024 * 1024, 5
    if logger.has_rotate():
        rotate = logger.rotate()
        size, backups = int(rotate.log_size().get()), int(rotate.backups().get())
    return LoggerSpec(
        destination=str(logger.destination().get()),
        mode=str(logger.mode().get()),
        log_size=size,
        backups=backups,
    )


def _process(p: Any) -> ProcessSpec:
    return ProcessSpec(
        name=str(p.name().get()),
        cmdline=str(p.cmdline().get()),
        max_failures=int(p.max_failures().get()),
        daemon=bool(p.daemon().get()),
        ephemeral=bool(p.ephemeral().get()),
        min_duration=float(p.min_duration().get()),
        final=bool(p.final().get()),
        logger=_logger(p),
    )


def _health(job: Any, ports: Mapping[str, int]) -> HealthSpec | None:
    """Aurora's choice: a shell checker if given; else HTTP when a ``health`` port exists."""
    config = job.health_check_config()
    checker = config.health_checker()
    common: dict[str, Any] = {
        "initial_interval_secs": float(config.initial_interval_secs().get()),
        "interval_secs": float(config.interval_secs().get()),
        "max_consecutive_failures": int(config.max_consecutive_failures().get()),
        "min_consecutive_successes": int(config.min_consecutive_successes().get()),
        "timeout_secs": float(config.timeout_secs().get()),
    }
    if checker.has_shell():
        return HealthSpec(
            kind="shell", shell_command=str(checker.shell().shell_command().get()), **common
        )
    if "health" not in ports:
        return None
    http = checker.http() if checker.has_http() else None
    return HealthSpec(
        kind="http",
        port=ports["health"],
        endpoint=str(http.endpoint().get()) if http is not None else "/health",
        expected_response=str(http.expected_response().get()) if http is not None else "ok",
        expected_response_code=(
            int(http.expected_response_code().get()) if http is not None else 0
        ),
        **common,
    )


def _lifecycle(job: Any, ports: Mapping[str, int]) -> LifecycleSpec | None:
    if not job.has_lifecycle() or not job.lifecycle().has_http():
        return None
    http = job.lifecycle().http()
    port_name = str(http.port().get())
    if port_name not in ports:
        return None
    return LifecycleSpec(
        port=ports[port_name],
        graceful_shutdown_endpoint=str(http.graceful_shutdown_endpoint().get()),
        shutdown_endpoint=str(http.shutdown_endpoint().get()),
        graceful_shutdown_wait_secs=float(http.graceful_shutdown_wait_secs().get()),
        shutdown_wait_secs=float(http.shutdown_wait_secs().get()),
    )


def _announcer(job: Any, ports: Mapping[str, int], instance: int) -> AnnouncerSpec | None:
    if not job.has_announce():
        return None
    announce = job.announce()
    primary = str(announce.primary_port().get())
    endpoints = dict(ports)
    for name, target in announce.portmap().get().items():
        target = str(target)
        if target.isdigit():
            endpoints[str(name)] = int(target)
        elif target in ports:
            endpoints[str(name)] = ports[target]
    if primary not in endpoints:
        raise InvalidTask(f"announce: primary port {primary!r} is not among the task's ports")
    if announce.has_zk_path():
        path = str(announce.zk_path().get())
    else:
        path = f"/aurora/{job.role().get()}/{job.environment().get()}/{job.name().get()}"
    return AnnouncerSpec(path=path, primary_port=primary, ports=endpoints, shard=instance)


def spec_from_bound_job(job: Any, *, ports: Mapping[str, int], instance: int) -> TaskSpec:
    """A job whose variables are all bound, as the runner will run it."""
    task = job.task()
    order = tuple(
        tuple(str(n) for n in c.order().get()) for c in task.constraints() if c.has_order()
    )
    key = "/".join(str(getattr(job, k)().get()) for k in ("cluster", "role", "environment", "name"))
    return TaskSpec(
        name=str(task.name().get()),
        processes=tuple(_process(p) for p in task.processes()),
        order=order,
        max_failures=int(task.max_failures().get()),
        max_concurrency=int(task.max_concurrency().get()),
        finalization_wait=float(task.finalization_wait().get()),
        health=_health(job, ports),
        lifecycle=_lifecycle(job, ports),
        announcer=_announcer(job, ports, instance),
        job_key=key,
        instance=instance,
        role=str(job.role().get()),
        resources=_resources(task),
    ).checked()


def _resources(task: Any) -> ResourcesSpec:
    if not task.has_resources():
        return ResourcesSpec()
    r = task.resources()
    return ResourcesSpec(
        cpu=float(r.cpu().get()) if r.has_cpu() else 0.0,
        ram=int(r.ram().get()) if r.has_ram() else 0,
        disk=int(r.disk().get()) if r.has_disk() else 0,
    )


def bind_job(
    job: Any,
    *,
    task_id: str,
    instance: int,
    ports: Mapping[str, int],
    hostname: str | None = None,
    sandbox: Path | None = None,
) -> TaskSpec:
    """Bind the runtime variables of ``job`` (Aurora's rules) and convert it to a spec
    (``{{thermos.xcom}}`` relative to the sandbox when ``sandbox`` is None)."""
    from aurora_provider.config import ConfigError, bind_task_instance
    from aurora_provider.config.binding import instance_ports

    try:
        bound = bind_task_instance(
            job,
            instance=instance,
            hostname=hostname or socket.gethostname(),
            task_id=task_id,
            ports=ports,
            xcom=xcom_path(sandbox),
        )
        all_ports = instance_ports(job, ports)
    except ConfigError as e:
        raise InvalidTask(str(e)) from e
    return spec_from_bound_job(bound, ports=all_ports, instance=instance)


def free_ports(names: list[str]) -> dict[str, int]:
    """Free TCP ports on 127.0.0.1, one per name (for tasks run by hand)."""
    socks = []
    ports: dict[str, int] = {}
    try:
        for name in names:
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
            ports[name] = s.getsockname()[1]
    finally:
        for s in socks:
            s.close()
    return ports
