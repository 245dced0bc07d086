"""The checkers a task gets, from its spec: what the runner composes.

Two groups, by how long they run: the *serving* checkers (health, announcer, lifecycle)
watch the task while it is ACTIVE and are stopped when it is being stopped or leaves
ACTIVE; the *watching* checkers (resources and limits, log rotation) watch the process
runs for as long as the runner runs. A checker's module (and its heavy dependency) is imported only
when the task needs it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..core.spec import TaskSpec
from .checker import Checkers, StatusChecker

if TYPE_CHECKING:
    from ..core.cgroups import TaskCgroup


def serving(spec: TaskSpec, *, sandbox: Path, env: dict[str, str], hostname: str,
            ensemble: str | None, log: Callable[[str], None],
            wake: Callable[[], None], as_user: Sequence[str] = ()) -> Checkers:  # fmt: skip
    """Health checks, then the announcer, then the HTTP lifecycle (the order they stop).

    :param env: the processes' environment, in which shell health checks run.
    :param as_user: what runs a shell health check as the task's user (``TaskUser.prefix``).
    :param ensemble: the ZooKeeper hosts for the announcer (none: no announcement).
    :param wake: wakes the runner's loop (from the health checker's thread).
    """
    checkers: list[StatusChecker] = []
    if spec.health is not None:
        from .health import HealthChecker, http_probe, shell_probe

        health = spec.health
        probe = (http_probe(health) if health.kind == "http"
                 else shell_probe(health, sandbox, env, as_user))  # fmt: skip
        checkers.append(HealthChecker(health, probe, sandbox, wake))
    if spec.announcer is not None:
        if ensemble:
            from .announcer import ServersetAnnouncer

            checkers.append(ServersetAnnouncer(spec.announcer, ensemble, hostname, log))
        else:
            log("the task has an announcer but no ZooKeeper ensemble: not announcing")
    if spec.lifecycle is not None:
        from .lifecycle import HttpLifecycle

        checkers.append(HttpLifecycle(spec.lifecycle, log))
    return Checkers(checkers)


def watching(spec: TaskSpec, *, sandbox: Path, log_dir: Path, resources: Path,
             sample_interval: float, disk_interval: float, enforce_disk: bool = True,
             cgroup: TaskCgroup | None = None) -> Checkers:  # fmt: skip
    """Resource samples into ``resources`` (failing the task over its disk resource, unless
    ``enforce_disk`` is off), the OOM watch of the task's ``cgroup`` when it has one with a
    RAM limit, and log rotation when a process rotates files it writes itself."""
    from .resources import ResourceSampler

    disk_limit = spec.resources.disk if enforce_disk else 0
    checkers: list[StatusChecker] = [
        ResourceSampler(sandbox, resources, interval=sample_interval,
                        disk_interval=disk_interval, disk_limit=disk_limit)]  # fmt: skip
    if cgroup is not None and spec.resources.ram > 0:
        from .limits import MemoryLimit

        checkers.append(MemoryLimit(cgroup, spec.resources.ram))
    if any(p.logger.mode == "rotate" and p.logger.destination == "file" for p in spec.processes):
        from .logs import LogRotator

        checkers.append(LogRotator(spec, log_dir))
    return Checkers(checkers)
