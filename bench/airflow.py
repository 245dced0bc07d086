"""Airflow-side benchmarks of the provider.

1. Overhead of ``AuroraRunJobOperator`` running ``echo hi`` on the local backend, against
   Airflow's own ``BashOperator`` running it, both by ``dag.test()`` in fresh processes in
   the same run (goal: at most 1.5x). Reported for the task's own duration and for the
   whole ``dag.test()`` process.
2. 200 deferred ``AuroraJobSensor`` triggers in one asyncio loop (as one triggerer runs
   them) waiting on a job that never gets there: the API requests per second they cost the
   scheduler, and the CPU the loop burns.

Run: ``.venv/bin/python bench/airflow.py [--runs N] [--write-docs]`` (about 2 minutes).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# This file is named airflow.py: its folder must not shadow the real airflow package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

from bench.report import write_section  # noqa: E402
from tests.daemon import Daemon  # noqa: E402

RUNNER = ROOT / "tests" / "provider" / "dag_runner.py"
DAGS = ROOT / "bench" / "dags"
TRIGGERS = 200
WATCH_SECS = 20.0


def airflow_env(home: Path, daemon: Daemon) -> dict[str, str]:
    connection = {"conn_type": "aurora", "host": daemon.url, "password": daemon.token()}
    return {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AURORA_HOME": str(daemon.home),
        "AIRFLOW_CONN_AURORA_DEFAULT": json.dumps(connection),
    }


def run_dag(env: dict[str, str], dag_id: str) -> tuple[float, float]:
    """(task duration, whole process wall time) of one ``dag.test()``."""
    started = time.perf_counter()
    result = subprocess.run([sys.executable, str(RUNNER), str(DAGS / "echo_dags.py"), dag_id],
                            env=env, capture_output=True, text=True, check=False, timeout=300)
    wall = time.perf_counter() - started
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    if outcome["state"] != "success":
        raise SystemExit(f"{dag_id} failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}")
    return float(outcome["durations"]["echo"]), wall


def bench_overhead(env: dict[str, str], runs: int) -> dict[str, float]:
    samples: dict[str, list[tuple[float, float]]] = {"aurora": [], "bash": []}
    run_dag(env, "bench_bash_echo")  # warm the caches of both paths once
    run_dag(env, "bench_aurora_echo")
    for _ in range(runs):  # interleaved, so both see the same machine load
        samples["bash"].append(run_dag(env, "bench_bash_echo"))
        samples["aurora"].append(run_dag(env, "bench_aurora_echo"))
    out: dict[str, float] = {}
    for name, values in samples.items():
        out[f"{name}_task"] = statistics.median(v[0] for v in values)
        out[f"{name}_process"] = statistics.median(v[1] for v in values)
    return out


async def _sensors(daemon: Daemon, key: str) -> dict[str, float]:
    from aurora_provider.triggers.job import AuroraJobTrigger

    triggers = [AuroraJobTrigger(job_key=key, wait={"states": ["FINISHED"]}, poll_interval=5.0)
                for _ in range(TRIGGERS)]
    before = _api_requests(daemon)
    cpu0, wall0 = time.process_time(), time.perf_counter()

    async def watch(trigger: AuroraJobTrigger) -> None:
        async for _event in trigger.run():
            raise SystemExit(f"a trigger fired: {_event.payload}")

    tasks = [asyncio.create_task(watch(t)) for t in triggers]
    await asyncio.sleep(WATCH_SECS)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    wall = time.perf_counter() - wall0
    cpu = time.process_time() - cpu0
    requests = _api_requests(daemon) - before
    return {"requests_per_sec": requests / wall, "expected_per_sec": TRIGGERS / 5.0,
            "cpu_percent": 100.0 * cpu / wall, "rss_mib": _rss_mib(), "seconds": wall}


def _api_requests(daemon: Daemon) -> float:
    import httpx

    text = httpx.get(f"{daemon.url}/metrics", timeout=10).text
    total = 0.0
    for line in text.splitlines():
        if line.startswith("aurora_api_request_seconds_count") and "/jobs/" in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_triggers(daemon: Daemon, env: dict[str, str]) -> dict[str, float]:
    from aurora_provider.config import job_to_wire, load_source

    key = "devcluster/bench/test/sleeper"
    job = load_source(
        "jobs = [Service(cluster='devcluster', role='bench', environment='test',"
        " name='sleeper', task=SimpleTask('sleeper', 'sleep 3600'))]", name="<bench>",
    ).pick(key)
    os.environ.update({k: v for k, v in env.items() if k.startswith(("AIRFLOW", "AURORA"))})
    with daemon.client() as client:
        client.create_job(job_to_wire(job))
    try:
        return asyncio.run(_sensors(daemon, key))
    finally:
        with daemon.client() as client:
            client.killall(key)


def report(overhead: dict[str, float], sensors: dict[str, float], runs: int) -> str:
    task_ratio = overhead["aurora_task"] / overhead["bash_task"]
    process_ratio = overhead["aurora_process"] / overhead["bash_process"]
    return "\n".join([
        "## Airflow",
        "",
        f"Measured by `bench/airflow.py` on {time.strftime('%Y-%m-%d')} ({os.cpu_count()} "
        f"cores); medians of {runs} interleaved `dag.test()` runs each, in fresh processes, "
        "against a real `aurora-scheduler` on the local backend.",
        "",
        "| `echo hi` by | task duration | `dag.test()` process | task ratio | process ratio |",
        "|---|---|---|---|---|",
        f"| BashOperator (baseline) | {overhead['bash_task']:.2f} s | "
        f"{overhead['bash_process']:.2f} s | 1.00 | 1.00 |",
        f"| AuroraRunJobOperator | {overhead['aurora_task']:.2f} s | "
        f"{overhead['aurora_process']:.2f} s | {task_ratio:.2f} | {process_ratio:.2f} |",
        "",
        "Goal: at most 1.5x. The Aurora task creates the job, waits (deferred, triggers run "
        "inline by `dag.test()`) until the scheduler reports it FINISHED, and copies the "
        "process's stdout and stderr into the task log.",
        "",
        f"**{TRIGGERS} deferred `AuroraJobSensor` triggers** in one asyncio loop (as in one "
        f"triggerer), polling every 5 s for {sensors['seconds']:.0f} s a job that never "
        "finishes:",
        "",
        "| Figure | Value |",
        "|---|---|",
        f"| API requests per second to the scheduler | {sensors['requests_per_sec']:.1f} "
        f"(one per trigger per poll: {sensors['expected_per_sec']:.0f}/s) |",
        f"| CPU of the trigger loop | {sensors['cpu_percent']:.1f} % of one core |",
        f"| Peak RSS of the benchmark process | {sensors['rss_mib']:.0f} MiB |",
        "",
    ])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--write-docs", action="store_true")
    parser.add_argument("--triggers-only", action="store_true", help="skip the dag.test() part")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        daemon = Daemon(base / "work", base / "home", ["--round-interval", "0.2"])  # the default
        daemon.start()
        try:
            env = airflow_env(base / "airflow", daemon)
            subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], env=env,
                           check=True, capture_output=True)
            sensors = bench_triggers(daemon, env)
            if args.triggers_only:
                print(sensors)
                return 0
            overhead = bench_overhead(env, args.runs)
        finally:
            daemon.stop()
            daemon.kill_runners()
    text = report(overhead, sensors, args.runs)
    print(text)
    if args.write_docs:
        write_section("Airflow", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
