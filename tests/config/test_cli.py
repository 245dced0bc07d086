"""The `aurora` command's plumbing: nouns and verbs, options, exit codes and error lines."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from aurora_provider.cli import aurora as aurora_cli
from aurora_provider.cli import job_noun
from tests.config.conftest import EXAMPLES, Run

pytestmark = pytest.mark.unit

HELLO = EXAMPLES / "hello_world.aurora"
HELLO_KEY = "devcluster/www-data/prod/hello"


def test_help_exits_zero(aurora: Callable[..., Run]) -> None:
    result = aurora("--help")
    assert result.code == 0
    assert "config" in result.out and "job" in result.out


def test_usage_errors_exit_two(aurora: Callable[..., Run]) -> None:
    assert aurora().code == 2
    assert aurora("job").code == 2
    assert aurora("job", "frobnicate").code == 2
    assert aurora("job", "inspect", HELLO_KEY, HELLO, "--json", "--raw").code == 2


@pytest.mark.parametrize(("args", "expected"), [
    (("config", "list", "nowhere.aurora"), "nowhere.aurora: no such configuration file"),
    (("job", "inspect", "devcluster/www-data/hello", HELLO), "must have four parts"),
    (("job", "inspect", "devcluster/www-data/prod/nope", HELLO),
     f"no job devcluster/www-data/prod/nope (the jobs defined are: {HELLO_KEY})"),
    (("job", "inspect", HELLO_KEY, HELLO, "--bind", "novalue"), "expected NAME=VALUE"),
])
def test_user_errors_are_one_line(aurora: Callable[..., Run], args: tuple[str, ...],
                                  expected: str) -> None:
    result = aurora(*args)
    assert result.code == 1
    assert result.out == ""
    assert result.err.count("\n") == 1
    assert expected in result.err


def test_bindings_reach_the_job(aurora: Callable[..., Run], tmp_path: Path) -> None:
    config = tmp_path / "greet.aurora"
    config.write_text(
        "jobs = [Job(cluster='devcluster', role='vagrant', environment='devel', name='greet',\n"
        "  task=SimpleTask('greet', 'echo {{greeting}} {{who}}'))]\n"
    )
    result = aurora("job", "inspect", "devcluster/vagrant/devel/greet", config,
                    "--bind", "greeting=hello", "--bind", "who=world")
    assert result.code == 0, result.err
    assert "echo hello world" in result.out


def test_read_json_takes_the_raw_view_back(aurora: Callable[..., Run], tmp_path: Path) -> None:
    raw = aurora("job", "inspect", HELLO_KEY, HELLO, "--raw")
    saved = tmp_path / "hello.json"
    saved.write_text(json.dumps({"jobs": [json.loads(raw.out)]}))
    listed = aurora("config", "list", saved, "--read-json")
    assert listed.out.splitlines() == [HELLO_KEY]
    from_json = aurora("job", "inspect", HELLO_KEY, saved, "--read-json", "--json")
    from_file = aurora("job", "inspect", HELLO_KEY, HELLO, "--json")
    assert from_json.code == 0
    assert json.loads(from_json.out) == json.loads(from_file.out)


def test_readable_view_summarises_the_job(aurora: Callable[..., Run]) -> None:
    out = aurora("job", "inspect", "devcluster/www-data/prod/web",
                 EXAMPLES / "web_service.aurora").out
    assert "  kind:        service\n" in out
    assert "  instances:   2\n" in out
    assert "  ports:       health, http\n" in out
    assert "http /health on port 'health'" in out
    assert "Process health\n" in out


def test_a_verb_module_is_one_line_away(monkeypatch: pytest.MonkeyPatch) -> None:
    """Other verbs join the job noun by naming their module in job_noun.VERB_MODULES."""
    import sys
    import types

    module = types.ModuleType("fake_job_verbs")

    def register_verbs(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
        verb = verbs.add_parser("ping")
        verb.set_defaults(handler=lambda args: 7)

    module.register_verbs = register_verbs  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "fake_job_verbs", module)
    monkeypatch.setattr(job_noun, "VERB_MODULES", (*job_noun.VERB_MODULES, "fake_job_verbs"))
    assert aurora_cli.main(["job", "ping"]) == 7
