"""What every task of one configuration needs from an offer."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from aurora_provider.framework.model.executors import Executors
from aurora_provider.framework.model.job_config import (
    DEDICATED,
    Constraint,
    JobConfig,
    ValueConstraint,
)
from aurora_provider.framework.placement.offers import Overhead


@dataclass(frozen=True)
class Demand:
    """Resources with the executor overhead, named ports and constraints of one group."""

    job_key: str
    role: str
    cpu: float
    ram_mb: float
    disk_mb: float
    gpu: int
    ports: tuple[str, ...]
    constraints: tuple[Constraint, ...]

    @property
    def dedicated(self) -> ValueConstraint | None:
        for c in self.constraints:
            if isinstance(c, ValueConstraint) and c.name == DEDICATED:
                return c
        return None


def overhead_of(config: JobConfig, overhead: Overhead, executors: Executors) -> Overhead:
    """The overhead of the executor the job names: a custom one's configured resources (as
    Aurora's ``ExecutorSettings``), else ours."""
    custom = executors.get(config.task.executor_name)
    if custom is None:
        return overhead
    return Overhead(cpu=custom.cpu, ram_mb=custom.ram_mb, disk_mb=0.0)


def demand_of(config: JobConfig, overhead: Overhead, executors: Executors | None = None
              ) -> Demand:
    """The placement-relevant part of a configuration, with the executor overhead."""
    res = config.task.resources
    overhead = overhead_of(config, overhead, executors or {})
    return Demand(
        job_key=config.job_key, role=config.key.role, cpu=res.cpu + overhead.cpu,
        ram_mb=res.ram_mb + overhead.ram_mb, disk_mb=res.disk_mb + overhead.disk_mb,
        gpu=res.gpu, ports=config.task.requested_ports, constraints=config.task.constraints)


class Demands:
    """The demand of each stored configuration, computed once (configurations never change)."""

    def __init__(self, config_of: Callable[[int], JobConfig], overhead: Overhead,
                 executors: Executors | None = None) -> None:
        self._config_of = config_of
        self.overhead = overhead
        self._executors = executors or {}
        self._cache: dict[int, Demand] = {}
        self._lock = threading.Lock()

    def __call__(self, config_id: int) -> Demand:
        with self._lock:
            found = self._cache.get(config_id)
        if found is None:
            found = demand_of(self._config_of(config_id), self.overhead, self._executors)
            with self._lock:
                self._cache[config_id] = found
        return found
