"""The OpenAPI document describes the API: schemathesis, with all its default checks (every
status declared, schema-valid requests accepted, invalid ones refused, answers matching
their schemas, 405 with ``Allow`` for methods a path does not have...), against the real
daemon over HTTP with an admin token. Bounded and seeded: a few examples per operation and
a time budget, so a failure reproduces with the same seed."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from schemathesis.engine import events

from tests.daemon import Daemon

pytestmark = pytest.mark.integration

SEED = 13
MAX_EXAMPLES = 5
MAX_SECONDS = 45


@pytest.fixture
def daemon_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Daemon]:
    # Generated requests name relative paths (a restore's work dir...): keep them in tmp.
    monkeypatch.chdir(tmp_path)
    d = Daemon(tmp_path / "work", tmp_path / "home", [])
    d.start()
    yield d
    d.stop(signal.SIGKILL)
    d.kill_runners()


# Rules of these operations that JSON Schema cannot say, so a schema-valid request may be a
# 400: a job's executor data must be the JSON of the job itself; a quota increase must keep
# the sum under the largest quota. For them only, 400 counts as accepting valid data.
_BEYOND_SCHEMA = ["POST /api/v1/jobs", "POST /api/v1/jobs/{role}/{environment}/{name}/diff",
                  "POST /api/v1/updates", "POST /api/v1/cron",
                  "POST /api/v1/quotas/{role}/increase"]
ACCEPTED = ["200", "201", "202", "204", "400", "401", "403", "404", "409", "429"]
CONFIG = "\n".join(
    f'[[operations]]\ninclude-name = "{name}"\n'
    f"checks.positive_data_acceptance.expected-statuses = {ACCEPTED}\n"
    for name in _BEYOND_SCHEMA)


def _failures(daemon: Daemon) -> list[str]:
    config = schemathesis.Config.from_str(CONFIG)
    config.update(seed=SEED, max_time=MAX_SECONDS, max_failures=None)
    config.projects.override.update(
        headers={"Authorization": f"Bearer {daemon.token()}"}, workers=1)
    config.projects.override.generation.update(max_examples=MAX_EXAMPLES, database="none")
    schema = schemathesis.openapi.from_url(f"{daemon.url}/openapi.json", config=config)
    found: list[str] = []
    for event in schemathesis.engine.from_schema(schema).execute():
        if isinstance(event, (events.NonFatalError, events.FatalError)):
            found.append(f"error: {event.info.format() if hasattr(event, 'info') else event}")
        recorder = getattr(event, "recorder", None)
        if not isinstance(event, (events.ScenarioFinished, events.FuzzScenarioFinished)):
            continue
        assert recorder is not None
        for case_id, checks in recorder.checks.items():
            for check in checks:
                if check.failure_info is not None:
                    failure = check.failure_info.failure
                    case = recorder.cases[case_id].value
                    interaction = recorder.interactions.get(case_id)
                    answer = interaction.response if interaction is not None else None
                    said = f" -> {answer.status_code} {answer.content[:200]!r}" if answer else ""
                    found.append(f"{case.method} {case.path}: {check.name}: {failure.title}: "
                                 f"{failure.message[:300]}{said}")
    return sorted(set(found))


def test_the_api_is_what_its_openapi_document_says(daemon_in_tmp: Daemon) -> None:
    failures = _failures(daemon_in_tmp)
    assert not failures, "\n".join(failures)


def test_errors_are_declared_from_the_endpoint_table(daemon_in_tmp: Daemon) -> None:
    spec = httpx.get(f"{daemon_in_tmp.url}/openapi.json").json()
    kill = spec["paths"]["/api/v1/jobs/{role}/{environment}/{name}/kill"]["post"]
    assert sorted(kill["responses"]) == ["200", "400", "401", "403", "404", "409", "413", "503"]
    assert kill["responses"]["404"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorBody"}
    whoami = spec["paths"]["/api/v1/whoami"]["get"]
    assert sorted(whoami["responses"]) == ["200", "401", "503"]
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    role = spec["paths"]["/api/v1/jobs/{role}/{environment}/{name}"]["get"]["parameters"][0]
    assert role["schema"]["maxLength"] == 255
    cluster = spec["components"]["schemas"]["JobKeyModel"]["properties"]["cluster"]
    assert cluster["enum"] == ["devcluster"]


def test_a_method_a_path_lacks_is_a_405_listing_every_method_it_has(
        daemon_in_tmp: Daemon) -> None:
    token = {"Authorization": f"Bearer {daemon_in_tmp.token()}"}
    r = httpx.request("DELETE", f"{daemon_in_tmp.url}/api/v1/jobs/www/test/x/restart",
                      headers=token)
    assert r.status_code == 405
    assert r.headers["allow"] == "GET, POST"
    assert r.json()["code"] == "METHOD_NOT_ALLOWED"
