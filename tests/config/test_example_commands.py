"""The examples' command lines really run on this machine (later stages execute them).

Each job is bound as one instance would be at launch, and its processes are run with bash in
a scratch sandbox, in their order; servers are started, probed on 127.0.0.1 and stopped.
"""

from __future__ import annotations

import socket
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from aurora_provider.config import bind_task_instance, load
from tests.config.conftest import EXAMPLES
from tests.eventually import eventually

pytestmark = pytest.mark.process


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def instance(file: str, key: str, *binds: str) -> Any:
    job = load(EXAMPLES / file, bindings=list(binds)).pick(key)
    return bind_task_instance(job, instance=0, hostname="localhost", task_id="test-0",
                              ports={"http": free_port(), "health": free_port()})


def cmdlines(job: Any) -> dict[str, str]:
    return {p.name().get(): p.cmdline().get() for p in job.task().processes()}


def run(cmdline: str, sandbox: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-c", cmdline], cwd=sandbox, capture_output=True, text=True,
                          timeout=30, check=False)


def http_get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=1) as response:
        body: bytes = response.read()
        return body.decode()


def wait_for_http(url: str) -> str:
    """GET ``url`` until it answers (a server we just started needs a moment to listen)."""
    return eventually(lambda: http_get(url), timeout=10, ignore=(OSError,))


def test_process_kinds_batch_runs(tmp_path: Path) -> None:
    commands = cmdlines(instance("process_kinds.aurora", "devcluster/www-data/test/sum_numbers"))
    for name in ("fetch", "compute", "publish", "cleanup"):
        assert run(commands[name], tmp_path).returncode == 0, name
    assert (tmp_path / "total.txt").read_text() == str(sum(range(1, 1001)))
    assert not (tmp_path / "numbers.txt").exists()
    assert run(commands["progress"], tmp_path).returncode == 0


def test_cron_report_runs(tmp_path: Path) -> None:
    commands = cmdlines(instance("cron_report.aurora",
                                 "devcluster/www-data/devel/tmp_usage_report"))
    assert run(commands["collect"], tmp_path).returncode == 0
    report = run(commands["report"], tmp_path)
    assert report.returncode == 0, report.stderr
    assert "/tmp uses" in report.stdout


@pytest.mark.parametrize(("file", "key", "binds", "page"), [
    ("hello_world.aurora", "devcluster/www-data/prod/hello", (), "Hello from www-data/prod"),
    ("templated_services.aurora", "devcluster/www-data/devel/catalog",
     ("devel_version=2.4.0-dev",), "catalog 2.4.0-dev"),
])
def test_sequential_services_serve_their_page(
    tmp_path: Path, file: str, key: str, binds: tuple[str, ...], page: str
) -> None:
    job = instance(file, key, *binds)
    first, second = [p.cmdline().get() for p in job.task().processes()]
    assert run(first, tmp_path).returncode == 0
    server = subprocess.Popen(["bash", "-c", second], cwd=tmp_path,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        port = second.split("http.server ")[1].split()[0]
        index = "index.html" if "hello" in file else "VERSION"
        assert page in wait_for_http(f"http://127.0.0.1:{port}/{index}")
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_web_service_health_endpoint_and_graceful_shutdown(tmp_path: Path) -> None:
    health_port = free_port()
    job = bind_task_instance(
        load(EXAMPLES / "web_service.aurora").pick("devcluster/www-data/prod/web"),
        instance=0, hostname="localhost", task_id="test-0",
        ports={"http": free_port(), "health": health_port},
    )
    server = subprocess.Popen(["bash", "-c", cmdlines(job)["health"]], cwd=tmp_path,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert wait_for_http(f"http://127.0.0.1:{health_port}/health") == "ok"
        request = urllib.request.Request(f"http://127.0.0.1:{health_port}/quitquitquit",
                                         data=b"", method="POST")
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 200
        assert server.wait(timeout=10) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(timeout=10)
