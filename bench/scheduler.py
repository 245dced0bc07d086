"""Scheduler benchmarks: placement throughput and job-status API latency.

1. Placement: one 10,000-instance job on synthetic offers from 1,000 agents, every state
   change persisted (SQLite, WAL) before the (synthetic) launch. Reports tasks placed per
   second, against Aurora's default cap (200/s) and against raw batched SQLite inserts
   measured in the same run.
2. Job status over HTTP: p50/p99 latency and requests/s of GET /api/v1/jobs/... for a
   10,000-task and a 100-instance job (the full status), and of the 10,000-task job's
   summary and 100-task pages, as ratios to /health on the same server in the same run.
   The server is the real app (``create_app``) with a synthetic backend, in a subprocess
   (``python bench/scheduler.py serve``).

Run: ``.venv/bin/python bench/scheduler.py`` (about a minute on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

import httpx
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aurora_provider.api import models as m
from aurora_provider.framework.core.settings import SchedulerSettings
from aurora_provider.framework.daemon import Parts, freeze_imported_objects
from aurora_provider.framework.model.job_config import JobConfig
from aurora_provider.states.task import TaskState
from bench.report import write_section
from tests.fakes import Agent, FakeBackend, SchedulerWorld

AGENTS = 1000
BIG = 10_000
SMALL = 100
AURORA_CAP = 200.0  # 40 scheduling attempts/s x 5 tasks (Aurora's defaults)
# Goals for status at any size, as multiples of /health's p50 in the same run.
SUMMARY_GOAL = 5.0
PAGE_GOAL = 10.0
# A page in the middle of the 10,000-task job: keyset paging costs the same wherever it starts.
LATER_PAGE = "/api/v1/jobs/bench/prod/big/tasks?limit=100&cursor=a5000:x"


def synthetic(report_running: bool = False) -> FakeBackend:
    """1,000 agents with 16 CPUs and 64 GiB each; launches succeed at once."""
    return FakeBackend([Agent(f"host-{i:04d}", 16.0, 65536, 1_000_000,
                              {"rack": f"r{i % 40}"}, f"agent-{i}") for i in range(AGENTS)],
                       starts="starting" if report_running else "nothing")


def job(name: str, instances: int) -> JobConfig:
    return JobConfig.from_wire(m.JobConfiguration.model_validate({
        "key": {"cluster": "devcluster", "role": "bench", "environment": "prod", "name": name},
        "instances": instances,
        "task": {"is_service": True, "resources": {"cpu": 0.5, "ram_mb": 256, "disk_mb": 256},
                 "requested_ports": ["http"],
                 "executor_config": {"data": json.dumps({"name": name, "pad": "x" * 2000})}}}
    ).model_dump(mode="json"))


def scheduler_for(work: Path, backend: FakeBackend) -> Parts:
    """The real scheduler (the composition root's parts) over the synthetic agents."""
    # Every task in one round: placement's own rate. The daemon's default places waves of
    # 500 so that a remote backend's launches overlap the next wave; on synthetic offers
    # that would only add rounds (and make the Mesos benchmark's baseline easier).
    return SchedulerWorld(work, backend, clock=time.time,
                          settings=SchedulerSettings(max_instances=BIG,
                                                     max_tasks_per_round=BIG)).parts


def sqlite_floor(work: Path, rows: int = BIG) -> float:
    """Rows/s of one batched INSERT of task-sized rows: the storage baseline."""
    engine = sa.create_engine(f"sqlite:///{work / 'floor.db'}")
    with engine.begin() as conn:
        conn.execute(sa.text("PRAGMA journal_mode=WAL"))
        conn.execute(sa.text("CREATE TABLE t (id TEXT PRIMARY KEY, status TEXT, host TEXT, "
                             "ports TEXT, at REAL)"))
    data = [{"id": str(uuid.uuid4()), "status": "ASSIGNED", "host": f"host-{i % 1000}",
             "ports": '{"http": 31000}', "at": time.time()} for i in range(rows)]
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO t VALUES (:id, :status, :host, :ports, :at)"), data)
    return rows / (time.perf_counter() - started)


def bench_placement(work: Path) -> dict[str, float]:
    backend = synthetic()
    parts = scheduler_for(work, backend)
    started = time.perf_counter()
    parts.jobs.create(job("big", BIG))
    created = time.perf_counter() - started
    started = time.perf_counter()
    rounds = 0
    while len(backend.launched) < BIG and rounds < 50:
        parts.scheduler.run_round()
        rounds += 1
    placed_secs = time.perf_counter() - started
    assigned = parts.store.tasks.count_by_status().get(TaskState.ASSIGNED, 0)
    events = sum(len(v) for v in parts.store.tasks.events(job_key="bench/prod/big").values())
    floor = sqlite_floor(work)
    return {"tasks": BIG, "agents": AGENTS, "rounds": rounds,
            "create_secs": created, "place_secs": placed_secs,
            "placed_per_sec": assigned / placed_secs, "events": events,
            "sqlite_floor_rows_per_sec": floor}


# -- the job-status server -----------------------------------------------------------------


def serve(port: int, work: Path) -> None:
    import uvicorn

    backend = synthetic(report_running=True)
    parts = scheduler_for(work, backend)
    parts.jobs.create(job("big", BIG))
    parts.jobs.create(job("small", SMALL))
    for _ in range(6):
        parts.scheduler.run_round()
    # The real app of the composition root (its admin token is tests.fakes.ADMIN's).
    uvicorn.run(parts.app, host="127.0.0.1", port=port, log_level="warning",
                access_log=False)


def measure(client: httpx.Client, path: str, count: int, threads: int = 4
            ) -> dict[str, float]:
    latencies = []
    for _ in range(count):
        started = time.perf_counter()
        response = client.get(path)
        latencies.append(time.perf_counter() - started)
        response.raise_for_status()
    latencies.sort()
    per_thread = max(1, count // threads)

    def worker() -> None:
        with httpx.Client(base_url=str(client.base_url), headers=client.headers,
                          timeout=120) as own:
            for _ in range(per_thread):
                own.get(path).raise_for_status()

    started = time.perf_counter()
    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    rps = per_thread * threads / (time.perf_counter() - started)
    return {"p50_ms": 1000 * statistics.median(latencies),
            "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))],
            "req_per_sec": rps, "bytes": float(len(client.get(path).content))}


def bench_status(work: Path) -> dict[str, dict[str, float]]:
    with socket_port() as port:
        pass
    proc = subprocess.Popen([sys.executable, __file__, "serve", "--port", str(port),
                             "--work-dir", str(work)], env=dict(os.environ))
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit("the benchmark server did not start")
            time.sleep(0.2)
        with httpx.Client(base_url=url, headers={"Authorization": "Bearer admin"},
                          timeout=120) as client:
            st = client.get("/api/v1/jobs/bench/prod/big").json()
            running = sum(t["status"] == "RUNNING" for t in st["active"])
            if running != BIG:
                raise SystemExit(f"only {running} of {BIG} tasks RUNNING on the server")
            return {
                "health": measure(client, "/health", 400),
                "status_100": measure(client, "/api/v1/jobs/bench/prod/small", 100),
                "status_10000": measure(client, "/api/v1/jobs/bench/prod/big", 12),
                "summary_10000": measure(client, "/api/v1/jobs/bench/prod/big/summary", 200),
                "page_100": measure(client, "/api/v1/jobs/bench/prod/big/tasks?limit=100",
                                    100),
                "page_100_later": measure(client, LATER_PAGE, 100),
            }
    finally:
        proc.terminate()
        proc.wait(timeout=30)


class socket_port:
    """A free TCP port on 127.0.0.1."""

    def __enter__(self) -> int:
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return int(s.getsockname()[1])

    def __exit__(self, *_: object) -> None:
        pass


def report(placement: dict[str, float], status: dict[str, dict[str, float]]) -> str:
    h = status["health"]
    lines = [
        "## Scheduler",
        "",
        f"Measured by `bench/scheduler.py` on {time.strftime('%Y-%m-%d')} "
        f"({os.cpu_count()} cores), SQLite (WAL) under a temporary directory.",
        "",
        "The scheduler runs as the composition root assembles it (`tests.fakes."
        "SchedulerWorld`: core, features and HTTP app over synthetic agents, "
        "`tests.fakes.FakeBackend`), in a process whose imported objects are frozen out of "
        "the garbage collector's sight at start-up, as the daemon's are "
        "(`daemon.freeze_imported_objects`).",
        "",
        f"**Placement**: {placement['tasks']:,} instances of one job on synthetic offers from "
        f"{placement['agents']:,} agents, every state change persisted before the launch "
        f"({placement['events']:,} task events written).",
        "",
        "| Figure | Value | Ratio |",
        "|---|---|---|",
        f"| Tasks placed per second (PENDING -> ASSIGNED, persisted, launched) | "
        f"{placement['placed_per_sec']:,.0f} | {placement['placed_per_sec'] / AURORA_CAP:.0f}x "
        f"Aurora's default cap of 200/s |",
        f"| Raw batched SQLite inserts per second (same run, floor) | "
        f"{placement['sqlite_floor_rows_per_sec']:,.0f} | placement = "
        f"{placement['placed_per_sec'] / placement['sqlite_floor_rows_per_sec']:.2f}x the floor |",
        f"| Creating the job (10,000 tasks INIT -> PENDING, persisted) | "
        f"{placement['create_secs']:.2f} s | |",
        f"| Scheduling rounds needed | {placement['rounds']:.0f} | |",
        "",
        "**Job status API** (`GET /api/v1/jobs/ROLE/ENV/NAME`, active and terminal tasks with "
        "their events), one uvicorn worker; ratios to `/health` on the same server in the "
        "same run:",
        "",
        "| Endpoint | p50 | p99 | req/s (4 clients) | Response | p50 / health | "
        "req/s / health |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, label in (("health", "/health"), ("status_100", "status, 100 instances"),
                        ("status_10000", "status, 10,000 tasks"),
                        ("summary_10000", "summary, 10,000 tasks"),
                        ("page_100", "first page of 100, 10,000 tasks"),
                        ("page_100_later", "page of 100 from instance 5,000")):
        s = status[name]
        lines.append(
            f"| {label} | {s['p50_ms']:.1f} ms | {s['p99_ms']:.1f} ms | {s['req_per_sec']:,.1f} "
            f"| {s['bytes'] / 1024:,.0f} KiB | {s['p50_ms'] / h['p50_ms']:.1f}x | "
            f"{s['req_per_sec'] / h['req_per_sec']:.3f} |")
    summary = status["summary_10000"]["p50_ms"] / h["p50_ms"]
    pages = max(status[k]["p50_ms"] for k in ("page_100", "page_100_later")) / h["p50_ms"]
    lines += [
        "",
        "Status at any size (`/summary`: counts by state, Aurora's `getJobSummary`; "
        "`/tasks?limit=100`: one keyset page, without events):",
        "",
        f"- the summary of the 10,000-task job: {summary:.1f}x `/health` (goal at most "
        f"{SUMMARY_GOAL:g}x: {'met' if summary <= SUMMARY_GOAL else 'missed'});",
        f"- a 100-task page of it, first or later (the slower of the two): {pages:.1f}x "
        f"`/health` (goal at most {PAGE_GOAL:g}x: {'met' if pages <= PAGE_GOAL else 'missed'}).",
    ]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("mode", nargs="?", choices=["run", "serve"], default="run")
    p.add_argument("--port", type=int)
    p.add_argument("--work-dir", type=Path)
    p.add_argument("--write-docs", action="store_true",
                   help="append the figures to docs/benchmarks.md under 'Scheduler'")
    args = p.parse_args(argv)
    freeze_imported_objects()  # as the daemon does at start-up
    if args.mode == "serve":
        serve(args.port, args.work_dir)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "placement").mkdir()
        (root / "status").mkdir()
        placement = bench_placement(root / "placement")
        print(json.dumps({"placement": placement}, indent=2))
        status = bench_status(root / "status")
        print(json.dumps({"status": status}, indent=2))
    text = report(placement, status)
    print(text)
    if args.write_docs:
        write_section("Scheduler", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
