"""The local backend's observer, a child of the real ``aurora-scheduler``: started on the port
the daemon bound, reported in ``ClusterInfo``, stopped with the daemon (SIGTERM or SIGKILL),
restarted with it; a taken port or a bad flag is one line and nothing starts."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import psutil
import pytest

from aurora_provider.framework.backends.local.backend import Capacity, LocalBackend
from aurora_provider.framework.backends.local.observer import ObserverProcess
from aurora_provider.framework.core.settings import SchedulerSettings
from aurora_provider.framework.daemon import Daemon as InProcessDaemon
from aurora_provider.framework.daemon import DaemonSettings
from aurora_provider.framework.http.auth import embedded_auth_file
from aurora_provider.framework.storage.store import Store
from tests.daemon import Daemon
from tests.eventually import eventually

pytestmark = pytest.mark.process

MODULE = "observer_plugin.observer"


def observers_of(pid: int) -> list[psutil.Process]:
    """The observer children of the process ``pid``."""
    try:
        children = psutil.Process(pid).children()
    except psutil.NoSuchProcess:
        return []
    return [c for c in children if MODULE in " ".join(c.cmdline())]


def health(url: str) -> str | None:
    try:
        response = httpx.get(f"{url}/health", timeout=2)
    except httpx.HTTPError:
        return None
    return response.text if response.status_code == 200 else None


def observer_url(daemon: Daemon) -> str | None:
    with daemon.client() as client:
        return client.cluster().observer_url


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_the_observer_runs_as_the_daemons_child_and_ends_with_it(
        make_daemon: Callable[..., Daemon], sig: int) -> None:
    daemon = make_daemon()  # tests.daemon asks for --observer-listen 127.0.0.1:0
    assert daemon.proc is not None
    url = observer_url(daemon)
    assert url is not None and url.startswith("http://127.0.0.1:")
    assert not url.endswith(":0")  # the port the daemon bound, not the one asked for
    assert eventually(lambda: health(url), what=f"the observer on {url}") == "OK"
    (child,) = observers_of(daemon.proc.pid)
    assert "--fd" in child.cmdline()
    assert str(daemon.work_dir / "checkpoints") in child.cmdline()
    assert (daemon.work_dir / "observer.log").exists()

    daemon.stop(sig)  # SIGTERM: the daemon stops it; SIGKILL: it sees its parent go
    psutil.wait_procs([child], timeout=15)
    assert not child.is_running()
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{url}/health", timeout=2)


def test_observer_flags_off_and_a_template(make_daemon: Callable[..., Daemon]) -> None:
    off = make_daemon("--observer-listen", "off", name="off")
    assert off.proc is not None
    assert observer_url(off) is None and not observers_of(off.proc.pid)
    given = make_daemon("--observer-listen", "off", "--observer-url",
                        "https://{host}.example.com/observer", name="given")
    assert observer_url(given) == "https://{host}.example.com/observer"


def _start(tmp_path: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "aurora_provider.framework.main", "--work-dir",
            str(tmp_path / "work"), "--listen", "127.0.0.1:0", *flags]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60,
                          env={"AURORA_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"})


def test_a_taken_observer_port_is_one_line_and_nothing_starts(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _start(tmp_path, "--observer-listen", f"127.0.0.1:{port}")
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"aurora-scheduler: cannot listen on 127.0.0.1:{port} for the "
                           "observer: Address already in use")
    assert "--observer-listen" in line
    assert not (tmp_path / "work" / "scheduler.db").exists()  # not started half-way


@pytest.mark.parametrize(("flags", "words"), [
    (["--observer-url", "http://agent:1338"], "--observer-url 'http://agent:1338': expected"),
    (["--observer-url", "http://{hostname}:1338"], "with {host}"),
    (["--observer-listen", "nowhere"], "--observer-listen 'nowhere': expected HOST:PORT"),
])
def test_bad_observer_flags_are_one_line(tmp_path: Path, flags: list[str], words: str) -> None:
    result = _start(tmp_path, *flags)
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith("aurora-scheduler: ") and words in line


def test_the_observer_follows_stop_and_start_on_its_port(tmp_path: Path) -> None:
    """What a deposed and re-elected leader does: the child goes with the scheduler and
    comes back on the same port, which the scheduler keeps meanwhile."""
    work = tmp_path / "work"
    work.mkdir()
    settings = DaemonSettings(db_url=f"sqlite:///{work / 'scheduler.db'}",
                              auth_file=embedded_auth_file(work, tmp_path / "token", "tester"),
                              scheduler=SchedulerSettings(round_interval_secs=0.05))

    def backend(_store: Store) -> LocalBackend:
        return LocalBackend(work_dir=work, hostname="localhost",
                            capacity=Capacity(cpu=1, ram_mb=1024, disk_mb=1024))

    observer = ObserverProcess.bind("127.0.0.1", 0, work / "checkpoints", work / "observer.log")
    daemon = InProcessDaemon(settings, backend, observer=observer)
    try:
        for _ in range(2):
            daemon.start()
            assert eventually(lambda: health(observer.url), what="the observer") == "OK"
            pid = observer.pid
            assert pid is not None
            daemon.stop()
            assert observer.pid is None and not psutil.pid_exists(pid)
            with socket.socket() as again, pytest.raises(OSError):  # still the scheduler's
                again.bind(("127.0.0.1", int(observer.url.rsplit(":", 1)[1])))
    finally:
        daemon.stop()
        observer.close()
