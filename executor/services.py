"""What runs beside a task's processes: health checks, announcement, samples, log rotation.

The runner owns the task's state; these services only observe and report back (a health
verdict, an announcer failure), so every state change still goes through the runner's
dispatcher. Each service imports its heavy dependency (kazoo, psutil) only when used.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import checkpoint
from .checkpoint import TaskPaths
from .logs import STREAMS, rotate_if_needed, run_log_dir
from .spec import TaskSpec
from .state import ProcessRun

ROTATE_INTERVAL = 1.0


class Services:
    def __init__(
        self,
        spec: TaskSpec,
        paths: TaskPaths,
        *,
        sandbox: Path,
        log_dir: Path,
        env: dict[str, str],
        hostname: str,
        ensemble: str | None,
        sample_interval: float,
        disk_interval: float,
        log: Callable[[str], None],
        wake: Callable[[], None],
    ) -> None:
        self._spec = spec
        self._paths = paths
        self._sandbox = sandbox
        self._log_dir = log_dir
        self._env = env
        self._hostname = hostname
        self._ensemble = ensemble
        self._sample_interval = sample_interval
        self._disk_interval = disk_interval
        self._log = log
        self._wake = wake
        self._health: Any = None
        self._announcer: Any = None
        self._sampler: Any = None
        self._next_sample = 0.0
        self._next_disk = 0.0
        self._next_rotate = 0.0
        self._rotating = any(
            p.logger.mode == "rotate" and p.logger.destination == "file" for p in spec.processes
        )

    # ------------------------------------------------------------------ health
    def start_health(self) -> bool:
        """Start checking; False when the task has no health check."""
        spec = self._spec.health
        if spec is None:
            return False
        from .health import HealthChecker, http_probe, shell_probe

        if spec.kind == "http":
            probe = http_probe(spec)
        else:
            probe = shell_probe(spec, self._sandbox, self._env)
        self._health = HealthChecker(spec, probe, self._sandbox, self._wake)
        self._health.start()
        return True

    def health(self) -> tuple[str, str | None] | None:
        """The checker's (status, reason), or None without a checker."""
        if self._health is None:
            return None
        verdict = self._health.verdict
        return verdict.status, verdict.reason

    # ------------------------------------------------------------------ announcer
    def start_announcer(self) -> str | None:
        """Join the serverset; an error message if that failed."""
        spec = self._spec.announcer
        if spec is None:
            return None
        if not self._ensemble:
            self._log("the task has an announcer but no ZooKeeper ensemble: not announcing")
            return None
        from .announcer import Announcer

        announcer = Announcer(spec, self._ensemble, self._hostname)
        try:
            znode = announcer.join()
        except Exception as e:
            announcer.leave()
            return f"announcer could not join {spec.path}: {e}"
        self._announcer = announcer
        self._log(f"announced at {znode}")
        return None

    def withdraw(self) -> None:
        """Stop health checks and leave the serverset: the task is going away."""
        if self._health is not None:
            self._health.stop()
        if self._announcer is not None:
            self._announcer.leave()
            self._announcer = None
            self._log("withdrawn from the serverset")

    # ------------------------------------------------------------------ periodic work
    def start_periodic(self, now: float) -> None:
        # The first sample (and psutil's import) waits a second: off the start-up path.
        self._next_sample = now + min(1.0, self._sample_interval)
        self._next_rotate = now + ROTATE_INTERVAL

    def periodic(self, now: float, live: list[ProcessRun]) -> float:
        """Sample resources and rotate logs when due; seconds until the next due time."""
        if now >= self._next_sample:
            self._sample(now, live)
            self._next_sample = now + self._sample_interval
        due = self._next_sample
        if self._rotating:
            if now >= self._next_rotate:
                self._rotate(live)
                self._next_rotate = now + ROTATE_INTERVAL
            due = min(due, self._next_rotate)
        return max(0.0, due - now)

    def _sample(self, now: float, live: list[ProcessRun]) -> None:
        from .resources import Sampler

        if self._sampler is None:
            self._sampler = Sampler()
        with_disk = now >= self._next_disk
        sample = self._sampler.sample(live, self._sandbox, with_disk)
        if with_disk:
            self._next_disk = now + self._disk_interval
        else:  # keep the last disk figure: walking the sandbox is the costly part
            with contextlib.suppress(OSError, ValueError, AttributeError):
                previous = json.loads(self._paths.resources.read_text())
                if "disk_bytes" in previous:
                    sample["disk_bytes"] = previous["disk_bytes"]
        checkpoint.write_json_atomic(self._paths.resources, sample)

    def _rotate(self, live: list[ProcessRun]) -> None:
        for run in live:
            logger = self._spec.process(run.process).logger
            if logger.destination == "file":
                for stream in STREAMS:
                    rotate_if_needed(
                        run_log_dir(self._log_dir, run.process, run.run) / stream, logger
                    )
