"""What a configuration must be for this scheduler to take it, checked in one place for
create, update and cron schedule."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection

from aurora_provider.api.errors import InvalidRequest
from aurora_provider.framework.core.settings import SchedulerSettings
from aurora_provider.framework.model.executors import OUR_EXECUTOR
from aurora_provider.framework.model.job_config import JobConfig
from aurora_provider.framework.placement.tiers import TierTable
from aurora_provider.framework.storage.store import Store


def jobs_of_role(store: Store) -> Callable[[str], Collection[str]]:
    """The keys of the jobs a role holds: its jobs and its cron jobs."""
    def keys(role: str) -> Collection[str]:
        prefix = f"{role}/"
        held = {job.job_key for job in store.jobs.jobs() if job.job_key.startswith(prefix)}
        return held | {t.job_key for t in store.cron.templates_of_role(role)}
    return keys


class Admission:
    """:param tiers: the tiers a job may name (``--tier-config``).
    :param role_jobs: the keys of the jobs a role holds (``jobs_of_role``).
    :param backend_refusal: why the backend cannot run a configuration (a container it has
        no runtime for), or None."""

    def __init__(self, settings: SchedulerSettings, tiers: TierTable,
                 role_jobs: Callable[[str], Collection[str]] = lambda _role: (),
                 backend_refusal: Callable[[JobConfig], str | None] = lambda _c: None) -> None:
        self.cluster = settings.cluster
        self._tiers = tiers
        self.max_instances = settings.max_instances
        self.max_jobs_per_role = settings.max_jobs_per_role
        self._role_jobs = role_jobs
        self._backend_refusal = backend_refusal
        self._environments = re.compile(settings.allowed_environments)
        self._executors = tuple(sorted(settings.custom_executors))

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
                                 f"{self.max_instances} (--max-tasks-per-job)")

    def check_tier(self, config: JobConfig) -> None:
        try:
            self._tiers.tier_of(config.task)
        except InvalidRequest as e:
            raise InvalidRequest(f"job {config.key}: {e}") from e

    def check_backend(self, config: JobConfig) -> None:
        reason = self._unknown_executor(config) or self._backend_refusal(config)
        if reason:
            raise InvalidRequest(f"job {config.key}: {reason}")

    def _unknown_executor(self, config: JobConfig) -> str | None:
        """A job runs our executor or one of ``--custom-executor-config``'s: one naming
        another is refused, not launched under the wrong one."""
        name = config.task.executor_name
        if name == OUR_EXECUTOR or name in self._executors:
            return None
        if not self._executors:
            return (f"task.executor_config.name {name!r}: custom executors are not "
                    "configured on this scheduler (--custom-executor-config); leave "
                    f"ExecutorConfig's name at {OUR_EXECUTOR!r}")
        return (f"task.executor_config.name {name!r} is not a configured executor; this "
                f"scheduler runs {', '.join(repr(n) for n in (OUR_EXECUTOR, *self._executors))}")

    def check_role_jobs(self, config: JobConfig) -> None:
        """A job new to its role fits under ``max_jobs_per_role`` (call it under the lock
        that serialises creates, so two cannot both take the last place)."""
        role = config.key.role
        held = self._role_jobs(role)
        if config.job_key not in held and len(held) >= self.max_jobs_per_role:
            raise InvalidRequest(f"job {config.key}: role {role!r} holds {len(held)} jobs, "
                                 f"the limit of {self.max_jobs_per_role} "
                                 "(--max-jobs-per-role); kill one first")

    def for_create(self, config: JobConfig) -> None:
        self.check_cluster(config)
        if config.cron_schedule:
            raise InvalidRequest(f"job {config.key} has a cron_schedule: cron jobs are "
                                 "scheduled with 'aurora cron schedule', not created")
        self.check_environment(config)
        self.check_instances(config)
        self.check_tier(config)
        self.check_backend(config)
        ports = config.task.requested_ports
        if len(set(ports)) != len(ports):
            raise InvalidRequest(f"job {config.key}: task.requested_ports has duplicates")

    def for_update(self, config: JobConfig) -> None:
        self.check_cluster(config)
        if config.cron_schedule:
            raise InvalidRequest(f"job {config.key} has a cron_schedule: cron jobs are changed "
                                 "with 'aurora cron schedule', not updated")
        self.check_instances(config)
        self.check_tier(config)
        self.check_backend(config)

    def for_cron(self, config: JobConfig) -> None:
        self.check_cluster(config)
        self.check_environment(config)
        if not config.cron_schedule:
            raise InvalidRequest(f"job {config.key} has no cron_schedule; create it with "
                                 "'aurora job create'")
        self.check_instances(config)
        self.check_tier(config)
        self.check_backend(config)
        # check_role_jobs comes later, under the ledger lock (see CronJobs.schedule).

