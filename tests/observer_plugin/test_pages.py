"""The plugin's pages and JSON routes over HTTP, through a real api-server under both auth
managers, against a real scheduler running a job."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from tests.observer_plugin.conftest import MARKER, RunningJob
from tests.observer_plugin.servers import ApiServer

pytestmark = pytest.mark.integration


def job_url(job: RunningJob) -> str:
    return f"/aurora/jobs/{job.key}"


def test_the_plugin_is_loaded_once_through_its_entry_point(http: httpx.Client) -> None:
    plugins = http.get("/api/v2/plugins").json()["plugins"]
    ours = [p for p in plugins if p["name"] == "aurora"]
    assert len(ours) == 1, plugins
    views = {v["name"]: v for v in ours[0]["external_views"]}
    assert views["Aurora"]["href"] == "/aurora/" and views["Aurora"]["url_route"] == "aurora"
    assert views["Aurora job"]["destination"] == "task_instance"
    assert ours[0]["fastapi_apps"][0]["url_prefix"] == "/aurora"


def test_airflow_plugins_cli_lists_it_once(api_server: ApiServer) -> None:
    out = api_server.airflow("plugins", "--output", "json", timeout=120)
    assert [p["name"] for p in json.loads(out)].count("aurora") == 1


def test_cluster_page(http: httpx.Client, running_job: RunningJob) -> None:
    page = http.get("/aurora/")
    assert page.status_code == 200, page.text
    for part in ("Cluster devcluster", "Roles", "ui-demo", "Quota use", "Hosts in maintenance",
                 "Active updates", "Cron jobs", "RUNNING"):
        assert part in page.text, part
    assert "/aurora/static/aurora.css" in page.text
    assert http.get("/aurora/static/aurora.css").headers["content-type"].startswith("text/css")


def test_role_page(http: httpx.Client, running_job: RunningJob) -> None:
    page = http.get("/aurora/roles/www")
    assert page.status_code == 200, page.text
    assert "Role www" in page.text and "ui-demo" in page.text and "Quota" in page.text


def test_job_page_lists_instances_and_configuration(http: httpx.Client,
                                                    running_job: RunningJob) -> None:
    page = http.get(job_url(running_job))
    assert page.status_code == 200, page.text
    assert f"/aurora/tasks/{running_job.task_id}" in page.text
    assert "RUNNING" in page.text and "Task history" in page.text and "Updates" in page.text
    assert "Configuration" in page.text


def test_an_unknown_job_is_a_clear_404(http: httpx.Client, running_job: RunningJob) -> None:
    page = http.get("/aurora/jobs/devcluster/www/test/no-such-job")
    assert page.status_code == 404
    assert "knows no job devcluster/www/test/no-such-job" in page.text


def test_unknown_task_and_update_are_404(http: httpx.Client, running_job: RunningJob) -> None:
    assert http.get("/aurora/tasks/no-such-task").status_code == 404
    update = http.get("/aurora/updates/www/test/ui-demo/no-such-update")
    assert update.status_code == 404 and "no-such-update" in update.text


def test_task_page_shows_processes(http: httpx.Client, running_job: RunningJob) -> None:
    page = http.get(f"/aurora/tasks/{running_job.task_id}")
    assert page.status_code == 200, page.text
    assert "Processes" in page.text and ">main<" in page.text
    assert f"/aurora/tasks/{running_job.task_id}/logs/main/0/stdout" in page.text
    assert f'href="/aurora/jobs/{running_job.key}"' in page.text
    assert "Resources" in page.text and "Observer:" not in page.text


def test_log_tail_is_escaped_and_followable(http: httpx.Client, running_job: RunningJob) -> None:
    page = http.get(f"/aurora/tasks/{running_job.task_id}/logs/main/0/stdout")
    assert page.status_code == 200, page.text
    assert MARKER in page.text
    assert "&lt;b&gt;not bold&lt;/b&gt;" in page.text and "<b>not bold</b>" not in page.text
    assert 'id="follow"' in page.text  # the observer answered: the JSON route follows it
    chunk = http.get(f"/aurora/api/tasks/{running_job.task_id}/logs/main/0/stdout",
                     params={"offset": 0}).json()
    assert MARKER in chunk["data"] and chunk["offset"] == 0
    end = chunk["offset"] + chunk["length"]
    rest = http.get(f"/aurora/api/tasks/{running_job.task_id}/logs/main/0/stdout",
                    params={"offset": end}).json()
    assert rest["length"] == 0 and rest["offset"] == end


def test_a_bad_stream_is_refused(http: httpx.Client, running_job: RunningJob) -> None:
    page = http.get(f"/aurora/tasks/{running_job.task_id}/logs/main/0/nope")
    assert page.status_code == 404 and "not stdout or stderr" in page.text


def test_sandbox_browser_file_and_download(http: httpx.Client, running_job: RunningJob) -> None:
    task = running_job.task_id
    listing = http.get(f"/aurora/tasks/{task}/browse")
    assert listing.status_code == 200, listing.text
    assert "data/" in listing.text
    inner = http.get(f"/aurora/tasks/{task}/browse/data")
    assert "note.txt" in inner.text and "blob.bin" in inner.text
    note = http.get(f"/aurora/tasks/{task}/file/data/note.txt")
    assert note.status_code == 200 and "hello" in note.text
    blob = http.get(f"/aurora/tasks/{task}/file/data/blob.bin")
    assert "binary file: it can only be downloaded" in blob.text and "\x00" not in blob.text
    download = http.get(f"/aurora/tasks/{task}/download/data/blob.bin")
    assert download.status_code == 200 and download.content == b"\x00\x01\x02binary"
    assert "attachment" in download.headers["content-disposition"]


@pytest.mark.parametrize("route", ["browse", "file", "download"])
@pytest.mark.parametrize("path", ["../../etc/passwd", "%2e%2e/%2e%2e/etc/passwd",
                                  "data/%252e%252e/%252e%252e/etc", "%2fetc%2fpasswd",
                                  "data/..%2f..%2fetc"])
def test_traversal_is_refused(http: httpx.Client, running_job: RunningJob, route: str,
                              path: str) -> None:
    # Sent as written: httpx would otherwise fold the dots before they leave.
    base = str(http.base_url).rstrip("/")
    url = httpx.URL(f"{base}/aurora/tasks/{running_job.task_id}/{route}/")
    request = http.build_request("GET", url.copy_with(raw_path=url.raw_path + path.encode()))
    response = http.send(request)
    assert response.status_code in (403, 404), (path, response.status_code, response.text)
    assert "root:" not in response.text


def test_json_resources_route(http: httpx.Client, running_job: RunningJob) -> None:
    answer = http.get(f"/aurora/api/tasks/{running_job.task_id}/resources")
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.status_code == 200 and "samples" in answer.json()


def test_task_instance_tab_without_an_aurora_job(http: httpx.Client) -> None:
    page = http.get("/aurora/ti/some_dag/manual__1/some_task")
    assert page.status_code == 200
    assert "task some_task of some_dag (run manual__1) has no Aurora job" in page.text


ROUTES = ["/aurora/", "/aurora/roles/www", "/aurora/jobs/devcluster/www/test/ui-demo",
          "/aurora/tasks/x", "/aurora/tasks/x/browse", "/aurora/tasks/x/browse/a",
          "/aurora/tasks/x/file/a", "/aurora/tasks/x/download/a",
          "/aurora/tasks/x/logs/main/0/stdout", "/aurora/api/tasks/x/logs/main/0/stdout",
          "/aurora/api/tasks/x/resources", "/aurora/updates/www/test/ui-demo/u",
          "/aurora/ti/d/r/t", "/aurora/static/aurora.css", "/aurora/health"]


def test_every_route_refuses_the_unauthenticated(api_server: ApiServer) -> None:
    with httpx.Client(base_url=api_server.url, timeout=30) as anonymous:
        for route in ROUTES:
            response = anonymous.get(route)
            assert response.status_code in (401, 403) or (
                response.status_code in (302, 303, 307) and
                re.search("login", response.headers.get("location", ""))), (route, response)
            bad = anonymous.get(route, headers={"Authorization": "Bearer not-a-token"})
            assert bad.status_code in (401, 403), (route, bad)
