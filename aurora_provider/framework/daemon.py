"""The composition root: the one place the scheduler's parts are built and wired.

``assemble()`` builds the core, the features and the HTTP app over a store and a backend,
handing each part exactly what it needs (round hooks, job guards and placement plug-ins at
construction). ``Daemon`` opens the store and the backend from settings and offers
``start()`` / ``stop()``: what a replica calls when it wins a leader election and when it
loses it, any number of times in one process. Its ``asgi`` app stays up across both and
answers 503 while the scheduler is stopped. The local backend's observer child, when there
is one, is started and stopped with the scheduler.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from aurora_provider.api.errors import SchedulerUnavailable
from aurora_provider.api.serverset import Endpoint
from aurora_provider.framework.backends.base import (
    Backend,
    ConfigRefusal,
    EventSource,
    LogSource,
    Readiness,
)
from aurora_provider.framework.backends.local.observer import ObserverProcess
from aurora_provider.framework.core.ledger import TaskLedger
from aurora_provider.framework.core.lifecycle import TaskLifecycle
from aurora_provider.framework.core.metrics import SchedulerMetrics
from aurora_provider.framework.core.ports import JobGuards, RoundHook
from aurora_provider.framework.core.scheduler import Scheduler
from aurora_provider.framework.core.settings import SchedulerSettings
from aurora_provider.framework.http.app import create_app
from aurora_provider.framework.http.auth import Authenticator
from aurora_provider.framework.http.deps import ApiServices
from aurora_provider.framework.jobs.admission import Admission, jobs_of_role
from aurora_provider.framework.jobs.restarts import RollingRestarts
from aurora_provider.framework.jobs.service import JobService
from aurora_provider.framework.operations.backups import Backups, default_backup_dir
from aurora_provider.framework.operations.cron import CronService
from aurora_provider.framework.operations.housekeeping import Housekeeping
from aurora_provider.framework.operations.maintenance import Maintenance
from aurora_provider.framework.operations.preemption import Preemptor
from aurora_provider.framework.operations.quota import Quotas
from aurora_provider.framework.operations.recovery import StagedRecovery
from aurora_provider.framework.operations.settings import OpsSettings
from aurora_provider.framework.operations.sla_domain import SlaDomain
from aurora_provider.framework.operations.sla_metrics import SlaMetrics
from aurora_provider.framework.operations.webhooks import WebhookConfig, WebhookSender
from aurora_provider.framework.placement.demand import Demands
from aurora_provider.framework.placement.placer import Placer
from aurora_provider.framework.placement.tiers import AURORA_TIERS, TierTable
from aurora_provider.framework.storage import snapshots
from aurora_provider.framework.storage.leadership import take_epoch
from aurora_provider.framework.storage.store import Store, open_store
from aurora_provider.framework.updates.active import ActiveUpdates
from aurora_provider.framework.updates.controller import UpdateController
from aurora_provider.framework.updates.engine import UpdateEngine

log = logging.getLogger("aurora_provider.framework")


@dataclass
class Parts:
    """One assembled scheduler: what tests, the loop and the HTTP app reach."""

    store: Store
    backend: Backend
    metrics: SchedulerMetrics
    ledger: TaskLedger
    scheduler: Scheduler
    restarts: RollingRestarts
    jobs: JobService
    active_updates: ActiveUpdates
    updates: UpdateController
    cron: CronService
    quotas: Quotas
    maintenance: Maintenance
    backups: Backups
    housekeeping: Housekeeping
    app: FastAPI
    webhook: WebhookSender | None = None  # started and stopped with the loop

    def recover(self) -> None:
        """Load what the store holds and re-attach to running tasks (before the first
        round)."""
        self.scheduler.recover()
        self.restarts.recover()
        self.active_updates.recover()
        self.maintenance.recover()
        self.cron.recover()
        self.metrics.registered.set(1)  # the backend is started: this scheduler serves


def assemble(store: Store, backend: Backend, settings: SchedulerSettings, ops: OpsSettings,
             auth: Authenticator, *, clock: Callable[[], float] = time.time,
             is_leader: Callable[[], bool] = lambda: True,
             wake: Callable[[], None] = lambda: None,
             observer_url: str | None = None, tiers: TierTable = AURORA_TIERS,
             webhook: WebhookConfig | None = None,
             recovery: StagedRecovery | None = None) -> Parts:
    """Wire every part over ``store`` and ``backend`` (no thread, nothing started).

    ``wake`` is called when a round has work: a commit, or an event of the backend.
    ``observer_url`` is what ``ClusterInfo`` says of the agents' observers.
    ``tiers`` is what admission, quota and preemption know of tiers (``--tier-config``);
    ``webhook``, when given, is told of every committed task state change.
    ``recovery`` is the daemon's staged recovery (it outlives one start).
    """
    metrics = SchedulerMetrics(store.tasks.count_by_status)
    sender = None if webhook is None else WebhookSender(webhook, metrics.registry,
                                                        cluster=settings.cluster, clock=clock)
    config_of = store.jobs.config
    demands = Demands(config_of, settings.overhead, settings.custom_executors)
    lifecycle = TaskLifecycle(config_of, store.tasks, settings)
    ledger = TaskLedger(store, backend, lifecycle, demands, clock, metrics, on_commit=wake,
                        published=sender.published if sender is not None else None)
    if isinstance(backend, EventSource):
        backend.on_event(wake)
    admission = Admission(settings, tiers, role_jobs=jobs_of_role(store),
                          backend_refusal=(backend.refusal if isinstance(backend, ConfigRefusal)
                                           else lambda _config: None))
    quotas = Quotas(ledger, store, tiers)
    maintenance = Maintenance(ledger, store, settings.cluster,
                              min_sla_instances=ops.sla_min_instances)
    metrics.registry.register(SlaMetrics(store, config_of, clock, ops.sla_stat_refresh_secs,
                                         ops.sla_non_prod_metrics))
    placer = Placer(order=maintenance.order, filters=[maintenance.veto])
    restarts = RollingRestarts(ledger, store, settings.cluster)
    active_updates = ActiveUpdates(ledger, store, settings.cluster)
    updates = UpdateController(active_updates, admission, quotas, JobGuards([restarts]))
    jobs = JobService(ledger, store, admission, restarts, quotas, JobGuards([active_updates]))
    cron = CronService(ledger, store, admission, quotas)
    backups = Backups(store, ops.backup_dir or default_backup_dir(store), clock,
                      interval_secs=ops.backup_interval_secs, kept=ops.backups_kept)
    hooks: list[RoundHook] = [cron, maintenance, backups]
    if ops.preemption_enabled:
        hooks.append(Preemptor(ledger, backend, demands, placer, ops.preemption_delay_secs,
                               tiers))
    scheduler = Scheduler(ledger, store, backend, placer, demands, settings, metrics,
                          round_hooks=hooks,
                          round_steps=[restarts, UpdateEngine(active_updates)])
    housekeeping = Housekeeping(ledger, store, backend)
    app = create_app(ApiServices(
        cluster=settings.cluster, backend_name=backend.name, jobs=jobs, updates=updates,
        cron=cron, quotas=quotas, maintenance=maintenance,
        sla_domain=SlaDomain(ledger, store), backups=backups,
        housekeeping=housekeeping, config_history=store.jobs.config_history,
        observer_url=observer_url, logs=backend if isinstance(backend, LogSource) else None,
        readiness=backend.problem if isinstance(backend, Readiness) else lambda: None,
        metrics=metrics, auth=auth, clock=clock, is_leader=is_leader, recovery=recovery),
        max_body_bytes=settings.max_body_bytes)
    return Parts(store, backend, metrics, ledger, scheduler, restarts, jobs, active_updates,
                 updates, cron, quotas, maintenance, backups, housekeeping, app, sender)


def freeze_imported_objects() -> None:
    """Take every object alive now out of the garbage collector's sight, once, at start-up.

    They are the modules (FastAPI, pydantic, SQLAlchemy, the app's own) and live as long as
    the process; a full collection that walks them costs a large update about 15% of its
    rounds (``bench/updates.py``). Call it before the first ``start()``: what a start builds
    is collected as usual when a stop drops it.
    """
    gc.collect()
    gc.freeze()


class Loop:
    """Runs scheduling rounds in a thread until stopped: every ``interval``, and at once
    when woken (a commit, an offer, a status update), so work never waits for the clock.

    A round that commits wakes the next one; a round with nothing to do does not, so the
    loop settles back to the interval once the work is done.
    """

    def __init__(self, scheduler: Scheduler, interval: float, woken: threading.Event) -> None:
        """:param woken: what wakes the loop when set (a commit, a backend's event)."""
        self._scheduler = scheduler
        self._interval = interval
        self._stop = threading.Event()
        self._woken = woken
        self._thread = threading.Thread(target=self._run, name="scheduling-loop", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._woken.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._woken.clear()
            try:
                self._scheduler.run_round()
            except Exception:  # a bad round must not stop scheduling; the next one retries
                log.exception("scheduling round failed")
                self._stop.wait(self._interval)  # and not in a hot loop
            self._woken.wait(self._interval)


@dataclass(frozen=True)
class DaemonSettings:
    db_url: str
    auth_file: Path
    scheduler: SchedulerSettings = field(default_factory=SchedulerSettings)
    ops: OpsSettings = field(default_factory=OpsSettings)
    # The agents' observers, a template with ``{host}`` (None: no observer).
    observer_url: str | None = None
    tiers: TierTable = AURORA_TIERS  # --tier-config
    webhook: WebhookConfig | None = None  # --webhook-config


class Daemon:
    """The scheduler built from settings, started and stopped as one thing.

    :param settings: where the store and the auth file are, and every tunable.
    :param backend: makes the backend for one start over its store (a fresh one each time).
    :param clock: the clock of every part (tests move it).
    :param observer: the local backend's observer child, run while the scheduler runs.
    """

    def __init__(self, settings: DaemonSettings, backend: Callable[[Store], Backend], *,
                 clock: Callable[[], float] = time.time,
                 observer: ObserverProcess | None = None,
                 holder: str | None = None) -> None:
        """:param holder: who this replica is, in the store's fence (default: host and pid).
        """
        self.settings = settings
        self._make_backend = backend
        self._clock = clock
        self.observer = observer
        self.holder = holder or f"{socket.gethostname()} pid {os.getpid()}"
        self._lock = threading.Lock()
        self.parts: Parts | None = None
        self._loop: Loop | None = None
        self.recovery = StagedRecovery(self._replace_store, clock)
        # Told when the store's fence refuses a write (another scheduler took the store);
        # replicas in an election hand it to their leadership, a lone scheduler stops.
        self.on_deposed: Callable[[str], None] = self._stop_deposed
        # Where the leader is, for a replica that does not lead (None: no election).
        self.leader: Callable[[], Endpoint | None] | None = None
        self._deposed_why: str | None = None

    @property
    def running(self) -> bool:
        return self.parts is not None

    def start(self) -> Parts:
        """Open the store and the backend, recover, and start the scheduling loop."""
        with self._lock:
            if self.parts is not None:
                return self.parts
            auth = Authenticator.from_file(self.settings.auth_file)
            store = open_store(self.settings.db_url)
            try:
                # From here on every earlier leader's writes are refused.
                store.db.fence(take_epoch(store.engine, self.holder, self._clock()),
                               self.on_deposed)
                backend = self._make_backend(store)
            except BaseException:
                store.close()
                raise
            woken = threading.Event()  # handed out before the loop it wakes exists
            try:
                parts = assemble(store, backend, self.settings.scheduler, self.settings.ops,
                                 auth, clock=self._clock, is_leader=lambda: self.running,
                                 wake=woken.set, observer_url=self.settings.observer_url,
                                 tiers=self.settings.tiers, webhook=self.settings.webhook,
                                 recovery=self.recovery)
                parts.recover()
                if self.observer is not None:
                    self.observer.start()
                if parts.webhook is not None:
                    parts.webhook.start()
            except BaseException:
                backend.stop()
                store.close()
                raise
            loop = Loop(parts.scheduler, self.settings.scheduler.round_interval_secs, woken)
            loop.start()
            self.parts, self._loop = parts, loop
            self._deposed_why = None
            log.info("scheduler for cluster %s started", self.settings.scheduler.cluster)
            return parts

    def stop(self) -> None:
        """Stop the loop, the observer, the backend (tasks keep running) and close the
        store."""
        with self._lock:
            parts, loop = self.parts, self._loop
            self.parts, self._loop = None, None
        if parts is None:
            return
        if loop is not None:
            loop.stop()
        if parts.webhook is not None:
            parts.webhook.stop()
        if self.observer is not None:
            self.observer.stop()
        parts.backend.stop()
        parts.store.close()
        log.info("scheduler for cluster %s stopped", self.settings.scheduler.cluster)

    def revoke(self, why: str) -> None:
        """Refuse the running scheduler's writes from now on (leadership was lost); ``stop``
        follows."""
        parts = self.parts
        if parts is not None:
            parts.store.db.revoke(why)

    def _stop_deposed(self, why: str) -> None:
        """A lone scheduler whose store another one took: it stops (from another thread: the
        refused write may be the loop's own) and answers 503 with the reason."""
        log.error("%s: stopping this scheduler", why)
        self._deposed_why = why
        threading.Thread(target=self.stop, name="deposed", daemon=True).start()

    def _replace_store(self, staged: Store) -> None:
        """A committed recovery: the scheduler stopped, the live store's tables replaced
        with the staged ones (one transaction), the scheduler started on them."""
        export = snapshots.export_tables(staged.db)
        self.stop()
        try:
            live = open_store(self.settings.db_url)
            try:
                snapshots.replace_tables(live.db, export)
            finally:
                live.close()
            log.warning("recovery committed: the store now holds the staged backup")
        finally:
            self.start()  # on the staged tables, or on the untouched ones after a failure

    async def asgi(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The HTTP face across starts and stops: the running scheduler's app, or 503."""
        if scope["type"] == "lifespan":  # the apps come and go: nothing to start or stop
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        parts = self.parts
        if parts is not None:
            await parts.app(scope, receive, send)
            return
        if scope["type"] != "http":
            return
        status, headers, body = self._not_leading(scope)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _not_leading(self, scope: Scope) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """A replica that does not lead: /health is fine; /leaderhealth says 503 (another
        leads) or 502 (none does), as Aurora's; every other call goes to the leader (307:
        the same method and body) or, with none, gets 503."""
        path = scope.get("path", "")
        text = [(b"content-type", b"text/plain")]
        if path == "/health":
            return 200, text, b"OK"
        leader = self.leader() if self.leader is not None else None
        if path == "/leaderhealth":
            if self.leader is None or leader is not None:
                return 503, text, b"not the leader"
            return 502, text, b"no leader"
        if leader is not None:
            query = scope.get("query_string", b"")
            target = leader.url + scope.get("root_path", "") + path
            location = target.encode() + (b"?" + query if query else b"")
            return 307, [(b"location", location), *text], b"see the leader at " + location
        if self._deposed_why is not None:
            why = self._deposed_why
        elif self.leader is None:
            why = "the scheduler is not running here (not the leader)"
        else:
            why = "no scheduler leads now (an election is under way): retry shortly"
        return 503, [(b"content-type", b"application/json")], json.dumps({
            "code": SchedulerUnavailable.code, "message": why}).encode()
