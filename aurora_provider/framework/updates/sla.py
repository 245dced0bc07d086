"""SLA-aware kills of job updates (``UpdateConfig(sla_aware=True)``), as Aurora had them.

Before an ``sla_aware`` update kills a task that runs on a host, the job's ``sla_policy``
must allow it; a task not yet on a host (PENDING, THROTTLED) is killed without asking, as
it serves nobody. The policy is the one of the configuration the instance is going to (the
old one on a rollback); a job without a policy is not checked (Aurora's default SLA is for
host drains, not updates).

* ``CountSlaPolicy(count, duration_secs)``: after the kill, at least ``count`` of the job's
  other tasks must have been RUNNING for ``duration_secs``.
* ``PercentageSlaPolicy(percentage, duration_secs)``: the same, as a share of the job's
  active tasks. Both are relaxed to "all but one" when the job has shrunk below the policy,
  so a policy never blocks an update forever.
* ``CoordinatorSlaPolicy(coordinator_url, status_key)``: the coordinator decides. It gets a
  POST ``?task=cluster/role/env/name/instance`` whose JSON body names the task and describes
  it (``task``, ``taskConfig``); a 200 answer whose ``status_key`` is ``true`` allows the
  kill. Requests run on a thread, one at a time per coordinator: a round asks, a later
  round reads the answer, so a slow coordinator never stalls scheduling. A refusal or an
  unreachable coordinator holds the instance; it is asked again after a backoff.

An instance held by its SLA stays in flight; the update's events say why, once per reason.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from aurora_provider.framework.core.changes import Changes
from aurora_provider.framework.model.job_config import JobConfig
from aurora_provider.framework.model.updates import UpdateEvent, UpdateRecord
from aurora_provider.framework.storage.rows import TaskRow
from aurora_provider.framework.updates.active import UpdateChange, log
from aurora_provider.states.task import NOT_LAUNCHED, TaskState

COORDINATOR_TIMEOUT_SECS = 60.0  # Aurora's -sla_coordinator_timeout default
FIRST_RETRY_SECS = 1.0  # after a refusal; doubles up to MAX_RETRY_SECS
MAX_RETRY_SECS = 30.0


@dataclass(frozen=True)
class CountPolicy:
    count: int
    duration_secs: float


@dataclass(frozen=True)
class PercentagePolicy:
    percentage: float
    duration_secs: float


@dataclass(frozen=True)
class CoordinatorPolicy:
    url: str
    status_key: str = "drain"


SlaPolicy = CountPolicy | PercentagePolicy | CoordinatorPolicy


def policy_of(config: JobConfig) -> SlaPolicy | None:
    """The job's SLA policy, from the wire form (``task.sla_policy``)."""
    raw = (config.wire.get("task") or {}).get("sla_policy")
    if not isinstance(raw, Mapping):
        return None
    if "coordinator_url" in raw:
        return CoordinatorPolicy(str(raw["coordinator_url"]), str(raw.get("status_key") or
                                                                  "drain"))
    if "count" in raw:
        return CountPolicy(int(raw["count"]), float(raw["duration_secs"]))
    return PercentagePolicy(float(raw["percentage"]), float(raw["duration_secs"]))


def required_running(policy: CountPolicy | PercentagePolicy, active: int) -> int:
    """How many of ``active`` tasks must stay RUNNING; at most all but one."""
    if isinstance(policy, CountPolicy):
        needed = policy.count
    else:
        needed = math.ceil(policy.percentage * active / 100 - 1e-9)
    return max(0, min(needed, active - 1))


def count_hold(policy: CountPolicy | PercentagePolicy, victim: TaskRow,
               tasks: Sequence[TaskRow], now: float) -> str | None:
    """Why killing ``victim`` would break the policy (``tasks``: the job's active tasks),
    or None when it may go."""
    running = sum(1 for t in tasks if t.task_id != victim.task_id and
                  t.status is TaskState.RUNNING and now - t.status_at >= policy.duration_secs)
    needed = required_running(policy, len(tasks))
    if running >= needed:
        return None
    return (f"held by SLA: {running} of {len(tasks)} instances would remain RUNNING for "
            f"{policy.duration_secs:g}s, policy needs {needed}")


@dataclass(frozen=True)
class Answer:
    allowed: bool
    reason: str  # for a refusal: what the coordinator said, or why it could not be asked


class Coordinators:
    """Asks coordinators on threads, one request in flight per coordinator URL.

    :param post: sends one request (tests may pass another sender); ``httpx.post`` by default.
    """

    def __init__(self, timeout: float = COORDINATOR_TIMEOUT_SECS,
                 post: Callable[..., httpx.Response] = httpx.post) -> None:
        self._timeout = timeout
        self._post = post
        self._lock = threading.Lock()
        self._busy: set[str] = set()  # coordinator URLs with a request in flight
        self._asking: set[str] = set()  # task ids whose answer is awaited
        self._answers: dict[str, Answer] = {}  # by task id, until a round reads it

    def ask(self, policy: CoordinatorPolicy, task_id: str, task_key: str,
            body: Mapping[str, Any]) -> Answer | None:
        """The answer about ``task_id`` if one came; else a request is (or stays) on its way
        and None is returned."""
        with self._lock:
            answer = self._answers.pop(task_id, None)
            if answer is not None or task_id in self._asking or policy.url in self._busy:
                return answer
            self._busy.add(policy.url)
            self._asking.add(task_id)
        threading.Thread(target=self._request, args=(policy, task_id, task_key, dict(body)),
                         name=f"sla-coordinator-{task_key}", daemon=True).start()
        return None

    def forget(self, task_id: str) -> None:
        """An answer nobody will read any more (the update ended or moved on)."""
        with self._lock:
            self._answers.pop(task_id, None)

    def _request(self, policy: CoordinatorPolicy, task_id: str, task_key: str,
                 body: dict[str, Any]) -> None:
        try:
            answer = self._answer(policy, task_key, body)
        except Exception as e:  # never let a thread die silently: the update must hear of it
            answer = Answer(False, f"coordinator {policy.url} failed: {type(e).__name__}: {e}")
        with self._lock:
            self._busy.discard(policy.url)
            self._asking.discard(task_id)
            self._answers[task_id] = answer

    def _answer(self, policy: CoordinatorPolicy, task_key: str, body: dict[str, Any]) -> Answer:
        where = f"coordinator {policy.url}"
        try:
            response = self._post(policy.url, params={"task": task_key}, json=body,
                                  timeout=self._timeout)
        except httpx.HTTPError as e:
            return Answer(False, f"{where} unreachable ({type(e).__name__}: {e})")
        if response.status_code != 200:
            return Answer(False, f"{where} answered HTTP {response.status_code}")
        try:
            result = response.json()
        except ValueError:
            return Answer(False, f"{where} answered no JSON")
        value = result.get(policy.status_key) if isinstance(result, dict) else None
        if not isinstance(value, bool):
            return Answer(False, f"{where} answered no boolean {policy.status_key!r}")
        log.info("%s answered %s=%s for %s", where, policy.status_key, value, task_key)
        return Answer(value, f"{where} answered {policy.status_key}={str(value).lower()}")


@dataclass
class _Hold:
    said: str | None = None  # the last reason written to the update's events
    retry_at: float = 0.0  # when the coordinator may be asked again
    backoff: float = FIRST_RETRY_SECS


class SlaGate:
    """Whether an ``sla_aware`` update may kill a task now (one per engine).

    :param config: a configuration by id (the store parses each once).
    :param cluster: this scheduler's cluster, for the coordinator's task key.
    """

    def __init__(self, config: Callable[[int], JobConfig], cluster: str,
                 coordinators: Coordinators | None = None) -> None:
        self._config = config
        self._cluster = cluster
        self._coordinators = coordinators or Coordinators()
        self._policies: dict[int, SlaPolicy | None] = {}
        self._holds: dict[tuple[str, str], _Hold] = {}  # (update id, task id)

    def allows(self, ch: Changes, change: UpdateChange, instance: int, victim: TaskRow) -> bool:
        """True when ``victim`` may be killed now; a hold's reason joins the update's events."""
        r = change.record
        config_id = r.desired_config_id if r.forward else r.initial.get(instance)
        policy = self._policy(config_id)
        if policy is None or victim.status in NOT_LAUNCHED:
            return True
        key = (r.update_id, victim.task_id)
        hold = self._holds.get(key)
        if isinstance(policy, CoordinatorPolicy):
            reason = self._ask(policy, victim, config_id, hold, ch.now)
        else:
            reason = count_hold(policy, victim, list(ch.job_tasks(r.job_key)), ch.now)
        if reason is None:
            if hold is not None:
                del self._holds[key]
                self._event(change, ch.now, f"instance {instance}: SLA check passed, continuing")
            return True
        hold = self._holds.setdefault(key, hold or _Hold())
        if reason and reason != hold.said:
            hold.said = reason
            self._event(change, ch.now, f"instance {instance} {reason}")
        return False

    def _ask(self, policy: CoordinatorPolicy, victim: TaskRow, config_id: int | None,
             hold: _Hold | None, now: float) -> str | None:
        """None when the coordinator allowed the kill; '' while waiting silently."""
        if hold is not None and now < hold.retry_at:
            return ""
        config = self._config(config_id) if config_id is not None else None
        task_key = f"{self._cluster}/{victim.job_key}/{victim.instance}"
        answer = self._coordinators.ask(policy, victim.task_id, task_key,
                                        _coordinator_body(task_key, victim, config))
        if answer is None:
            return "" if hold is not None else f"held by SLA: asking coordinator {policy.url}"
        if answer.allowed:
            return None
        if hold is not None:
            hold.retry_at = now + hold.backoff
            hold.backoff = min(hold.backoff * 2, MAX_RETRY_SECS)
        return f"held by SLA: {answer.reason}"

    def retain(self, active: Sequence[UpdateRecord]) -> None:
        """Drop what was kept about the holds of updates no longer active (ended, aborted)."""
        if not self._holds:  # the common case: nothing held, nothing to look at
            return
        ids = {r.update_id for r in active}
        for key in [k for k in self._holds if k[0] not in ids]:
            del self._holds[key]
            self._coordinators.forget(key[1])

    def _policy(self, config_id: int | None) -> SlaPolicy | None:
        if config_id is None:
            return None
        if config_id not in self._policies:  # configurations never change once stored
            self._policies[config_id] = policy_of(self._config(config_id))
        return self._policies[config_id]

    @staticmethod
    def _event(change: UpdateChange, now: float, text: str) -> None:
        r = change.record
        change.write.events.append((r.update_id, UpdateEvent(now, r.status, None, text)))


def _coordinator_body(task_key: str, task: TaskRow, config: JobConfig | None) -> dict[str, Any]:
    """What the coordinator is told about the task (the shape Aurora's coordinators read)."""
    described = dict(config.wire.get("task") or {}) if config is not None else {}
    if config is not None:
        described["job"] = {"role": config.key.role, "environment": config.key.environment,
                            "name": config.key.name}
    return {
        "task": task_key,
        "taskConfig": {
            "status": str(task.status),
            "assignedTask": {"taskId": task.task_id, "slaveHost": task.host,
                             "slaveId": task.agent_id, "instanceId": task.instance,
                             "assignedPorts": dict(task.ports or {}), "task": described},
        },
    }
