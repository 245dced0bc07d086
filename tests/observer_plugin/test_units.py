"""The plugin's pure parts: sandbox paths, configuration diffs, the chart, job keys, the
observer URL of a host."""

from __future__ import annotations

import json

import httpx
import pytest

from aurora_provider.api.models import ClusterInfo
from observer_plugin.ui.chart import Series, svg_chart
from observer_plugin.ui.configs import config_diff, readable
from observer_plugin.ui.paths import BadSandboxPath, checked_path, parent_of
from observer_plugin.ui.render import ENV
from observer_plugin.ui.routes_ti import _key_of
from observer_plugin.ui.sources import ObserverUnavailable, observer_base

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("path", ["..", "../etc", "a/../../b", "/etc/passwd", "%2e%2e/x",
                                  "a/%2e%2e/%2e%2e", "%2Fetc", "a\\..\\b", "a\x00b"])
# A doubly encoded URL reaches checked_path decoded once, as "%2e%2e": that case is in
# test_pages (test_traversal_is_refused), through the real api-server.
def test_paths_leaving_the_sandbox_are_refused(path: str) -> None:
    with pytest.raises(BadSandboxPath):
        checked_path(path)


def test_plain_paths_are_normalised() -> None:
    assert checked_path("") == ""
    assert checked_path("./data//note.txt") == "data/note.txt"
    assert checked_path("a b/c%20d") == "a b/c d"
    assert parent_of("data/note.txt") == "data" and parent_of("x") == ""
    assert parent_of("") is None


def test_the_diff_unfolds_the_executor_json_and_is_escaped_when_rendered() -> None:
    def job(cmd: str) -> dict[str, object]:
        return {"key": "k", "task": {"executor_config": {"data": json.dumps({"cmd": cmd})}}}

    diff = config_diff(readable(job("echo <old>")), readable(job("echo <new>")),
                       old="config 1", new="config 2")
    assert '-        "cmd": "echo <old>"' in diff and '+        "cmd": "echo <new>"' in diff
    html = ENV.from_string("{% for l in diff %}{{ l }}\n{% endfor %}").render(diff=diff)
    assert "&lt;new&gt;" in html and "<new>" not in html


def test_chart_draws_a_line_and_escapes_its_title() -> None:
    svg = svg_chart(Series("CPU <x>", [(0.0, 1.0), (10.0, 3.0)], "%"))
    assert svg.startswith("<svg") and "<polyline" in svg and "CPU &lt;x&gt;" in svg
    assert "not enough samples" in svg_chart(Series("RSS", [(0.0, 1.0)], "MiB"))


def test_job_keys_from_rendered_fields_and_xcom() -> None:
    assert _key_of("devcluster/www/prod/hello") == "devcluster/www/prod/hello"
    assert _key_of({"job_key": "www/prod/hello", "task_ids": []}) == "www/prod/hello"
    assert _key_of("{{ params.key }}") is None and _key_of(None) is None
    assert _key_of("not-a-key") is None


def _cluster(observer_url: str | None) -> ClusterInfo:
    return ClusterInfo(name="devcluster", backend="mesos", leader=True, version="0",
                       observer_url=observer_url)


@pytest.mark.parametrize(("host", "url"), [
    ("agent-3.example.com", "http://agent-3.example.com:1338"),
    ("10.0.0.7", "http://10.0.0.7:1338"),
    ("::1", "http://[::1]:1338"),
    ("fe80::1", "http://[fe80::1]:1338"),
])
def test_the_observer_of_a_host(host: str, url: str) -> None:
    assert observer_base(_cluster("http://{host}:1338/"), host) == url
    httpx.URL(url)  # what the client will be given


@pytest.mark.parametrize(("template", "host", "reason"), [
    (None, "h", "no observer"),
    ("http://{host}:1338", None, "no host yet"),
    ("http://{host}:port", "h", "not a valid URL"),
    ("http://{host}:1338", "zz::1", "not a valid URL"),
])
def test_no_observer_to_ask_is_one_line(template: str | None, host: str | None,
                                        reason: str) -> None:
    with pytest.raises(ObserverUnavailable, match=reason):
        observer_base(_cluster(template), host)
