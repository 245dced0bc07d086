"""A real ``airflow api-server`` with the Aurora plugin, on 127.0.0.1, in its own home.

Started in its own session so that stopping it stops its workers too. Shared by the plugin
tests and the benchmark.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from tests.daemon import free_port
from tests.eventually import eventually

FAB = "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager"
SIMPLE = "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
AUTH_MANAGERS = {"simple": SIMPLE, "fab": FAB}
USER, PASSWORD = "admin", "aurora-ui-test"
BIN = Path(sys.executable).parent


def connection_json(url: str, token: str | None) -> str:
    return json.dumps({"conn_type": "aurora", "host": url, "password": token,
                       "extra": {"cluster": "devcluster"}})


class ApiServer:
    """``airflow api-server`` under one auth manager, talking to one Aurora scheduler."""

    def __init__(self, home: Path, auth: str, scheduler_url: str, scheduler_token: str,
                 aurora_home: Path) -> None:
        self.home = home
        self.auth = auth
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = home / "api-server.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.env = {
            **os.environ,
            "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__AUTH_MANAGER": AUTH_MANAGERS[auth],
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:admin",
            "AIRFLOW__API__BASE_URL": self.url,
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API_AUTH__JWT_SECRET": "aurora-ui-test-secret",
            "AIRFLOW__API__SECRET_KEY": "aurora-ui-test-secret",
            "AIRFLOW__FAB__UPDATE_FAB_PERMS": "True",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
            # The connection form's Test button (off by default in Airflow 3).
            "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
            "AURORA_HOME": str(aurora_home),
            "AIRFLOW_CONN_AURORA_DEFAULT": connection_json(scheduler_url, scheduler_token),
        }

    def airflow(self, *args: str, timeout: float = 300) -> str:
        result = subprocess.run([str(BIN / "airflow"), *args], env=self.env, timeout=timeout,
                                capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise AssertionError(f"airflow {' '.join(args)} failed:\n"
                                 f"{(result.stdout + result.stderr)[-3000:]}")
        return result.stdout

    def prepare(self) -> None:
        """Migrate the database; under FAB also its tables and an admin user."""
        (self.home / "dags").mkdir(parents=True, exist_ok=True)
        self.airflow("db", "migrate")
        if self.auth == "fab":
            self.airflow("fab-db", "migrate")
            self.airflow("users", "create", "--username", USER, "--password", PASSWORD,
                         "--role", "Admin", "--email", "admin@example.com",
                         "--firstname", "Ad", "--lastname", "Min")

    def start(self) -> None:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [str(BIN / "airflow"), "api-server", "--host", "127.0.0.1", "--port",
                 str(self.port), "--workers", "1"], env=self.env, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True)
        eventually(self._ready, timeout=90, interval=0.2, what=f"api-server on {self.url}")

    def _ready(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise AssertionError(f"api-server exited: {self.log.read_text()[-3000:]}")
        try:
            return httpx.get(f"{self.url}/api/v2/monitor/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def password(self) -> str:
        if self.auth == "fab":
            return PASSWORD
        generated = self.home / "simple_auth_manager_passwords.json.generated"
        return str(json.loads(generated.read_text())[USER])

    def token(self) -> str:
        response = httpx.post(f"{self.url}/auth/token", timeout=30,
                              json={"username": USER, "password": self.password()})
        if response.status_code >= 300:
            raise AssertionError(f"POST /auth/token: {response.status_code} {response.text}")
        return str(response.json()["access_token"])

    def stop(self) -> None:
        """SIGTERM to the whole session (server and workers), SIGKILL if it lingers."""
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        with contextlib.suppress(ProcessLookupError):  # workers that outlived the master
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc = None
