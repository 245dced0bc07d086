"""SLA-aware kills of job updates (``UpdateConfig(sla_aware=True)``), as Aurora had them.

Before an ``sla_aware`` update kills a task that runs on a host, the job's ``sla_policy``
must allow it (the rules: ``framework.jobs.sla``). The policy is the one of the
configuration the instance is going to (the old one on a rollback); a job without a policy
is not checked (Aurora's default SLA is for host drains, not updates).

An instance held by its SLA stays in flight; the update's events say why, once per reason.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from aurora_provider.framework.core.changes import Changes
from aurora_provider.framework.jobs.sla import (
    Answer,
    CoordinatorPolicy,
    Coordinators,
    CountPolicy,
    PercentagePolicy,
    SlaPolicy,
    count_hold,
    policy_of,
    required_running,
)
from aurora_provider.framework.jobs.sla import SlaGate as PolicyGate
from aurora_provider.framework.model.job_config import JobConfig
from aurora_provider.framework.model.updates import UpdateEvent, UpdateRecord
from aurora_provider.framework.storage.rows import TaskRow
from aurora_provider.framework.updates.active import UpdateChange

__all__ = ["Answer", "CoordinatorPolicy", "Coordinators", "CountPolicy", "PercentagePolicy",
           "SlaGate", "SlaPolicy", "count_hold", "policy_of", "required_running"]


class SlaGate:
    """Whether an ``sla_aware`` update may kill a task now (one per engine).

    :param config: a configuration by id (the store parses each once).
    :param cluster: this scheduler's cluster, for the coordinator's task key.
    """

    def __init__(self, config: Callable[[int], JobConfig], cluster: str,
                 coordinators: Coordinators | None = None) -> None:
        self._gate = PolicyGate(config, cluster, coordinators)

    def allows(self, ch: Changes, change: UpdateChange, instance: int, victim: TaskRow) -> bool:
        """True when ``victim`` may be killed now; a hold's reason joins the update's events."""
        r = change.record
        config_id = r.desired_config_id if r.forward else r.initial.get(instance)

        def say(reason: str | None) -> None:
            text = (f"instance {instance}: SLA check passed, continuing" if reason is None
                    else f"instance {instance} {reason}")
            change.write.events.append((r.update_id, UpdateEvent(ch.now, r.status, None, text)))

        return self._gate.check(ch, r.update_id, victim, self._gate.policy(config_id), say,
                                config_id=config_id)

    def retain(self, active: Sequence[UpdateRecord]) -> None:
        """Drop what was kept about the holds of updates no longer active (ended, aborted)."""
        self._gate.retain({r.update_id for r in active})
