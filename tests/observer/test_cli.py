"""``aurora-observer`` as a process: serving, stopping, flags, ``--fd`` and its parent."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.eventually import eventually

pytestmark = pytest.mark.process

OBSERVER = str(Path(sys.executable).with_name("aurora-observer"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _health(url: str) -> bool:
    return httpx.get(f"{url}/health", timeout=5).text == "OK"


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([OBSERVER, *args], capture_output=True, text=True, timeout=60,
                          check=False)  # fmt: skip


def test_serves_until_sigterm_then_exits_cleanly(tmp_path: Path) -> None:
    port = _free_port()
    proc = subprocess.Popen([OBSERVER, "--listen", f"127.0.0.1:{port}", "--checkpoint-root",
                             str(tmp_path), "--checkpoint-root", str(tmp_path / "later")],
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        eventually(lambda: _health(f"http://127.0.0.1:{port}"), ignore=(httpx.HTTPError,),
                   what="the observer's /health")  # fmt: skip
        assert httpx.get(f"http://127.0.0.1:{port}/j/task_ids").json() == {
            "active": [], "finished": []}
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        assert proc.stderr is not None
        err = proc.stderr.read()
        proc.stderr.close()
    assert "Traceback" not in err and f"http://127.0.0.1:{port}" in err


def test_bad_flags_a_port_in_use_and_a_root_that_is_a_file_are_one_line(tmp_path: Path) -> None:
    for args, status, says in (
        (["--listen", "nowhere"], 2, "--listen"),
        (["--sample-interval", "0"], 2, "--sample-interval"),
        (["--history", "many"], 2, "--history"),
        (["--no-such-flag"], 2, "--no-such-flag"),
    ):
        result = _run(*args)
        assert result.returncode == status, args
        assert result.stderr.count("\n") == 1 and says in result.stderr, result.stderr
    a_file = tmp_path / "file"
    a_file.write_text("")
    result = _run("--checkpoint-root", str(a_file), "--listen", f"127.0.0.1:{_free_port()}")
    assert result.returncode == 1
    assert result.stderr == f"aurora-observer: --checkpoint-root {a_file}: not a directory\n"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = _run("--listen", f"127.0.0.1:{port}", "--checkpoint-root", str(tmp_path))
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    result = _run("--fd", "97", "--checkpoint-root", str(tmp_path))
    assert result.returncode == 1 and "--fd 97" in result.stderr
    assert result.stderr.count("\n") == 1


def test_fd_serves_an_inherited_socket(tmp_path: Path) -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "observer_plugin.observer", "--fd", str(sock.fileno()),
         "--checkpoint-root", str(tmp_path)],
        pass_fds=[sock.fileno()], stderr=subprocess.DEVNULL)  # fmt: skip
    sock.close()  # the child has its own copy
    try:
        eventually(lambda: _health(url), ignore=(httpx.HTTPError,), what="/health over --fd")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# A parent that binds the socket, starts the observer on it, prints its pid and blocks.
PARENT = """
import socket, subprocess, sys, time
sock = socket.socket(); sock.bind(("127.0.0.1", 0)); sock.listen(16)
child = subprocess.Popen([sys.executable, "-m", "observer_plugin.observer", "--fd",
                          str(sock.fileno()), "--checkpoint-root", sys.argv[1]],
                         pass_fds=[sock.fileno()], stderr=subprocess.DEVNULL)
print(child.pid, sock.getsockname()[1], flush=True)
time.sleep(600)
"""


def test_with_fd_it_exits_when_its_parent_is_gone(tmp_path: Path) -> None:
    parent = subprocess.Popen([sys.executable, "-c", PARENT, str(tmp_path)],
                              stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert parent.stdout is not None
    pid, port = map(int, parent.stdout.readline().split())
    try:
        eventually(lambda: _health(f"http://127.0.0.1:{port}"), ignore=(httpx.HTTPError,),
                   what="the observer started by the parent")  # fmt: skip
        parent.kill()
        parent.wait()
        eventually(lambda: _gone(pid), what="the observer exiting after its parent")
    finally:
        parent.stdout.close()
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        if not _gone(pid):
            os.kill(pid, signal.SIGKILL)


def test_the_observer_imports_neither_airflow_nor_jinja2() -> None:
    code = (
        "import sys, observer_plugin.observer.main, observer_plugin.observer.app\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('airflow', 'jinja2')]\n"
        "print(','.join(sorted(bad)))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=False, timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""
