"""The demo: Aurora's scheduler and Airflow side by side, deploying a service from a DAG.

Starts ``aurora-scheduler`` on the embedded local backend and ``airflow standalone`` (SQLite,
bound to 127.0.0.1, the example DAGs), triggers the ``aurora_deploy_service`` example,
waits until the hello-world job is RUNNING, and prints where to look. Ctrl-C stops
everything it started, the deployed job included. ``--exit-when-ready`` stops at once
instead of waiting (used to check the demo end to end).

Run by scripts/demo.sh after it set up the virtual environment.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DAG_ID = "aurora_deploy_service"
JOB_KEY = "devcluster/www-data/prod/hello"


def say(message: str) -> None:
    print(f"demo: {message}", flush=True)


def port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def wait_for(what: str, check: Callable[[], Any], timeout: float, procs: list[Any]) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for proc in procs:
            if proc.poll() is not None:
                raise SystemExit(f"demo: {proc.args[0]} exited while waiting for {what}; "
                                 f"see the logs in {ROOT / '.demo'}")
        with contextlib.suppress(httpx.HTTPError, OSError, ValueError, KeyError):
            value = check()
            if value:
                return value
        time.sleep(1)
    raise SystemExit(f"demo: gave up waiting for {what} after {timeout:.0f} s")


class Demo:
    def __init__(self, scheduler_port: int, airflow_port: int) -> None:
        self.state = ROOT / ".demo"
        self.scheduler_url = f"http://127.0.0.1:{scheduler_port}"
        self.airflow_url = f"http://127.0.0.1:{airflow_port}"
        self.scheduler_port = scheduler_port
        self.airflow_port = airflow_port
        self.procs: list[subprocess.Popen[bytes]] = []

    def start_scheduler(self) -> None:
        log = open(self.state / "scheduler.log", "ab")  # noqa: SIM115 (lives with the process)
        self.procs.append(subprocess.Popen(
            [str(BIN / "aurora-scheduler"), "--listen", f"127.0.0.1:{self.scheduler_port}"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        wait_for("the scheduler", lambda: httpx.get(f"{self.scheduler_url}/health").is_success,
                 60, self.procs)
        say(f"aurora-scheduler is up at {self.scheduler_url} (local backend)")

    def airflow_env(self) -> dict[str, str]:
        token_file = Path(os.environ.get("AURORA_HOME") or Path.home() / ".aurora") / "token"
        connection = {"conn_type": "aurora", "host": self.scheduler_url,
                      "password": token_file.read_text().strip(),
                      "extra": {"cluster": "devcluster"}}
        return {
            **os.environ,
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "AIRFLOW_HOME": str(self.state / "airflow"),
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags_examples"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.airflow_port),
            "AIRFLOW__API__BASE_URL": self.airflow_url,
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.airflow_url}/execution/",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
            "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
            "AIRFLOW_CONN_AURORA_DEFAULT": json.dumps(connection),
        }

    def start_airflow(self) -> None:
        log = open(self.state / "airflow.log", "ab")  # noqa: SIM115 (lives with the process)
        self.procs.append(subprocess.Popen(
            [str(BIN / "airflow"), "standalone"], env=self.airflow_env(), cwd=self.state,
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        wait_for("Airflow", lambda: httpx.get(f"{self.airflow_url}/api/v2/monitor/health")
                 .is_success, 240, self.procs)
        say(f"Airflow is up at {self.airflow_url}")

    def password(self) -> str:
        generated = self.state / "airflow" / "simple_auth_manager_passwords.json.generated"
        return str(json.loads(generated.read_text())["admin"])

    def api(self) -> httpx.Client:
        token = httpx.post(f"{self.airflow_url}/auth/token",
                           json={"username": "admin", "password": self.password()})
        token.raise_for_status()
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        return httpx.Client(base_url=f"{self.airflow_url}/api/v2", headers=headers, timeout=30)

    def trigger_deploy(self) -> None:
        self._forget_old_job()
        with self.api() as api:
            wait_for(f"the DAG {DAG_ID} to be parsed",
                     lambda: api.get(f"/dags/{DAG_ID}").is_success, 240, self.procs)
            api.patch(f"/dags/{DAG_ID}", json={"is_paused": False}).raise_for_status()
            run = api.post(f"/dags/{DAG_ID}/dagRuns", json={"logical_date": None})
            run.raise_for_status()
        say(f"triggered {DAG_ID} ({run.json()['dag_run_id']})")

    def _aurora(self, *args: str) -> subprocess.CompletedProcess[str]:
        clusters = self.state / "clusters.json"
        clusters.write_text(json.dumps([{"name": "devcluster",
                                         "scheduler_uri": self.scheduler_url}]))
        return subprocess.run([str(BIN / "aurora"), *args], text=True, capture_output=True,
                              env={**os.environ, "AURORA_CLUSTERS": str(clusters)}, check=False)

    def _job_states(self) -> list[str]:
        result = self._aurora("job", "status", JOB_KEY, "--json")
        if result.returncode != 0:
            return []
        return [task["status"] for task in json.loads(result.stdout).get("active", [])]

    def _forget_old_job(self) -> None:
        if self._job_states():
            say(f"killing {JOB_KEY}, left over from an earlier demo")
            self._aurora("job", "killall", JOB_KEY)
            wait_for("the old job to stop", lambda: not self._job_states(), 120, self.procs)

    def wait_running(self) -> None:
        wait_for(f"{JOB_KEY} to be RUNNING",
                 lambda: self._job_states() and set(self._job_states()) == {"RUNNING"},
                 300, self.procs)
        say(f"{JOB_KEY} is RUNNING")

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            if self._job_states():
                self._aurora("job", "killall", JOB_KEY)
                deadline = time.monotonic() + 30
                while self._job_states() and time.monotonic() < deadline:
                    time.sleep(0.5)
        for proc in reversed(self.procs):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in reversed(self.procs):
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
        say("stopped everything the demo started")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scheduler-port", type=int, default=8081)
    parser.add_argument("--airflow-port", type=int, default=8080)
    parser.add_argument("--exit-when-ready", action="store_true")
    args = parser.parse_args()
    for port in (args.scheduler_port, args.airflow_port):
        if not port_free(port):
            print(f"demo: port {port} on 127.0.0.1 is taken; stop what uses it or pass "
                  "--scheduler-port / --airflow-port", file=sys.stderr)
            return 1
    demo = Demo(args.scheduler_port, args.airflow_port)
    demo.state.mkdir(exist_ok=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(130))
    try:
        demo.start_scheduler()
        demo.start_airflow()
        demo.trigger_deploy()
        demo.wait_running()
        print(f"""
  The hello-world service runs on Aurora's local backend, deployed by Airflow.

  Airflow:     {demo.airflow_url}   (user admin, password {demo.password()})
  DAG:         {demo.airflow_url}/dags/{DAG_ID}
  Scheduler:   {demo.scheduler_url}   (aurora job status {JOB_KEY})
  Logs:        {demo.state}/airflow.log, {demo.state}/scheduler.log
""", flush=True)
        if args.exit_when_ready:
            return 0
        say("press Ctrl-C to stop")
        while all(proc.poll() is None for proc in demo.procs):
            time.sleep(1)
        say("a process exited; stopping the rest")
        return 1
    except KeyboardInterrupt:
        return 130
    finally:
        demo.stop()


if __name__ == "__main__":
    sys.exit(main())
