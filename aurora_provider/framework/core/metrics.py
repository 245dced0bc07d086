"""The scheduler's metrics (prometheus-client), in a registry of their own per scheduler.

Names are ours (``aurora_*``) and, where Aurora had one, Aurora's too: ``task_store_<STATE>``
(tasks by state), ``scheduler_resource_offers`` (offers seen), ``timed_out_tasks`` (tasks
that stayed too long in a transient state), ``framework_registered`` (1 on the leader),
``http_500_responses_events``. Task counts are read from the store at scrape time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from aurora_provider.states.task import TaskState

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                   10.0)


class _TasksByState(Collector):
    """``aurora_tasks{state}`` and Aurora's ``task_store_<STATE>``, read when scraped."""

    def __init__(self, count: Callable[[], Mapping[TaskState, int]]) -> None:
        self._count = count

    def collect(self) -> Iterator[GaugeMetricFamily]:
        counts = self._count()
        family = GaugeMetricFamily("aurora_tasks", "Tasks by state (terminal ones until "
                                   "pruned).", labels=["state"])
        for state in TaskState:
            family.add_metric([state.value], counts.get(state, 0))
        yield family
        for state in TaskState:
            yield GaugeMetricFamily(f"task_store_{state.value}",
                                    f"Tasks in {state.value} (Aurora's name).",
                                    value=counts.get(state, 0))


class SchedulerMetrics:
    """Counters, gauges and histograms of one scheduler; ``registry`` is what /metrics shows."""

    def __init__(self, count_tasks: Callable[[], Mapping[TaskState, int]] | None = None,
                 registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.rounds = Counter("aurora_rounds", "Scheduling rounds.", registry=r)
        self.placements = Counter("aurora_placements", "Tasks placed.", registry=r)
        self.transitions = Counter("aurora_transitions", "Task state changes.", registry=r)
        self.pruned = Counter("aurora_pruned_tasks", "Terminal tasks pruned.", registry=r)
        self.offers = Gauge("aurora_offers", "Offers seen in the last placement.", registry=r)
        self.offers_seen = Counter("scheduler_resource_offers", "Resource offers received.",
                                   registry=r)
        self.timed_out = Counter("timed_out_tasks", "Tasks lost after too long in a "
                                 "transient state.", registry=r)
        self.registered = Gauge("framework_registered", "1 while this scheduler leads and "
                                "its backend is started.", registry=r)
        self.round_seconds = Histogram("aurora_round_seconds", "Duration of a scheduling "
                                       "round.", buckets=LATENCY_BUCKETS, registry=r)
        self.api_seconds = Histogram("aurora_api_request_seconds", "API latency by route.",
                                     ["method", "route", "status"], buckets=LATENCY_BUCKETS,
                                     registry=r)
        self.http_500 = Counter("http_500_responses_events", "HTTP 500 answers.", registry=r)
        if count_tasks is not None:
            r.register(_TasksByState(count_tasks))

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.api_seconds.labels(method=method, route=route, status=str(status)).observe(seconds)
        if status >= 500:
            self.http_500.inc()
