"""Bounded input, authentication first, against the real daemon: the body limit (413 from
Content-Length and from a chunked body), 401 before a body is read (a flood of 20 MB bodies
leaves the daemon's RSS flat), and the limits on instances per job and jobs per role."""

from __future__ import annotations

import signal
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from aurora_provider.api import InvalidRequest
from tests.daemon import Daemon
from tests.eventually import eventually
from tests.scheduler.conftest import job_wire

pytestmark = pytest.mark.integration

LIMIT = 1_000_000
BIG = 20 * 2**20
FLOOD = 10


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    root = tmp_path_factory.mktemp("limits")
    d = Daemon(root / "work", root / "home", [
        "--max-body-bytes", str(LIMIT), "--max-tasks-per-job", "3", "--max-jobs-per-role", "2"])
    d.start()
    yield d
    d.stop(signal.SIGKILL)
    d.kill_runners()


def bearer(daemon: Daemon) -> dict[str, str]:
    return {"Authorization": f"Bearer {daemon.token()}"}


def chunks(data: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start:start + size]


def test_a_body_over_the_limit_is_413_with_or_without_content_length(limited: Daemon) -> None:
    url = f"{limited.url}/api/v1/jobs"
    body = b"x" * (LIMIT + 1)
    declared = httpx.post(url, content=body, headers=bearer(limited), timeout=60)
    assert declared.status_code == 413
    assert declared.json() == {"code": "PAYLOAD_TOO_LARGE", "message": (
        f"request body of {LIMIT + 1} bytes exceeds the limit of {LIMIT} bytes "
        "(--max-body-bytes)")}
    streamed = httpx.post(url, content=chunks(body), headers=bearer(limited), timeout=60)
    assert streamed.request.headers["transfer-encoding"] == "chunked"
    assert "content-length" not in streamed.request.headers
    assert streamed.status_code == 413
    assert streamed.json()["message"] == (f"request body exceeds the limit of {LIMIT} bytes "
                                          "(--max-body-bytes)")
    # At the limit, a chunked body reaches the route (which finds it is not a job).
    fits = httpx.post(url, content=chunks(b"[" + b" " * (LIMIT - 2) + b"]"),
                      headers=bearer(limited), timeout=60)
    assert fits.status_code == 400 and fits.json()["code"] == "INVALID_REQUEST"


def unsent_body_answer(daemon: Daemon, headers: str) -> bytes:
    """The answer to a request that announces a body and never sends it: only a server that
    answers without reading the body answers at all (the timeout bounds a hang)."""
    with socket.create_connection(("127.0.0.1", daemon.port), timeout=60) as s:
        s.sendall(f"POST /api/v1/jobs HTTP/1.1\r\nHost: scheduler\r\n{headers}"
                  "Content-Type: application/json\r\n\r\n".encode())
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            data = s.recv(65536)
            if not data:
                break
            answer += data
        return answer


def test_authentication_comes_before_the_body(limited: Daemon) -> None:
    for headers in ("Content-Length: 1000\r\n", "Transfer-Encoding: chunked\r\n",
                    "Authorization: Bearer not-a-token\r\nContent-Length: 1000\r\n"):
        answer = unsent_body_answer(limited, headers)
        assert answer.startswith(b"HTTP/1.1 401 "), answer
        assert b'"code":"UNAUTHENTICATED"' in answer
    assert unsent_body_answer(limited, f"Authorization: Bearer {limited.token()}\r\n"
                              f"Content-Length: {LIMIT + 1}\r\n").startswith(b"HTTP/1.1 413 ")
    url = f"{limited.url}/api/v1/jobs"
    for headers in ({}, {"Authorization": "Bearer not-a-token"}):
        answer = httpx.post(url, content=b"{not json", headers=headers, timeout=60)
        assert answer.status_code == 401, answer.text
        assert answer.json()["code"] == "UNAUTHENTICATED"
    over = httpx.post(url, content=b"x" * (LIMIT + 1), timeout=60)
    assert over.status_code == 401  # who asks is checked before how much is sent
    with_token = httpx.post(url, content=b"{not json", headers=bearer(limited), timeout=60)
    assert with_token.status_code == 400
    # What no route takes is answered by the router, unread, as without a body.
    assert httpx.post(f"{limited.url}/health", content=b"x" * (LIMIT + 1),
                      timeout=60).status_code == 405
    assert httpx.put(f"{limited.url}/api/v1/nothing", content=b"{}",
                     timeout=60).status_code == 404


def test_a_flood_of_unauthenticated_20mb_bodies_leaves_rss_flat(limited: Daemon) -> None:
    assert limited.proc is not None
    daemon = psutil.Process(limited.proc.pid)
    body = b"x" * BIG
    url = f"{limited.url}/api/v1/jobs"
    # Warm up the path, so what is measured is the flood, not the first request's imports.
    assert httpx.post(url, content=b"{}", timeout=60).status_code == 401
    before = daemon.memory_info().rss
    peak = [before]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.005):
            peak[0] = max(peak[0], daemon.memory_info().rss)

    answers: list[int] = []

    def send(with_length: bool) -> None:
        content = body if with_length else chunks(body)
        answers.append(httpx.post(url, content=content, timeout=120).status_code)

    sampler = threading.Thread(target=sample)
    sampler.start()
    senders = [threading.Thread(target=send, args=(i % 2 == 0,)) for i in range(FLOOD)]
    for t in senders:
        t.start()
    for t in senders:
        t.join()
    done.set()
    sampler.join()
    assert answers == [401] * FLOOD
    assert peak[0] - before < 50 * 2**20, f"RSS grew by {(peak[0] - before) >> 20} MiB"


def test_instances_over_max_tasks_per_job_are_refused_in_one_line(limited: Daemon,
                                                                  tmp_path: Path) -> None:
    with limited.client() as c:
        with pytest.raises(InvalidRequest) as refused:
            c.create_job(job_wire(tmp_path, "wide", "sleep 600", instances=4, role="wide"))
        assert refused.value.message == ("job devcluster/wide/test/wide: 4 instances exceed "
                                         "the limit of 3 (--max-tasks-per-job)")
        c.create_job(job_wire(tmp_path, "fits", "sleep 600", instances=2, role="wide"))
        with pytest.raises(InvalidRequest) as grown:
            c.add_instances("devcluster/wide/test/fits", 0, 2)
        assert grown.value.message == ("job devcluster/wide/test/fits would have 4 instances, "
                                       "over the limit of 3 (--max-tasks-per-job)")
        with pytest.raises(InvalidRequest) as cron:
            c.schedule_cron(job_wire(tmp_path, "widecron", "echo", instances=4, role="wide",
                                     extra=", cron_schedule='0 3 * * *'"))
        assert "(--max-tasks-per-job)" in cron.value.message
        c.killall("devcluster/wide/test/fits")


def test_a_role_over_max_jobs_per_role_is_refused(limited: Daemon, tmp_path: Path) -> None:
    with limited.client() as c:
        c.create_job(job_wire(tmp_path, "one", "sleep 600", role="busy"))
        c.schedule_cron(job_wire(tmp_path, "two", "echo", role="busy",
                                 extra=", cron_schedule='0 3 * * *'"))
        with pytest.raises(InvalidRequest) as refused:
            c.create_job(job_wire(tmp_path, "three", "sleep 600", role="busy"))
        assert refused.value.message == (
            "job devcluster/busy/test/three: role 'busy' holds 2 jobs, the limit of 2 "
            "(--max-jobs-per-role); kill one first")
        with pytest.raises(InvalidRequest, match=r"\(--max-jobs-per-role\)"):
            c.schedule_cron(job_wire(tmp_path, "four", "echo", role="busy",
                                     extra=", cron_schedule='0 3 * * *'"))
        # Replacing a cron job the role holds is no new job; another role has room.
        c.schedule_cron(job_wire(tmp_path, "two", "echo hi", role="busy",
                                 extra=", cron_schedule='0 4 * * *'"))
        c.create_job(job_wire(tmp_path, "three", "sleep 600", role="idle"))
        # A killed job frees its place.
        c.killall("devcluster/busy/test/one")
        eventually(lambda: "devcluster/busy/test/one" not in
                   [j.key for j in c.list_jobs().jobs], what="job one gone")
        c.create_job(job_wire(tmp_path, "three", "sleep 600", role="busy"))
        for key in ("busy/test/three", "idle/test/three"):
            c.killall(f"devcluster/{key}")


def test_concurrent_cron_schedules_never_pass_the_role_limit(limited: Daemon,
                                                              tmp_path: Path) -> None:
    # The role holds one job; six requests race for its last place: one gets it.
    wires = [job_wire(tmp_path, f"race{i}", "echo", role="race",
                      extra=", cron_schedule='0 3 * * *'") for i in range(6)]
    with limited.client() as c:
        c.create_job(job_wire(tmp_path, "held", "sleep 600", role="race"))
    start = threading.Barrier(len(wires))
    outcomes: list[str] = []

    def schedule(wire: dict[str, Any]) -> None:
        with limited.client() as own:
            start.wait()
            try:
                own.schedule_cron(wire)
                outcomes.append("scheduled")
            except InvalidRequest as e:
                outcomes.append("refused" if "(--max-jobs-per-role)" in e.message else e.message)

    threads = [threading.Thread(target=schedule, args=(w,)) for w in wires]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["refused"] * 5 + ["scheduled"]
    with limited.client() as c:
        crons = [j.key for j in c.list_cron().jobs if "/race/" in j.key]
        assert len(crons) == 1, crons
        c.deschedule_cron(crons[0])
        c.killall("devcluster/race/test/held")
