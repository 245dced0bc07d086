"""The ports features plug into, as typed Protocols given at construction.

The composition root (``framework/daemon.py``) hands each part what it needs: the scheduling
round takes its round hooks and steps; job operations take the guards of the features that
can hold a job; placement takes its offer order and filters (``placement.placer``). Nothing
registers itself anywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from aurora_provider.api.errors import Conflict
from aurora_provider.framework.core.changes import Changes
from aurora_provider.framework.model.job_config import JobConfig


class RoundHook(Protocol):
    """Work done at the start of every scheduling round, under the ledger's lock, before
    the round gathers its own changes (cron triggers, host drains, preemption, updates).
    Each hook commits its own changes; one that raises is logged and the round goes on."""

    def before_round(self) -> None: ...


class RoundStep(Protocol):
    """Work done inside the round, on the round's changes, after the backend's status
    updates are applied (rolling restarts see a replacement RUNNING in the same round)."""

    def during_round(self, ch: Changes) -> None: ...


class JobGuard(Protocol):
    """A feature that can hold a job (an active update, as Aurora's ``assertNotUpdating``)."""

    def holding(self, job_key: str) -> str | None:
        """Why ``job_key`` may not be killed, restarted or grown now, or None."""


class JobGuards:
    """The guards of one operation, checked together."""

    def __init__(self, guards: Sequence[JobGuard] = ()) -> None:
        self._guards = tuple(guards)

    def check(self, job_key: str) -> None:
        """Raise ``Conflict`` with the first guard's reason."""
        for guard in self._guards:
            reason = guard.holding(job_key)
            if reason:
                raise Conflict(reason)


class QuotaCheck(Protocol):
    """Refuses instances beyond their role's quota (operations.quota implements it)."""

    def check(self, config: JobConfig, instances: int, *,
              replaces: str | None = None) -> None:
        """Raise ``QuotaExceeded`` when ``instances`` more of ``config`` do not fit; with
        ``replaces`` (role/env/name) that job's current use is left out first."""
