"""Every JSON route and HTML page of the observer, against real tasks on a served app."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from observer_plugin.observer.app import create_app
from observer_plugin.observer.service import Observer, Settings
from tests.eventually import eventually

from .conftest import Served, Tasks

pytestmark = pytest.mark.process

TALK = (
    "mkdir -p data/sub && printf '<b>bold</b> & text\\n' > data/page.html && "
    "head -c 3000000 /dev/urandom > data/blob.bin && printf 'caf\\351' > data/latin1.txt && "
    "ln -s /etc data/etc && ln -s ../.. data/up && "
    "echo '<script>alert(1)</script>' && echo to-stderr >&2 && "
    "for i in 0 1 2 3 4; do echo line $i; done && exec sleep 300"
)
# Busy for a while (CPU to sample), then idle; the fixture kills it long before.
BURN = "end=$((SECONDS + 60)); while [ $SECONDS -lt $end ]; do :; done; exec sleep 300"


class World:
    def __init__(self, tasks: Tasks, served: Served, sandbox: Path) -> None:
        self.tasks, self.served, self.sandbox = tasks, served, sandbox


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tasks = Tasks(tmp_path_factory.mktemp("observer"))
    try:
        tasks.start("done-0", ("hello", "echo finished"), job="done")
        tasks.wait_state("done-0", "SUCCESS")
        sandbox = tasks.start("web-0", ("talk", TALK), ("burn", BURN), job="web")
        tasks.wait_running("web-0", "talk")
        tasks.wait_running("web-0", "burn")
        eventually(lambda: b"line 4" in (sandbox / ".logs/talk/0/stdout").read_bytes(),
                   ignore=(FileNotFoundError,), what="talk's output")  # fmt: skip
        settings = Settings(roots=(tasks.root,), sample_interval=0.2, disk_interval=0.5)
        served = Served(create_app(Observer(settings)))
        try:
            yield World(tasks, served, sandbox)
        finally:
            served.stop()
    finally:
        tasks.stop()


def test_task_ids_newest_first_split_by_state(world: World) -> None:
    s = world.served
    assert s.get("/j/task_ids").json() == {"active": ["web-0"], "finished": ["done-0"]}
    assert s.get("/j/task_ids?type=finished").json() == {"active": [], "finished": ["done-0"]}
    # web-0 was launched after done-0: it comes first.
    assert s.get("/j/task_ids?type=all&offset=0&num=1").json() == {
        "active": ["web-0"], "finished": []}
    assert s.get("/j/task_ids?offset=1&num=1").json() == {"active": [], "finished": ["done-0"]}
    bad = s.get("/j/task_ids?type=running")
    assert bad.status_code == 400 and "type" in bad.json()["error"]


def test_task_json(world: World) -> None:
    s = world.served
    both = s.get("/j/task?task_id=web-0,done-0").json()
    assert set(both) == {"web-0", "done-0"}
    web = both["web-0"]
    assert set(web) == {"task_id", "job_key", "instance", "hostname", "state", "health",
                        "launch_time", "sandbox", "ports", "statuses", "processes",
                        "resources", "message"}  # fmt: skip
    assert (web["job_key"], web["instance"], web["hostname"], web["state"], web["health"]) == (
        "local/me/devel/web", 0, "localhost", "ACTIVE", "none")
    assert web["sandbox"] == str(world.sandbox) and web["ports"] == {}
    assert web["processes"] == {"talk": {"state": "RUNNING", "runs": 1},
                                "burn": {"state": "RUNNING", "runs": 1}}  # fmt: skip
    assert web["statuses"][0] == {"state": "ACTIVE", "timestamp": web["launch_time"]}
    done = both["done-0"]
    assert done["state"] == "SUCCESS" and done["processes"]["hello"]["state"] == "SUCCESS"
    states = [st["state"] for st in done["statuses"]]
    assert states[:2] == ["ACTIVE", "CLEANING"] and states[-1] == "SUCCESS"
    times = [st["timestamp"] for st in done["statuses"]]
    assert times == sorted(times)
    # Several ids: the unknown ones are left out; only unknown ones: 404.
    assert set(s.get("/j/task?task_id=done-0,nope").json()) == {"done-0"}
    missing = s.get("/j/task?task_id=nope")
    assert missing.status_code == 404 and "nope" in missing.json()["error"]
    assert s.get("/j/task").status_code == 400


def test_processes_and_process_json(world: World) -> None:
    s = world.served
    procs = s.get("/j/processes?task_id=done-0").json()["done-0"]
    hello = procs["hello"]
    assert hello["name"] == "hello" and hello["state"] == "SUCCESS"
    (run,) = hello["runs"]
    assert set(run) == {"run", "state", "pid", "start_time", "stop_time", "return_code",
                        "reason"}  # fmt: skip
    assert (run["run"], run["state"], run["return_code"]) == (0, "SUCCESS", 0)
    assert run["pid"] > 0 and run["stop_time"] >= run["start_time"] > 0
    assert s.get("/j/process/done-0/hello").json() == hello
    talk = s.get("/j/process/web-0/talk").json()
    assert talk["state"] == "RUNNING" and talk["runs"][0]["stop_time"] is None
    assert s.get("/j/process/web-0/nope").status_code == 404
    assert s.get("/j/process/nope/talk").status_code == 404


def test_log_tail_of_a_process_output_with_offsets_and_follow(world: World) -> None:
    s = world.served
    path = world.sandbox / ".logs/talk/0/stdout"
    size = path.stat().st_size
    tail = s.get("/j/logs/web-0/talk/0/stdout").json()
    assert tail == {"data": path.read_text(), "offset": 0, "length": size, "size": size}
    assert "line 4\n" in tail["data"] and "<script>alert(1)</script>" in tail["data"]
    last = s.get("/j/logs/web-0/talk/0/stdout?length=7").json()
    assert (last["data"], last["offset"]) == ("line 4\n", size - 7)
    head = s.get("/j/logs/web-0/talk/0/stdout?offset=0&length=8").json()
    assert head["data"] == "<script>" and head["length"] == 8
    follow = s.get(f"/j/logs/web-0/talk/0/stdout?offset={size}").json()
    assert (follow["data"], follow["offset"], follow["length"]) == ("", size, 0)
    assert s.get("/j/logs/web-0/talk/0/stderr").json()["data"] == "to-stderr\n"
    assert s.get("/j/logs/done-0/hello/0/stdout").json()["data"] == "finished\n"
    for bad, status in (("talk/1/stdout", 404), ("talk/0/stdin", 404), ("nope/0/stdout", 404),
                        ("talk/x/stdout", 400)):  # fmt: skip
        r = s.get(f"/j/logs/web-0/{bad}")
        assert r.status_code == status and "\n" not in r.json()["error"], bad
    assert s.get("/j/logs/web-0/talk/0/stdout?offset=-1").status_code == 400


def test_resource_samples_of_the_processes(world: World) -> None:
    s = world.served

    def busy() -> list[dict[str, float]]:
        samples = s.get("/j/resources/web-0").json()["samples"]
        return samples if any(x["cpu"] > 10 for x in samples) else []

    samples = eventually(busy, what="a sample of the busy process")
    assert all(x["rss"] > 0 and set(x) == {"timestamp", "cpu", "rss", "disk"} for x in samples)
    assert [x["timestamp"] for x in samples] == sorted(x["timestamp"] for x in samples)
    disk = eventually(lambda: s.get("/j/resources/web-0").json()["samples"][-1]["disk"],
                      what="the sandbox's disk use")  # fmt: skip
    assert disk >= 3_000_000  # the blob
    latest = s.get("/j/task?task_id=web-0").json()["web-0"]["resources"]
    assert set(latest) == {"timestamp", "cpu", "rss", "disk"} and latest["rss"] > 0
    assert s.get("/j/task?task_id=done-0").json()["done-0"]["resources"] == {}
    assert s.get("/j/resources/done-0").json() == {"task_id": "done-0", "samples": []}
    assert s.get("/j/resources/nope").status_code == 404
    page = s.get("/process/web-0/burn").text
    assert "CPU" in page and " %" in page and "MiB" in page


def test_browse_file_and_download(world: World) -> None:
    s = world.served
    top = s.get("/j/browse/web-0").json()
    assert top["task_id"] == "web-0" and top["path"] == ""
    # .aurora holds the XCom file ($AURORA_XCOM_FILE), made before any process starts.
    assert [e["name"] for e in top["entries"]] == [".aurora", ".logs", "data"]
    assert s.get("/j/browse/web-0/").json() == top
    data = s.get("/j/browse/web-0/data").json()
    names = {e["name"]: e for e in data["entries"]}
    assert set(names) == {"sub", "up", "blob.bin", "etc", "latin1.txt", "page.html"}
    assert names["blob.bin"]["size"] == 3_000_000 and not names["blob.bin"]["is_dir"]
    assert names["sub"]["is_dir"] and names["up"]["is_dir"] is False  # its target is outside
    assert set(names["sub"]) == {"name", "is_dir", "size", "mtime"}

    page = s.get("/j/file/web-0/data/page.html").json()
    text = "<b>bold</b> & text\n"
    assert page == {"data": text, "offset": 0, "length": len(text), "size": len(text),
                    "binary": False}  # fmt: skip
    assert s.get("/j/file/web-0/data/page.html?offset=3&length=4").json()["data"] == "bold"
    for binary in ("data/blob.bin", "data/latin1.txt"):
        answer = s.get(f"/j/file/web-0/{binary}").json()
        assert answer["binary"] is True and answer["data"] == "", binary
    assert s.get("/j/browse/web-0/data/page.html").status_code == 400
    assert s.get("/j/file/web-0/data").status_code == 400

    with s.client.stream("GET", "/download/web-0/data/blob.bin") as r:
        assert r.status_code == 200
        assert r.headers["content-disposition"] == "attachment; filename*=UTF-8''blob.bin"
        assert r.headers["content-type"] == "application/octet-stream"
        assert int(r.headers["content-length"]) == 3_000_000
        chunks = list(r.iter_raw())
    assert b"".join(chunks) == (world.sandbox / "data/blob.bin").read_bytes()
    for missing in ("/j/file/web-0/data/nope", "/download/web-0/nope", "/j/browse/web-0/no",
                    "/file/web-0/nope", "/browse/web-0/nope"):  # fmt: skip
        assert s.get(missing).status_code == 404, missing


TRAVERSALS = [
    "../../../../etc/passwd", "%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "data/%2E%2E/%2E%2E/%2E%2E/etc/passwd", "/etc/passwd", "data/etc/passwd", "data/etc",
    "data/up/checkpoints/web-0/runner.ckpt", "data/sub/../page.html", "..%2f..%2fetc%2fpasswd",
]


@pytest.mark.parametrize("route", ["/j/browse", "/j/file", "/download", "/browse", "/file"])
def test_every_way_out_of_the_sandbox_is_refused(world: World, route: str) -> None:
    for path in TRAVERSALS:
        status, body = world.served.raw(f"{route}/web-0/{path}")
        assert status == 403, (route, path, status, body[:200])
        assert b"root:" not in body
        if "/../" not in f"/{path}":  # httpx would resolve a literal '..' before sending
            assert world.served.get(f"{route}/web-0/{path}").status_code == 403, path


def test_html_pages_link_to_each_other_and_escape_what_tasks_wrote(world: World) -> None:
    s = world.served
    listing = s.get("/main")
    assert listing.status_code == 200 and "default-src 'none'" in listing.headers[
        "content-security-policy"]
    assert 'href="/task/web-0"' in listing.text and 'href="/task/done-0"' in listing.text
    assert "all (2)" in listing.text and "active (1)" in listing.text
    for url in ("/main/active", "/main/finished/0/1?sort=job", "/main/all/0/5?sort=state"):
        assert s.get(url).status_code == 200, url
    assert 'href="/task/done-0"' not in s.get("/main/active").text
    assert s.get("/main/all?sort=cpu").status_code == 400

    task = s.get("/task/web-0").text
    for href in ("/process/web-0/talk", "/browse/web-0", "/logs/web-0/talk/0/stdout",
                 "/logs/web-0/burn/0/stderr", "/main"):  # fmt: skip
        assert f'href="{href}"' in task, href
    assert "local/me/devel/web" in task and "<svg" in task
    process = s.get("/process/done-0/hello").text
    assert 'href="/logs/done-0/hello/0/stdout"' in process and 'href="/task/done-0"' in process

    log = s.get("/logs/web-0/talk/0/stdout")
    assert log.status_code == 200
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in log.text
    assert "<script>alert(1)" not in log.text
    assert 'data-url="/j/logs/web-0/talk/0/stdout"' in log.text and "fetch(" in log.text
    assert 'href="/process/web-0/talk"' in log.text

    browse = s.get("/browse/web-0/data").text
    assert 'href="/file/web-0/data/page.html"' in browse
    assert 'href="/download/web-0/data/blob.bin"' in browse
    assert 'href="/browse/web-0/data/sub"' in browse
    file_page = s.get("/file/web-0/data/page.html").text
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; text" in file_page and "<b>bold" not in file_page
    blob = s.get("/file/web-0/data/blob.bin").text
    assert "binary file" in blob and 'href="/download/web-0/data/blob.bin"' in blob
    assert "<pre>" not in blob
    redirect = s.get("/browse/web-0/data/page.html")
    assert redirect.status_code == 200 and redirect.url.path == "/file/web-0/data/page.html"
    assert s.get("/health").text == "OK"
    assert s.get("/favicon.ico").status_code == 204
    assert s.get("/").url.path == "/main"

    for missing in ("/task/nope", "/process/web-0/nope", "/logs/web-0/talk/9/stdout"):
        r = s.get(missing)
        assert r.status_code == 404 and "text/html" in r.headers["content-type"], missing
    hostile = s.get("/task/<img src=x>")
    assert hostile.status_code == 404 and "<img" not in hostile.text


def test_pages_load_nothing_from_elsewhere(world: World) -> None:
    for url in ("/main", "/task/web-0", "/process/web-0/talk", "/logs/web-0/talk/0/stdout",
                "/browse/web-0", "/file/web-0/data/page.html"):  # fmt: skip
        text = world.served.get(url).text
        assert "http://" not in text and "https://" not in text and "//cdn" not in text, url
        assert " src=" not in text, url


def test_a_task_started_later_appears(world: World) -> None:
    world.tasks.start("late-0", ("hi", "echo late"), job="late")
    world.tasks.wait_state("late-0", "SUCCESS")
    assert world.served.get("/j/task?task_id=late-0").json()["late-0"]["state"] == "SUCCESS"
    assert "late-0" in world.served.get("/j/task_ids?type=finished").json()["finished"]
