"""The demo: Aurora's scheduler and Airflow side by side, deploying a service from a DAG.

Starts ``aurora-scheduler`` on the embedded local backend (with its observer) and
``airflow standalone`` (SQLite, bound to 127.0.0.1, the example DAGs), triggers the
``aurora_deploy_service`` example, waits until that DAG run succeeded, and prints where to
look. Ctrl-C stops every job of the demo's scheduler (the deployed one and any created by
hand), then the scheduler and Airflow. ``--exit-when-ready`` also checks the deploy task's
"Aurora job" link, then stops (used to check the demo end to end).

All the demo's state is in the state directory (``.demo/``), but for the admin token, which
goes where the ``aurora`` commands look for it (``$AURORA_HOME/token``, else
``~/.aurora/token``). Run by scripts/demo.sh after it set up the virtual environment.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
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
from urllib.parse import quote, urljoin, urlsplit

import httpx
import psutil

from aurora_provider.api import ApiError, SchedulerClient
from aurora_provider.api.client import DEFAULT_URL
from aurora_provider.api.paths import default_token_file

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DAG_ID = "aurora_deploy_service"
DEPLOY_TASK = "deploy"
CLUSTER = "devcluster"
JOB_KEY = f"{CLUSTER}/www-data/prod/hello"
# Where the aurora commands' built-in devcluster is: other ports need a clusters file.
CLIENTS_DEFAULT_PORT = urlsplit(DEFAULT_URL).port
UNFINISHED_RUNS = ("queued", "running")
PR_SET_CHILD_SUBREAPER = 36  # prctl(2), Linux


def say(message: str) -> None:
    print(f"demo: {message}", flush=True)


def port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def become_subreaper() -> None:
    """Make the orphans of what the demo starts its own children, so that it reaps them:
    where no real init runs (a container), they would stay behind as zombies."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def reap_orphans() -> None:
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass


def tasks_text(n: int) -> str:
    return f"{n} active task{'' if n == 1 else 's'}"


class Demo:
    def __init__(self, args: argparse.Namespace) -> None:
        self.state: Path = args.state_dir.expanduser().resolve()
        self.work_dir = self.state / "scheduler"
        self.airflow_home = self.state / "airflow"
        self.token_file = default_token_file()
        self.scheduler_port: int = args.scheduler_port
        self.airflow_port: int = args.airflow_port
        self.observer_port: int = args.observer_port
        self.scheduler_url = f"http://127.0.0.1:{self.scheduler_port}"
        self.airflow_url = f"http://127.0.0.1:{self.airflow_port}"
        self.observer_url = f"http://127.0.0.1:{self.observer_port}"
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    # -- starting ---------------------------------------------------------------------------

    def wait_for(self, what: str, check: Callable[[], Any], timeout: float) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    raise SystemExit(f"demo: {name} exited while waiting for {what}; see "
                                     f"{self.state / (name + '.log')}")
            with contextlib.suppress(httpx.HTTPError, ApiError, OSError, ValueError, KeyError):
                value = check()
                if value:
                    return value
            time.sleep(1)
        raise SystemExit(f"demo: gave up waiting for {what} after {timeout:.0f} s; see the "
                         f"logs in {self.state}")

    def start(self, name: str, argv: list[str], **kwargs: Any) -> None:
        log = open(self.state / f"{name}.log", "ab")  # noqa: SIM115 (lives with the process)
        self.procs[name] = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True, **kwargs)

    def start_scheduler(self) -> None:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        # A root scheduler would run the demo's jobs as their role's user, www-data, who
        # usually cannot reach this checkout's Python or the state dir (under /root, or a
        # 0700 temporary dir): the demo runs them as root, and says so.
        nosetuid = ["--nosetuid"] if os.geteuid() == 0 else []
        if nosetuid:
            say("running as root: the demo's jobs (role www-data) run as root too "
                "(--nosetuid), not as their role's user")
        self.start("scheduler", [
            str(BIN / "aurora-scheduler"), "--listen", f"127.0.0.1:{self.scheduler_port}",
            "--work-dir", str(self.work_dir), "--token-file", str(self.token_file),
            "--observer-listen", f"127.0.0.1:{self.observer_port}", *nosetuid])
        self.wait_for("the scheduler", lambda: httpx.get(f"{self.scheduler_url}/health")
                      .is_success, 60)
        # How the aurora commands find this scheduler when it is not where they look.
        (self.state / "clusters.json").write_text(json.dumps(
            [{"name": CLUSTER, "scheduler_uri": self.scheduler_url,
              "auth_token_file": str(self.token_file)}]) + "\n")
        say(f"aurora-scheduler is up at {self.scheduler_url} (local backend, observer at "
            f"{self.observer_url})")

    def airflow_env(self) -> dict[str, str]:
        connection = {"conn_type": "aurora", "host": self.scheduler_url,
                      "password": self.token_file.read_text().strip(),
                      "extra": {"cluster": CLUSTER}}
        return {
            **os.environ,
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "AIRFLOW_HOME": str(self.airflow_home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags_examples"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.airflow_port),
            "AIRFLOW__API__BASE_URL": self.airflow_url,
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.airflow_url}/execution/",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
            "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
            # Airflow's own log servers: any free port, so that they clash with nothing.
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW_CONN_AURORA_DEFAULT": json.dumps(connection),
        }

    def start_airflow(self) -> None:
        self.airflow_home.mkdir(parents=True, exist_ok=True)
        self.start("airflow", [str(BIN / "airflow"), "standalone"], env=self.airflow_env(),
                   cwd=self.airflow_home)
        self.wait_for("Airflow", lambda: httpx.get(f"{self.airflow_url}/api/v2/monitor/health")
                      .is_success, 240)
        say(f"Airflow is up at {self.airflow_url}")

    def running(self, name: str) -> bool:
        return name in self.procs and self.procs[name].poll() is None

    # -- Airflow's API ----------------------------------------------------------------------

    def password(self) -> str:
        generated = self.airflow_home / "simple_auth_manager_passwords.json.generated"
        return str(json.loads(generated.read_text())["admin"])

    def api(self) -> httpx.Client:
        # A busy api-server (a DAG run starting) may take longer than httpx's default 5 s.
        token = httpx.post(f"{self.airflow_url}/auth/token", timeout=30,
                           json={"username": "admin", "password": self.password()})
        token.raise_for_status()
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        return httpx.Client(base_url=self.airflow_url, headers=headers, timeout=30)

    def fail_unfinished_runs(self, api: httpx.Client) -> list[str]:
        """Mark every queued or running DAG run failed, so that no run is left half done
        for the next start to resume; the runs so marked."""
        runs = api.get("/api/v2/dags/~/dagRuns", params={"state": UNFINISHED_RUNS, "limit": 100})
        runs.raise_for_status()
        failed = []
        for run in runs.json()["dag_runs"]:
            path = f"/api/v2/dags/{run['dag_id']}/dagRuns/{quote(run['dag_run_id'], safe='')}"
            api.patch(path, json={"state": "failed"}).raise_for_status()
            failed.append(f"{run['dag_id']} ({run['dag_run_id']})")
        return failed

    def trigger_deploy(self, api: httpx.Client) -> str:
        for run in self.fail_unfinished_runs(api):
            say(f"marked the DAG run {run} failed, left unfinished by an earlier demo")
        left = self.kill_jobs("left over from an earlier demo")
        if left:
            raise SystemExit(f"demo: could not stop {', '.join(left)}, left over from an "
                             f"earlier demo; see {self.state / 'scheduler.log'}")
        self.wait_for(f"the DAG {DAG_ID} to be parsed",
                      lambda: api.get(f"/api/v2/dags/{DAG_ID}").is_success, 240)
        api.patch(f"/api/v2/dags/{DAG_ID}", json={"is_paused": False}).raise_for_status()
        triggered = api.post(f"/api/v2/dags/{DAG_ID}/dagRuns", json={"logical_date": None})
        triggered.raise_for_status()
        run_id = str(triggered.json()["dag_run_id"])
        say(f"triggered {DAG_ID} ({run_id}); waiting until it finishes")
        return run_id

    def run_path(self, run_id: str) -> str:
        return f"/dags/{DAG_ID}/dagRuns/{quote(run_id, safe='')}"

    def wait_run(self, api: httpx.Client, run_id: str) -> str | None:
        """Wait until the DAG run ends: None when it succeeded, else what went wrong."""
        def ended() -> str | None:
            state = api.get(f"/api/v2{self.run_path(run_id)}").json()["state"]
            return state if state in ("success", "failed") else None

        if self.wait_for(f"the DAG run {run_id} to finish", ended, 420) == "success":
            say(f"the DAG run {run_id} succeeded: {JOB_KEY} is RUNNING")
            return None
        tis = api.get(f"/api/v2{self.run_path(run_id)}/taskInstances").json()["task_instances"]
        failed = [ti["task_id"] for ti in tis if ti["state"] != "success"] or ["?"]
        return (f"the DAG run {run_id} failed (tasks not succeeded: {', '.join(failed)}); "
                f"its logs are in Airflow and under {self.airflow_home / 'logs'}")

    def check_job_link(self, api: httpx.Client, run_id: str) -> str | None:
        """The deploy task's "Aurora job" link leads to the job's page, which answers 200:
        None when so, else what is wrong."""
        answer = api.get(f"/api/v2{self.run_path(run_id)}/taskInstances/{DEPLOY_TASK}/links")
        if not answer.is_success:
            return f"the extra links of {DEPLOY_TASK} answered {answer.status_code}"
        link = answer.json()["extra_links"].get("Aurora job")
        expected = f"/aurora/jobs/{JOB_KEY}"
        if not link or not link.endswith(expected):
            return f"the \"Aurora job\" link of {DEPLOY_TASK} is {link!r}, not {expected}"
        page = api.get(urljoin(self.airflow_url + "/", link))
        if page.status_code != 200 or JOB_KEY.split("/")[-1] not in page.text:
            return f"the job's page {link} answered {page.status_code}: {page.text[:200]!r}"
        say(f"the \"Aurora job\" link of {DEPLOY_TASK} leads to {link}, which answers 200")
        return None

    # -- the scheduler's jobs ---------------------------------------------------------------

    def scheduler(self) -> SchedulerClient:
        return SchedulerClient(self.scheduler_url, token_file=self.token_file, timeout=10)

    def active_jobs(self, client: SchedulerClient) -> dict[str, int]:
        """Every job with active tasks, and how many."""
        jobs = client.list_jobs().jobs
        return {job.key: n for job in jobs if (n := sum(job.task_counts.values()))}

    def kill_jobs(self, why: str) -> list[str]:
        """Kill every job of the scheduler (its active updates aborted first, so that none
        starts instances again) and wait until their tasks are terminal; what still runs."""
        with self.scheduler() as client:
            for update in client.list_updates(status="active").updates:
                client.abort_update(update.key, message=f"demo: {why}")
                say(f"aborted the update {update.update_id} of {update.key}")
            jobs = self.active_jobs(client)
            for key, tasks in jobs.items():
                say(f"killing {key} ({tasks_text(tasks)}), {why}")
                client.killall(key, message=f"demo: {why}")
            deadline = time.monotonic() + 60
            left = self.active_jobs(client)
            while left and time.monotonic() < deadline:
                time.sleep(0.5)
                left = self.active_jobs(client)
        for key in jobs:
            if key not in left:
                say(f"stopped {key}: its tasks are terminal")
        return [f"{key} ({tasks_text(n)})" for key, n in left.items()]

    def cron_jobs(self) -> list[str]:
        with self.scheduler() as client:
            return [job.key for job in client.list_cron().jobs]

    # -- stopping ---------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop the DAG runs, Airflow, every job and the scheduler, and say what was stopped
        and what, if anything, keeps running."""
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C would leave things
        if not self.procs:
            return
        say("stopping (a few seconds)")
        if self.running("airflow"):
            try:
                with self.api() as api:
                    # Paused, the DAG's runs are not resumed at the next start, even one that
                    # could not be marked failed; that start unpauses it.
                    api.patch(f"/api/v2/dags/{DAG_ID}", json={"is_paused": True})
                    for run in self.fail_unfinished_runs(api):
                        say(f"marked the DAG run {run} failed, so that no start resumes it")
            except (httpx.HTTPError, OSError, ValueError, KeyError) as e:
                say(f"could not pause {DAG_ID} and end its unfinished runs ({e!r}); the next "
                    "start marks them failed before it triggers a new one")
        # Airflow goes before the jobs: a deploy task under way could create one after them.
        if "airflow" in self.procs:
            self.stop_process("airflow")
        if self.running("scheduler"):
            self.stop_jobs()
        else:
            say("the scheduler is not running: jobs it started may still run (listed below)")
        if "scheduler" in self.procs:
            self.stop_process("scheduler")
        self.report_leftovers()

    def stop_jobs(self) -> None:
        try:
            left = self.kill_jobs("stopped with the demo")
            cron = self.cron_jobs()
        except (ApiError, httpx.HTTPError) as e:
            say(f"could not stop the scheduler's jobs: {e}")
            return
        for job in left:
            say(f"STILL RUNNING: {job}; its processes are listed below if they outlive the "
                "scheduler")
        for key in cron:
            say(f"the cron job {key} stays scheduled (in {self.work_dir}): it runs again when "
                f"the demo starts; remove it with: aurora cron deschedule {key}")

    def stop_process(self, name: str) -> None:
        proc = self.procs[name]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            say(f"{name} did not stop within 30 s of SIGTERM: killing it")
        with contextlib.suppress(ProcessLookupError):  # what it left behind in its group
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        say(f"stopped {'aurora-scheduler and its observer' if name == 'scheduler' else name}")

    def leftovers(self) -> list[psutil.Process]:
        """Processes still running in the demo's state: runners and task processes live in
        the scheduler's work dir, Airflow's in its home."""
        homes = (str(self.work_dir), str(self.airflow_home))
        mine = {os.getpid(), *(p.pid for p in psutil.Process().parents())}
        found = []
        for proc in psutil.process_iter(["pid", "cwd", "cmdline"]):
            where = [proc.info["cwd"] or "", *(proc.info["cmdline"] or [])]
            if proc.pid not in mine and any(w.startswith(homes) for w in where):
                found.append(proc)
        return found

    def report_leftovers(self) -> None:
        # Members of a group just killed may take a moment to go.
        reap_orphans()
        _, alive = psutil.wait_procs(self.leftovers(), timeout=5)
        reap_orphans()
        left = []
        for proc in alive:
            with contextlib.suppress(psutil.Error):
                if proc.status() != psutil.STATUS_ZOMBIE:
                    say(f"STILL RUNNING: pid {proc.pid}: {' '.join(proc.cmdline())[:160]}")
                    left.append(proc)
        if left:
            pids = " ".join(str(p.pid) for p in left)
            say(f"stop them with: kill {pids}")
        else:
            say("stopped everything the demo started: no runner or task process is left")

    # -- what to look at --------------------------------------------------------------------

    def summary(self, run_id: str) -> str:
        commands = f".venv/bin/aurora job status {JOB_KEY}   (README.md, \"Using it\")"
        if self.scheduler_port != CLIENTS_DEFAULT_PORT:  # the clients must be told where it is
            commands = (f"export AURORA_CLUSTERS={self.state / 'clusters.json'}   (the "
                        f"scheduler is not on {CLIENTS_DEFAULT_PORT}), then\n"
                        f"               {commands}")
        run = f"{self.airflow_url}/dags/{DAG_ID}/runs/{quote(run_id, safe='')}"
        return f"""
  The hello-world service runs on Aurora's local backend, deployed by Airflow.

  Airflow:     {self.airflow_url}   (user admin, password {self.password()})
  Aurora UI:   {self.airflow_url}/plugin/aurora   (the "Aurora" entry of Airflow's menu)
  The job:     {self.airflow_url}/aurora/jobs/{JOB_KEY}
  DAG run:     {run}
               (its task {DEPLOY_TASK}, "Aurora job" link: the job's page)
  Scheduler:   {self.scheduler_url}   (its observer: {self.observer_url})
  Commands:    {commands}
  State:       {self.state}/ (scheduler/: the scheduler's database, sandboxes, checkpoints;
               airflow/: AIRFLOW_HOME); the admin token: {self.token_file}
  Logs:        {self.state}/scheduler.log, {self.state}/airflow.log,
               {self.work_dir}/observer.log
"""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--scheduler-port", type=int, default=8081,
                        help="aurora-scheduler's port (%(default)s)")
    parser.add_argument("--airflow-port", type=int, default=8080,
                        help="Airflow's port (%(default)s)")
    parser.add_argument("--observer-port", type=int, default=1338,
                        help="the observer's port, served by the scheduler (%(default)s)")
    parser.add_argument("--state-dir", type=Path, default=ROOT / ".demo",
                        help="databases, sandboxes and logs (.demo)")
    parser.add_argument("--exit-when-ready", action="store_true",
                        help="once the DAG run succeeded and the job's page answers, stop "
                        "everything and exit 0 (else exit 1)")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    flags = {"--scheduler-port": args.scheduler_port, "--airflow-port": args.airflow_port,
             "--observer-port": args.observer_port}
    for flag, port in flags.items():
        if not port_free(port):
            print(f"demo: port {port} on 127.0.0.1 is taken; stop what uses it or pass "
                  f"{flag} with another", file=sys.stderr)
            return 1
    demo = Demo(args)
    demo.state.mkdir(parents=True, exist_ok=True)
    become_subreaper()
    # Ctrl-C stops the demo even when started in the background (where SIGINT is ignored).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        demo.start_scheduler()
        demo.start_airflow()
        with demo.api() as api:
            run_id = demo.trigger_deploy(api)
            failure = demo.wait_run(api, run_id)
            failure = failure or demo.check_job_link(api, run_id)
        if failure is None:
            print(demo.summary(run_id), flush=True)
        else:
            say(f"FAILED: {failure}")
        if args.exit_when_ready:
            return 0 if failure is None else 1
        say("press Ctrl-C to stop")
        while all(proc.poll() is None for proc in demo.procs.values()):
            time.sleep(1)
        say("a process exited; stopping the rest")
        return 1
    except KeyboardInterrupt:
        return 130
    except (ApiError, httpx.HTTPError) as e:  # the scheduler or Airflow answered no
        print(f"demo: FAILED: {e}", file=sys.stderr, flush=True)
        return 1
    except SystemExit as e:
        if not isinstance(e.code, str):
            raise
        print(e.code, file=sys.stderr, flush=True)  # why, before what stopping says
        return 1
    finally:
        demo.stop()


if __name__ == "__main__":
    sys.exit(main())
