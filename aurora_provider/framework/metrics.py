"""Counters and histograms, rendered in the Prometheus text format (no client library)."""

from __future__ import annotations

import bisect
import threading
from collections.abc import Mapping

_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Histogram:
    def __init__(self, buckets: tuple[float, ...] = _BUCKETS) -> None:
        self.buckets = buckets
        self.counts = [0] * len(buckets)
        self.total = 0.0
        self.count = 0
        self._lock = threading.Lock()

    def observe(self, value: float) -> None:
        with self._lock:
            index = bisect.bisect_left(self.buckets, value)
            if index < len(self.counts):
                self.counts[index] += 1
            self.total += value
            self.count += 1

    def render(self, name: str, labels: str = "") -> list[str]:
        sep = "," if labels else ""
        lines = []
        cumulative = 0
        with self._lock:
            for bound, n in zip(self.buckets, self.counts, strict=True):
                cumulative += n
                lines.append(f'{name}_bucket{{{labels}{sep}le="{bound}"}} {cumulative}')
            lines.append(f'{name}_bucket{{{labels}{sep}le="+Inf"}} {self.count}')
            lines.append(f"{name}_sum{{{labels}}} {self.total}")
            lines.append(f"{name}_count{{{labels}}} {self.count}")
        return lines


class Metrics:
    """The scheduler's own figures; task counts by state are read at scrape time."""

    def __init__(self) -> None:
        self.rounds = 0
        self.placements = 0
        self.transitions = 0
        self.pruned = 0
        self.offers = 0
        self.round_seconds = Histogram()
        self.api: dict[tuple[str, str, int], Histogram] = {}
        self._lock = threading.Lock()

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        with self._lock:
            histogram = self.api.get(key)
            if histogram is None:
                histogram = self.api[key] = Histogram()
        histogram.observe(seconds)

    def render(self, tasks_by_state: Mapping[str, int]) -> str:
        out = [
            "# HELP aurora_tasks Tasks by state (terminal ones until pruned).",
            "# TYPE aurora_tasks gauge",
        ]
        out += [f'aurora_tasks{{state="{s}"}} {n}' for s, n in sorted(tasks_by_state.items())]
        for name, kind, value, text in (
            ("aurora_offers", "gauge", self.offers, "Offers seen in the last placement."),
            ("aurora_placements_total", "counter", self.placements, "Tasks placed."),
            ("aurora_transitions_total", "counter", self.transitions, "Task state changes."),
            ("aurora_rounds_total", "counter", self.rounds, "Scheduling rounds."),
            ("aurora_pruned_tasks_total", "counter", self.pruned, "Terminal tasks pruned."),
        ):
            out += [f"# HELP {name} {text}", f"# TYPE {name} {kind}", f"{name} {value}"]
        out += ["# HELP aurora_round_seconds Duration of a scheduling round.",
                "# TYPE aurora_round_seconds histogram"]
        out += self.round_seconds.render("aurora_round_seconds")
        out += ["# HELP aurora_api_request_seconds API latency by route.",
                "# TYPE aurora_api_request_seconds histogram"]
        with self._lock:
            items = sorted(self.api.items())
        for (method, route, status), histogram in items:
            labels = f'method="{method}",route="{route}",status="{status}"'
            out += histogram.render("aurora_api_request_seconds", labels)
        return "\n".join(out) + "\n"
