"""Aurora's ``/vars``: every metric of the scheduler as one flat ``name value`` pair.

Monitoring written for Aurora reads ``/vars`` (text, one ``name value`` per line, sorted) or
``/vars.json`` and alerts on Aurora's stat names (``framework_registered``,
``task_store_LOST``, ``scheduler_resource_offers``, ``timed_out_tasks``,
``http_500_responses_events``, ``jvm_uptime_secs``, ``system_load_avg``...). The values are
those of ``/metrics``, flattened the way Aurora named them:

* a counter without Prometheus's ``_total`` suffix (``timed_out_tasks``);
* a labelled sample with its label values appended (``aurora_tasks_RUNNING``);
* a histogram of seconds as Aurora's timers: ``NAME_events`` (how many) and
  ``NAME_nanos_total`` (their sum), ``NAME`` without ``_seconds``;
* the process's figures under Aurora's names: ``jvm_uptime_secs`` (the scheduler process's
  uptime: there is no JVM, the name is kept for existing alerts), ``system_load_avg`` (the
  one-minute load average) and ``process_cpu_cores_utilized`` (CPU seconds per second since
  start), plus ``scheduler_lifecycle_<STATE>``, 1 for the state this scheduler is in.
"""

from __future__ import annotations

import os
import re
import time

from prometheus_client import CollectorRegistry

Value = float | int

# Aurora's scheduler lifecycle states that have a meaning here.
LIFECYCLE = ("STORAGE_PREPARED", "LEADER_AWAITING_REGISTRATION", "ACTIVE")
_UNSAFE = re.compile(r"[^A-Za-z0-9_]")


def process_started_at() -> float:
    """When this process started (Linux's /proc), else now."""
    try:
        with open("/proc/self/stat") as f:
            ticks = int(f.read().rsplit(")", 1)[1].split()[19])  # field 22, starttime
        with open("/proc/stat") as f:
            boot = next(int(line.split()[1]) for line in f if line.startswith("btime "))
    except (OSError, ValueError, IndexError, StopIteration):
        return time.time()
    return boot + ticks / os.sysconf("SC_CLK_TCK")


def lifecycle_state(leader: bool, ready: bool) -> str:
    """A follower has prepared its storage; a leader awaits its backend, then is active."""
    if not leader:
        return "STORAGE_PREPARED"
    return "ACTIVE" if ready else "LEADER_AWAITING_REGISTRATION"


def stat_vars(registry: CollectorRegistry, *, started_at: float, state: str,
              now: float | None = None) -> dict[str, Value]:
    """The flat stats, by name (sorted)."""
    now = time.time() if now is None else now
    found: dict[str, Value] = {}
    for family in registry.collect():
        for sample in family.samples:
            named = _aurora_name(family.name, family.type, sample.name, sample.labels)
            if named is not None:
                name, scale = named
                value = sample.value * scale
                found[name] = int(value) if scale != 1 else _number(value)
    uptime = max(0.0, now - started_at)
    found["jvm_uptime_secs"] = int(uptime)
    found["system_load_avg"] = os.getloadavg()[0]
    cpu = os.times()
    found["process_cpu_cores_utilized"] = (cpu.user + cpu.system) / uptime if uptime else 0.0
    for s in LIFECYCLE:
        found[f"scheduler_lifecycle_{s}"] = int(s == state)
    return dict(sorted(found.items()))


def _aurora_name(family: str, kind: str, sample: str,
                 labels: dict[str, str]) -> tuple[str, float] | None:
    """The sample's flat name and the factor its value is multiplied by (seconds to nanos
    for a timer's total), or None for what Aurora had no stat for."""
    suffix = sample[len(family):]
    scale = 1.0
    if suffix == "_created":  # when a counter was made: not a stat
        return None
    if kind == "histogram":
        timer = family.removesuffix("_seconds")
        if suffix == "_count":
            base = f"{timer}_events"
        elif suffix == "_sum":
            base, scale = f"{timer}_nanos_total", 1e9
        else:  # the buckets: Prometheus's, not Aurora's
            return None
    elif kind == "counter" and suffix == "_total":
        base = family
    else:
        base = sample
    parts = [base, *(labels[k] for k in sorted(labels))]
    return _UNSAFE.sub("_", "_".join(parts)), scale


def _number(value: float) -> Value:
    return int(value) if float(value).is_integer() else value


def as_text(stats: dict[str, Value]) -> str:
    """Aurora's text form: ``name value`` per line."""
    return "".join(f"{name} {value}\n" for name, value in stats.items())
