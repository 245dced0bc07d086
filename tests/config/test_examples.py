"""Every example in dags_examples/ loads, lists and inspects through the `aurora` CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from aurora_provider.config import job_from_wire, job_to_wire, load
from tests.config.conftest import EXAMPLES, Run

pytestmark = pytest.mark.process

# file -> its job keys, in file order; with the bindings a key needs to be inspected.
EXPECTED_KEYS = {
    "hello_world.aurora": ["devcluster/www-data/prod/hello"],
    "canary_web.aurora": ["devcluster/www-data/test/canary_web"],
    "cron_report.aurora": ["devcluster/www-data/devel/tmp_usage_report"],
    "web_service.aurora": ["devcluster/www-data/prod/web"],
    "process_kinds.aurora": ["devcluster/www-data/test/sum_numbers"],
    "variable_batch_update.aurora": ["devcluster/www-data/staging1/workers"],
    "containers.aurora": ["devcluster/www-data/test/probe_mesos_image",
                          "devcluster/www-data/test/probe_docker"],
    "templated_services.aurora": ["devcluster/www-data/staging1/catalog",
                                  "devcluster/www-data/prod/catalog",
                                  "devcluster/www-data/devel/catalog"],
}
BINDINGS = {"devcluster/www-data/devel/catalog": ["--bind", "devel_version=2.4.0-dev"],
            "devcluster/www-data/test/canary_web": ["--bind", "version=1"]}
ALL_KEYS = [(file, key) for file, keys in EXPECTED_KEYS.items() for key in keys]


def test_every_example_file_is_covered() -> None:
    assert {p.name for p in EXAMPLES.glob("*.aurora")} == set(EXPECTED_KEYS)


@pytest.mark.parametrize("file", sorted(EXPECTED_KEYS))
def test_config_list(aurora: Callable[..., Run], file: str) -> None:
    result = aurora("config", "list", EXAMPLES / file)
    assert (result.code, result.err) == (0, "")
    assert result.out.splitlines() == EXPECTED_KEYS[file]


@pytest.mark.parametrize(("file", "key"), ALL_KEYS, ids=[k for _, k in ALL_KEYS])
def test_job_inspect_all_views(aurora: Callable[..., Run], file: str, key: str) -> None:
    binds = BINDINGS.get(key, [])
    readable = aurora("job", "inspect", key, EXAMPLES / file, *binds)
    assert (readable.code, readable.err) == (0, "")
    assert readable.out.startswith(f"Job {key}\n")
    assert "\nTask " in readable.out and "\nProcess " in readable.out

    wire = aurora("job", "inspect", key, EXAMPLES / file, *binds, "--json")
    assert wire.code == 0
    form = json.loads(wire.out)
    assert "/".join(form["key"][p] for p in ("cluster", "role", "environment", "name")) == key
    assert job_to_wire(job_from_wire(form)) == form

    raw = aurora("job", "inspect", key, EXAMPLES / file, *binds, "--raw")
    assert raw.code == 0
    assert json.loads(raw.out)["task"]["processes"]


def pick(file: str, key: str, *binds: str) -> Any:
    return load(EXAMPLES / file, bindings=list(binds)).pick(key)


def wire_of(file: str, key: str, *binds: str) -> dict[str, Any]:
    return job_to_wire(pick(file, key, *binds))


def test_hello_world_is_a_sequential_service() -> None:
    wire = wire_of("hello_world.aurora", "devcluster/www-data/prod/hello")
    assert wire["task"]["is_service"] is True
    assert wire["task"]["requested_ports"] == ["http"]
    job = pick("hello_world.aurora", "devcluster/www-data/prod/hello")
    assert [c.order().get() for c in job.task().constraints()] == [("stage", "serve")]


def test_cron_example() -> None:
    wire = wire_of("cron_report.aurora", "devcluster/www-data/devel/tmp_usage_report")
    assert wire["cron_schedule"] == "*/15 * * * *"
    assert wire["cron_collision_policy"] == "CANCEL_NEW"
    assert wire["task"]["is_service"] is False


def test_web_service_has_health_checks_ports_and_announcer() -> None:
    wire = wire_of("web_service.aurora", "devcluster/www-data/prod/web")
    assert wire["task"]["requested_ports"] == ["health", "http"]
    assert wire["health_check_config"]["interval_secs"] == 2.0
    data = json.loads(wire["task"]["executor_config"]["data"])
    assert data["announce"]["primary_port"] == "http"


def test_process_kinds_example() -> None:
    job = pick("process_kinds.aurora", "devcluster/www-data/test/sum_numbers")
    kinds = {p.name().get(): (p.daemon().get(), p.ephemeral().get(), p.final().get())
             for p in job.task().processes()}
    assert kinds == {
        "fetch": (False, False, False), "compute": (False, False, False),
        "progress": (True, True, False), "publish": (False, False, True),
        "cleanup": (False, False, True),
    }


def test_variable_batch_example() -> None:
    wire = wire_of("variable_batch_update.aurora", "devcluster/www-data/staging1/workers")
    strategy = wire["update_config"]["update_strategy"]
    assert strategy["batch_sizes"] == [1, 2, 3]


def test_container_examples() -> None:
    mesos = wire_of("containers.aurora", "devcluster/www-data/test/probe_mesos_image")
    docker = wire_of("containers.aurora", "devcluster/www-data/test/probe_docker")
    assert mesos["task"]["container"]["mesos"]["image"] == {
        "docker": {"name": "python", "tag": "3.11-slim"}}
    assert docker["task"]["container"]["docker"]["image"] == "python:3.11-slim"


def test_template_profiles() -> None:
    prod = pick("templated_services.aurora", "devcluster/www-data/prod/catalog")
    staging = pick("templated_services.aurora", "devcluster/www-data/staging1/catalog")
    assert prod.instances().get() == 3
    assert prod.task().resources().cpu().get() == 0.25
    assert "2.3.0-rc1" in str(staging.task().processes()[0].cmdline())
    devel = pick("templated_services.aurora", "devcluster/www-data/devel/catalog",
                 "devel_version=2.4.0-dev")
    assert "2.4.0-dev" in str(devel.task().processes()[0].cmdline())


def test_templated_devel_job_needs_its_binding(aurora: Callable[..., Run]) -> None:
    result = aurora("job", "inspect", "devcluster/www-data/devel/catalog",
                    EXAMPLES / "templated_services.aurora")
    assert result.code == 1
    assert "{{devel_version}}" in result.err


def console_script() -> Path:
    return Path(sys.executable).parent / "aurora"


def test_console_script(tmp_path: Path) -> None:
    ok = subprocess.run(
        [console_script(), "job", "inspect", "devcluster/www-data/prod/hello",
         EXAMPLES / "hello_world.aurora", "--json"],
        capture_output=True, text=True, check=False, timeout=60,
    )
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["key"]["name"] == "hello"
    broken = tmp_path / "broken.aurora"
    broken.write_text("jobs = [Job(\n")
    failed = subprocess.run(
        [console_script(), "config", "list", broken],
        capture_output=True, text=True, check=False, timeout=60,
    )
    assert failed.returncode == 1
    assert failed.stdout == ""
    assert failed.stderr.count("\n") == 1 and "broken.aurora:1:" in failed.stderr
