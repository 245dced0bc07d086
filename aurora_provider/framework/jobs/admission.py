"""What a configuration must be for this scheduler to take it, checked in one place for
create, update and cron schedule."""

from __future__ import annotations

import re

from aurora_provider.api.errors import InvalidRequest
from aurora_provider.framework.core.settings import SchedulerSettings
from aurora_provider.framework.model.job_config import JobConfig


class Admission:
    def __init__(self, settings: SchedulerSettings) -> None:
        self.cluster = settings.cluster
        self.max_instances = settings.max_instances
        self._environments = re.compile(settings.allowed_environments)

    def check_cluster(self, config: JobConfig) -> None:
        if config.key.cluster != self.cluster:
            raise InvalidRequest(f"job {config.key} is for cluster {config.key.cluster!r}, "
                                 f"this scheduler runs {self.cluster!r}")

    def check_environment(self, config: JobConfig) -> None:
        if not self._environments.match(config.key.environment):
            raise InvalidRequest(f"job {config.key}: environment {config.key.environment!r} "
                                 f"must match {self._environments.pattern}")

    def check_instances(self, config: JobConfig, instances: int | None = None) -> None:
        count = config.instances if instances is None else instances
        if count > self.max_instances:
            raise InvalidRequest(f"job {config.key}: {count} instances exceed the limit of "
                                 f"{self.max_instances}")

    def for_create(self, config: JobConfig) -> None:
        self.check_cluster(config)
        if config.cron_schedule:
            raise InvalidRequest(f"job {config.key} has a cron_schedule: cron jobs are "
                                 "scheduled with 'aurora cron schedule', not created")
        self.check_environment(config)
        self.check_instances(config)
        ports = config.task.requested_ports
        if len(set(ports)) != len(ports):
            raise InvalidRequest(f"job {config.key}: task.requested_ports has duplicates")

    def for_update(self, config: JobConfig) -> None:
        self.check_cluster(config)
        if config.cron_schedule:
            raise InvalidRequest(f"job {config.key} has a cron_schedule: cron jobs are changed "
                                 "with 'aurora cron schedule', not updated")
        self.check_instances(config)

    def for_cron(self, config: JobConfig) -> None:
        self.check_cluster(config)
        self.check_environment(config)
        if not config.cron_schedule:
            raise InvalidRequest(f"job {config.key} has no cron_schedule; create it with "
                                 "'aurora job create'")
