"""Rolling restarts, as Aurora's client ran them: ``batch_size`` instances at a time, the
next batch once every instance of the current one is restarted.

An instance counts as restarted once its replacement has been RUNNING for ``watch_secs``.
Each replacement that dies before (the scheduler reschedules it) is a failure of the
instance; more than ``max_per_instance_failures`` (-1: no limit) and the instance failed;
more than ``max_total_failures`` failed instances and the restart is FAILED, with a message
naming them, and the instances still pending are left alone.

A job whose ``UpdateConfig`` is ``sla_aware`` is restarted under its ``sla_policy``, as its
updates are (``jobs.sla``): an instance the policy holds stays pending, at the head of the
next batch, and the restart's message says why until the policy lets it go.

Each restart is a ``RestartRow`` (persisted, with what it counted), so it survives a
scheduler restart. It advances inside the scheduling round (a round step), which also runs
when nothing changed, so a replacement's watch ends on time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from aurora_provider.api.errors import Conflict, InvalidRequest, JobNotFound, NotFound
from aurora_provider.framework.core.changes import Changes
from aurora_provider.framework.core.ledger import TaskLedger
from aurora_provider.framework.jobs.sla import SlaGate, is_sla_aware
from aurora_provider.framework.storage.restarts import RestartLimits
from aurora_provider.framework.storage.rows import RestartRow, TaskRow
from aurora_provider.framework.storage.store import Store
from aurora_provider.states.restart import MACHINE, RestartState
from aurora_provider.states.task import TaskState, can_transition

S = TaskState
HOLD_PREFIX = "instance "  # a restart's message naming a hold starts so
# Why an instance's task may not be restarted now (its SLA), or None.
Held = Callable[[Changes, RestartRow, TaskRow], str | None]


@dataclass
class _Progress:
    """A restart's counters while one step changes them."""

    in_flight: dict[int, str]
    done: list[int]
    failures: dict[int, int]
    failed: list[int]
    watching: dict[int, str]

    @classmethod
    def of(cls, r: RestartRow) -> _Progress:
        return cls(dict(r.in_flight), list(r.done), dict(r.failures), list(r.failed),
                   dict(r.watching))

    def finish(self, instance: int, *, failed: bool) -> None:
        del self.in_flight[instance]
        self.watching.pop(instance, None)
        (self.failed if failed else self.done).append(instance)


def _watch(restart: RestartRow, p: _Progress, instance: int, old_id: str,
           current: TaskRow | None, now: float) -> None:
    """Judge one instance in flight: still stopping, watched, restarted or failed."""
    seen = p.watching.get(instance)
    if current is None:
        # No active task: nothing was running to restart, or the replacement ended and
        # nothing replaces it (a job that is not a service): that one is a failure.
        p.finish(instance, failed=seen is not None)
        return
    if current.task_id == old_id:
        return  # the old task is still stopping
    if seen is not None and seen != current.task_id:
        p.failures[instance] = p.failures.get(instance, 0) + 1  # the last replacement died
    p.watching[instance] = current.task_id
    limit = restart.max_per_instance_failures
    if limit >= 0 and p.failures.get(instance, 0) > limit:
        p.finish(instance, failed=True)
    elif current.status is S.RUNNING and now - current.status_at >= restart.watch_secs:
        p.finish(instance, failed=False)


def _never_held(_ch: Changes, _restart: RestartRow, _row: TaskRow) -> str | None:
    return None


def advance(ch: Changes, restart: RestartRow, ledger: TaskLedger,
            held: Held = _never_held) -> RestartRow:
    """One step of a restart: judge the batch in flight, then start the next (instances
    ``held`` by their SLA wait at the head of the pending ones)."""
    by_instance = {r.instance: r for r in ch.job_tasks(restart.job_key)}
    p = _Progress.of(restart)
    for instance, old_id in restart.in_flight.items():
        _watch(restart, p, instance, old_id, by_instance.get(instance), ch.now)
    pending = list(restart.pending)
    state, message = restart.state, restart.message
    if len(p.failed) > restart.max_total_failures:
        state = MACHINE.transition(f"{restart.restart_id}", state, RestartState.FAILED)
        message = (f"instances {sorted(p.failed)} failed (each more than "
                   f"{restart.max_per_instance_failures} failed replacement(s)), more than "
                   f"--max-total-failures {restart.max_total_failures}; not restarted: "
                   f"{sorted(pending) or 'none'}")
    elif not p.in_flight and pending:
        batch, pending = pending[:restart.batch_size], pending[restart.batch_size:]
        waiting: list[int] = []
        holds: list[str] = []
        for instance in batch:
            current = by_instance.get(instance)
            reason = held(ch, restart, current) if current is not None else None
            if reason is not None:
                waiting.append(instance)
                holds.append(f"{HOLD_PREFIX}{instance} {reason}")
            elif current is not None and can_transition(current.status, S.RESTARTING):
                ledger.move(ch, current, S.RESTARTING, "Restarting by user request")
                ch.kills.append(current.task_id)
                p.in_flight[instance] = current.task_id
            else:
                p.done.append(instance)  # nothing running to restart
        pending = waiting + pending
        if holds or (message or "").startswith(HOLD_PREFIX):
            message = "; ".join(holds) or None
    if state is RestartState.ACTIVE and not pending and not p.in_flight:
        state = MACHINE.transition(f"{restart.restart_id}", state, RestartState.DONE)
    changed = replace(restart, state=state, message=message, pending=tuple(pending),
                      in_flight=p.in_flight, done=tuple(p.done), failures=p.failures,
                      failed=tuple(p.failed), watching=p.watching)
    if changed == restart:
        return restart
    return replace(changed, updated_at=ch.now)


class RollingRestarts:
    """The active restart of each job; a round step and a job guard (for updates)."""

    def __init__(self, ledger: TaskLedger, store: Store, cluster: str,
                 gate: SlaGate | None = None) -> None:
        """:param gate: decides the kills of ``sla_aware`` jobs (by default one asking the
            job's policy, with its own coordinator client)."""
        self._ledger = ledger
        self._store = store
        self._cluster = cluster
        self._gate = gate or SlaGate(ledger.config, cluster)
        self._active: dict[str, RestartRow] = {}

    def recover(self) -> None:
        with self._ledger.lock:
            self._active = {r.job_key: r for r in self._store.restarts.restarts(
                active_only=True)}

    def active(self, job_key: str) -> RestartRow | None:
        return self._active.get(job_key)

    def holding(self, job_key: str) -> str | None:
        if job_key in self._active:
            return (f"job {self._cluster}/{job_key} is being restarted; wait for the restart "
                    "first")
        return None

    def start(self, job_key: str, instances: Sequence[int] | None,
              limits: RestartLimits) -> RestartRow:
        """Restart ``instances`` (None: all) of a job with active tasks (call with the
        ledger's lock held, after the job's guards)."""
        full = f"{self._cluster}/{job_key}"
        if job_key in self._active:
            raise Conflict(f"job {full} is already being restarted")
        rows = self._ledger.active(job_key)
        if not rows:
            raise JobNotFound(f"job {full} has no active tasks")
        present = sorted({r.instance for r in rows})
        if instances is not None:
            missing = sorted(set(instances) - set(present))
            if missing:
                raise InvalidRequest(f"job {full} has no active instances {missing}")
            present = sorted(set(instances))
        with self._store.transaction() as tx:
            row = self._store.restarts.add(tx, job_key, limits, present,
                                           self._ledger.now())
        self._active[job_key] = row
        return row

    def status(self, job_key: str) -> RestartRow:
        found = self._store.restarts.restarts(job_key=job_key)
        if not found:
            raise NotFound(f"job {self._cluster}/{job_key} has never been restarted")
        return found[-1]

    def during_round(self, ch: Changes) -> None:
        for restart in list(self._active.values()):
            self._save(ch, advance(ch, restart, self._ledger, self._held))
        self._gate.retain({_owner(r) for r in self._active.values()})

    def _held(self, ch: Changes, restart: RestartRow, row: TaskRow) -> str | None:
        """The reason the SLA of an ``sla_aware`` job holds ``row``, or None."""
        if not is_sla_aware(self._ledger.config(row.config_id)):
            return None
        owner = _owner(restart)
        if self._gate.check(ch, owner, row, self._gate.policy(row.config_id), _quiet):
            return None
        return self._gate.held(owner).get(row.task_id, "held by SLA")

    def drop(self, ch: Changes, job_key: str, instances: set[int] | None) -> None:
        """Killed instances leave the job's restart; a killed job aborts it."""
        restart = self._active.get(job_key)
        if restart is None:
            return
        if instances is None:
            ended = replace(restart, state=MACHINE.transition(
                f"{restart.restart_id}", restart.state, RestartState.ABORTED),
                updated_at=ch.now, message="aborted: the job was killed")
        else:
            ended = replace(
                restart, pending=tuple(i for i in restart.pending if i not in instances),
                in_flight={i: t for i, t in restart.in_flight.items() if i not in instances},
                updated_at=ch.now)
        self._save(ch, ended)

    def _save(self, ch: Changes, row: RestartRow) -> None:
        if row is self._active.get(row.job_key):
            return  # ``advance`` changed nothing

        def committed() -> None:
            if row.state is RestartState.ACTIVE:
                self._active[row.job_key] = row
            else:
                self._active.pop(row.job_key, None)

        ch.also(lambda tx: self._store.restarts.save(tx, row), committed)


def _owner(restart: RestartRow) -> str:
    return f"restart-{restart.restart_id}"


def _quiet(_reason: str | None) -> None:
    """A restart reads its holds' reasons from the gate (its status message)."""
