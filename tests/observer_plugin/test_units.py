"""The plugin's pure parts: sandbox paths, configuration diffs, the chart, job keys."""

from __future__ import annotations

import json

import pytest

from observer_plugin.ui.chart import Series, svg_chart
from observer_plugin.ui.configs import config_diff, readable
from observer_plugin.ui.paths import BadSandboxPath, checked_path, parent_of
from observer_plugin.ui.render import ENV
from observer_plugin.ui.routes_ti import _key_of

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
