"""Job SLA policies and the gate that applies them before a task on a host is killed.

Aurora checked a job's ``sla_policy`` before an SLA-aware kill: an ``sla_aware`` update's,
a rolling restart's of an ``sla_aware`` job, and a host drain's. The rules live here once;
each feature owns a :class:`SlaGate` and says, through a callback, where a hold's reason
goes (an update's events, a restart's status, a host's drain status).

* ``CountSlaPolicy(count, duration_secs)``: after the kill, at least ``count`` of the job's
  other tasks must have been RUNNING for ``duration_secs``.
* ``PercentageSlaPolicy(percentage, duration_secs)``: the same, as a share of the job's
  active tasks. Both are relaxed to "all but one" when the job has shrunk below the policy,
  so a policy never blocks forever.
* ``CoordinatorSlaPolicy(coordinator_url, status_key)``: the coordinator decides. It gets a
  POST ``?task=cluster/role/env/name/instance`` whose JSON body names the task and describes
  it (``task``, ``taskConfig``); a 200 answer whose ``status_key`` is ``true`` allows the
  kill. Requests run on a thread, one at a time per coordinator: a round asks, a later
  round reads the answer, so a slow coordinator never stalls scheduling. A refusal or an
  unreachable coordinator holds the task; it is asked again after a backoff.

A task not yet on a host (PENDING, THROTTLED) serves nobody and is never held.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from aurora_provider.framework.core.changes import Changes
from aurora_provider.framework.model.job_config import JobConfig
from aurora_provider.framework.storage.rows import TaskRow
from aurora_provider.states.task import NOT_LAUNCHED, TaskState

log = logging.getLogger("aurora_provider.framework.sla")

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


def is_sla_aware(config: JobConfig) -> bool:
    """Whether the job's ``UpdateConfig`` asks for SLA-aware kills."""
    return bool(config.update_config.get("sla_aware"))


def required_running(policy: CountPolicy | PercentagePolicy, active: int) -> int:
    """How many of ``active`` tasks must stay RUNNING; at most all but one."""
    if isinstance(policy, CountPolicy):
        needed = policy.count
    else:
        needed = math.ceil(policy.percentage * active / 100 - 1e-9)
    return max(0, min(needed, active - 1))


def count_hold(policy: CountPolicy | PercentagePolicy, victim: TaskRow,
               tasks: Sequence[TaskRow], now: float) -> str | None:
    """Why killing ``victim`` would break the policy (``tasks``: the job's active tasks, as
    the kills let go so far leave them), or None when it may go."""
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
        except Exception as e:  # never let a thread die silently: the caller must hear of it
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
    said: str | None = None  # the last reason told
    retry_at: float = 0.0  # when the coordinator may be asked again
    backoff: float = FIRST_RETRY_SECS


# Told a hold's reason when it changes, and None once the hold is released.
Say = Callable[[str | None], None]


class SlaGate:
    """Whether a task may be killed now under a policy (one per feature that kills).

    Holds are remembered by ``owner`` (an update, a restart, a drained host) and task, so
    a reason is told once and a coordinator is asked again only after a backoff.

    :param config: a configuration by id (the store parses each once).
    :param cluster: this scheduler's cluster, for the coordinator's task key.
    """

    def __init__(self, config: Callable[[int], JobConfig], cluster: str,
                 coordinators: Coordinators | None = None) -> None:
        self._config = config
        self._cluster = cluster
        self._coordinators = coordinators or Coordinators()
        self._policies: dict[int, SlaPolicy | None] = {}
        self._holds: dict[tuple[str, str], _Hold] = {}  # (owner, task id)

    def policy(self, config_id: int | None) -> SlaPolicy | None:
        """The policy of a stored configuration (cached: configurations never change)."""
        if config_id is None:
            return None
        if config_id not in self._policies:
            self._policies[config_id] = policy_of(self._config(config_id))
        return self._policies[config_id]

    def check(self, ch: Changes, owner: str, victim: TaskRow, policy: SlaPolicy | None,
              say: Say, *, config_id: int | None = None) -> bool:
        """True when ``victim`` may be killed now under ``policy`` (None: no policy).

        :param config_id: the configuration the coordinator is told about (default: the
            victim's own).
        """
        if policy is None or victim.status in NOT_LAUNCHED:
            return True
        key = (owner, victim.task_id)
        hold = self._holds.get(key)
        if isinstance(policy, CoordinatorPolicy):
            described = victim.config_id if config_id is None else config_id
            reason = self._ask(policy, victim, described, hold, ch.now)
        else:
            reason = count_hold(policy, victim, list(ch.job_tasks(victim.job_key)), ch.now)
        if reason is None:
            if hold is not None:
                del self._holds[key]
                say(None)
            return True
        hold = self._holds.setdefault(key, hold or _Hold())
        if reason and reason != hold.said:
            hold.said = reason
            say(reason)
        return False

    def held(self, owner: str) -> dict[str, str]:
        """The last reason told for each of ``owner``'s held tasks, by task id."""
        return {t: h.said for (o, t), h in self._holds.items() if o == owner and h.said}

    def _ask(self, policy: CoordinatorPolicy, victim: TaskRow, config_id: int,
             hold: _Hold | None, now: float) -> str | None:
        """None when the coordinator allowed the kill; '' while waiting silently."""
        if hold is not None and now < hold.retry_at:
            return ""
        task_key = f"{self._cluster}/{victim.job_key}/{victim.instance}"
        answer = self._coordinators.ask(policy, victim.task_id, task_key,
                                        _coordinator_body(task_key, victim,
                                                          self._config(config_id)))
        if answer is None:
            return "" if hold is not None else f"held by SLA: asking coordinator {policy.url}"
        if answer.allowed:
            return None
        if hold is not None:
            hold.retry_at = now + hold.backoff
            hold.backoff = min(hold.backoff * 2, MAX_RETRY_SECS)
        return f"held by SLA: {answer.reason}"

    def release(self, owner: str, task_id: str) -> None:
        """Forget one hold (its task went another way)."""
        if self._holds.pop((owner, task_id), None) is not None:
            self._coordinators.forget(task_id)

    def retain(self, owners: Collection[str]) -> None:
        """Drop what was kept about the holds of owners no longer active."""
        if not self._holds:  # the common case: nothing held, nothing to look at
            return
        for key in [k for k in self._holds if k[0] not in owners]:
            del self._holds[key]
            self._coordinators.forget(key[1])


def _coordinator_body(task_key: str, task: TaskRow, config: JobConfig) -> dict[str, Any]:
    """What the coordinator is told about the task (the shape Aurora's coordinators read)."""
    described = dict(config.wire.get("task") or {})
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
