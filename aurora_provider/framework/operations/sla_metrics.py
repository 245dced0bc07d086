"""Aurora's SLA metrics (``docs/features/sla-metrics.md``), computed from task events over
one window (Aurora's ``-sla_stat_refresh_interval``, a minute) and shown on /metrics.

Only service jobs count: production ones, and the others under ``_nonprod`` names when
asked (Aurora's ``-sla_non_prod_metrics``). For each job (``sla_<role>_<env>_<name>_``, the
job key with ``/`` and other characters Prometheus refuses as ``_``) and the whole cluster
(``sla_cluster_``):

* ``platform_uptime_percent`` (job, cluster): the share of the window the instances were up,
  leaving out the time a user took them down. Each instance's events (all its tasks) make
  a timeline: RUNNING and PARTITIONED start UP; LOST, DRAINING and PREEMPTING start DOWN
  (the platform's fault), as does KILLED straight from UP; PENDING, ASSIGNED and STARTING
  continue DOWN, else are REMOVED, as are THROTTLED, FINISHED, FAILED, RESTARTING and
  KILLING. REMOVED time counts for neither side; no instance in the window is 100%.
* ``job_uptime_<P>_00_sec`` (job; P = 50, 75, 90, 95, 99): the uptime at least P% of the
  RUNNING instances have reached at the window's end.
* ``mtta_ms``, ``mtts_ms``, ``mttr_ms`` (job, cluster): the median time from PENDING to
  ASSIGNED, STARTING and RUNNING, over active tasks that reached that state in the window.

The values are computed when a scrape finds them older than the window, so a scrape costs
nothing in between and every scrape of a window sees the same values.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import Enum

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from aurora_provider.framework.model.job_config import JobConfig
from aurora_provider.framework.storage.rows import EventRow, TaskRow
from aurora_provider.framework.storage.store import Store
from aurora_provider.states.task import ACTIVE, TaskState

S = TaskState
UPTIME_PERCENTILES = (50.0, 75.0, 90.0, 95.0, 99.0)
MEDIANS = (("mtta_ms", S.ASSIGNED), ("mtts_ms", S.STARTING), ("mttr_ms", S.RUNNING))
_UNSAFE = re.compile(r"[^A-Za-z0-9_]")


class Sla(Enum):
    """What a moment of an instance's timeline means for the platform's uptime."""

    REMOVED = "removed"  # a user's doing, or not yet started: not counted
    DOWN = "down"
    UP = "up"


_STARTS = {S.LOST: Sla.DOWN, S.DRAINING: Sla.DOWN, S.PREEMPTING: Sla.DOWN,
           S.RUNNING: Sla.UP, S.PARTITIONED: Sla.UP,
           S.THROTTLED: Sla.REMOVED, S.FINISHED: Sla.REMOVED, S.RESTARTING: Sla.REMOVED,
           S.FAILED: Sla.REMOVED, S.KILLING: Sla.REMOVED}
_WAITING = frozenset({S.PENDING, S.ASSIGNED, S.STARTING})  # keep DOWN, else REMOVED


@dataclass(frozen=True)
class Window:
    start: float
    end: float


def quantile(values: Sequence[float], index: int, scale: int = 100) -> float:
    """The ``index``-th of ``scale`` quantiles, linearly interpolated (0.0 for none)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    position = index * (len(ordered) - 1) / scale
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def job_uptime(tasks: Iterable[TaskRow], percentile: float, window: Window) -> float:
    """Seconds the ``percentile`` share of the RUNNING tasks have been up at the end."""
    uptimes = [window.end - t.status_at for t in tasks if t.status is S.RUNNING]
    return quantile(uptimes, round(100 - percentile))


def median_wait(tasks: Iterable[TaskRow], events: dict[str, list[EventRow]],
                reached: TaskState, window: Window) -> float:
    """Median milliseconds from PENDING to ``reached`` of active tasks reaching it in the
    window."""
    waits = []
    for task in tasks:
        if task.status not in ACTIVE:
            continue
        pending_at = None
        for e in events.get(task.task_id, ()):
            if e.status is S.PENDING:
                pending_at = e.timestamp
            elif e.status is reached and window.start <= e.timestamp < window.end:
                if pending_at is not None:
                    waits.append((e.timestamp - pending_at) * 1000)
                break
    return quantile(waits, 50)


def _intervals(events: Sequence[EventRow]) -> list[tuple[Sla, float, float]]:
    """An instance's timeline (its tasks' events in time order) as SLA intervals."""
    found: list[tuple[Sla, float, float]] = []
    state, since = Sla.REMOVED, 0.0
    for e in events:
        if e.status in _STARTS:
            new = _STARTS[e.status]
        elif e.status in _WAITING:
            new = Sla.DOWN if state is Sla.DOWN else Sla.REMOVED
        elif e.status is S.KILLED:
            new = Sla.DOWN if state is Sla.UP else state
        else:  # INIT
            continue
        if new is not state:
            found.append((state, since, e.timestamp))
            state, since = new, e.timestamp
    found.append((state, since, math.inf))
    return found


def platform_uptime(timelines: Iterable[Sequence[EventRow]], window: Window) -> float:
    """The percentage of the window the instances were up, REMOVED time left out."""
    up = total = 0.0
    for events in timelines:
        instance_up = instance_total = window.end - window.start
        for state, start, end in _intervals(events):
            overlap = min(end, window.end) - max(start, window.start)
            if overlap <= 0:
                continue
            if state is Sla.REMOVED:
                instance_up -= overlap
                instance_total -= overlap
            elif state is Sla.DOWN:
                instance_up -= overlap
        up += instance_up
        total += instance_total
    return up * 100 / total if total > 0 else 100.0


def metric_name(prefix: str, job_key: str | None, stat: str, qualifier: str) -> str:
    """Aurora's stat name (``sla_<job>_<stat>``, ``sla_cluster_<stat>``), made a valid
    Prometheus name."""
    group = "cluster" if job_key is None else job_key
    return _UNSAFE.sub("_", f"{prefix}{group}_{stat}{qualifier}")


def compute(tasks: Sequence[TaskRow], events: dict[str, list[EventRow]], window: Window,
            qualifier: str) -> dict[str, float]:
    """Every SLA metric of one set of tasks (production or not), by name."""
    found: dict[str, float] = {}
    by_job: dict[str, list[TaskRow]] = {}
    for t in tasks:
        by_job.setdefault(t.job_key, []).append(t)
    groups: list[tuple[str | None, Sequence[TaskRow]]] = [(None, tasks)]
    groups += sorted(by_job.items())
    for job_key, group in groups:
        for stat, reached in MEDIANS:
            found[metric_name("sla_", job_key, stat, qualifier)] = median_wait(
                group, events, reached, window)
        found[metric_name("sla_", job_key, "platform_uptime_percent", qualifier)] = \
            platform_uptime(_timelines(group, events), window)
        if job_key is not None:
            for p in UPTIME_PERCENTILES:
                stat = f"job_uptime_{p:.2f}_sec".replace(".", "_")
                found[metric_name("sla_", job_key, stat, qualifier)] = job_uptime(
                    group, p, window)
    return found


def _timelines(tasks: Iterable[TaskRow], events: dict[str, list[EventRow]]
               ) -> list[list[EventRow]]:
    by_instance: dict[tuple[str, int], list[EventRow]] = {}
    for t in tasks:
        by_instance.setdefault((t.job_key, t.instance), []).extend(events.get(t.task_id, ()))
    return [sorted(e, key=lambda row: row.timestamp) for e in by_instance.values()]


class SlaMetrics(Collector):
    """The SLA metrics as one collector of /metrics' registry, recomputed once per window.

    :param config: a configuration by id (production, service).
    :param window_secs: the window the metrics are computed over, and how long they stand.
    :param non_prod: also compute them for non-production services (``_nonprod``).
    """

    def __init__(self, store: Store, config: Callable[[int], JobConfig],
                 clock: Callable[[], float], window_secs: float = 60.0,
                 non_prod: bool = False) -> None:
        self._store = store
        self._config = config
        self._clock = clock
        self._window_secs = window_secs
        self._non_prod = non_prod
        self._lock = threading.Lock()
        self._values: dict[str, float] = {}
        self._computed_at = -math.inf

    def values(self) -> dict[str, float]:
        """The metrics of the latest window, computed now if that window has passed."""
        with self._lock:
            now = self._clock()
            if now - self._computed_at >= self._window_secs:
                self._values = self._compute(Window(now - self._window_secs, now))
                self._computed_at = now
            return self._values

    def collect(self) -> Iterator[GaugeMetricFamily]:
        for name, value in sorted(self.values().items()):
            yield GaugeMetricFamily(name, "Aurora's SLA metric (see the operations guide).",
                                    value=value)

    def _compute(self, window: Window) -> dict[str, float]:
        prod: list[TaskRow] = []
        other: list[TaskRow] = []
        for task in self._store.tasks.tasks():
            config = self._config(task.config_id)
            if config.task.is_service:
                (prod if config.task.production else other).append(task)
        counted = prod + (other if self._non_prod else [])
        events = self._store.tasks.events(task_ids=[t.task_id for t in counted]) \
            if counted else {}
        found = compute(prod, events, window, "") if prod else {}
        if self._non_prod and other:
            found.update(compute(other, events, window, "_nonprod"))
        return found
