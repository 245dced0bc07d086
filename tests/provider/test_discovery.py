"""Airflow finds the provider through its entry points alone (no manual registration)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import airflow
import jsonschema
import pytest

from aurora_provider.get_provider_info import get_provider_info
from tests.daemon import Daemon
from tests.provider.conftest import connection_json

pytestmark = pytest.mark.integration


def airflow_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "airflow", *args], env=env, text=True,
                          capture_output=True, timeout=120, check=False)


def test_provider_info_matches_airflows_schema() -> None:
    schema_file = Path(airflow.__file__).with_name("provider_info.schema.json")
    jsonschema.validate(get_provider_info(), json.loads(schema_file.read_text()))


def test_airflow_lists_the_provider_its_hook_and_triggers(airflow_env: dict[str, str]) -> None:
    providers = json.loads(airflow_cli(airflow_env, "providers", "list", "-o", "json").stdout)
    assert {"package_name": "airflow-provider-aurora", "version": "0.1.0"}.items() <= next(
        p for p in providers if p["package_name"] == "airflow-provider-aurora").items()
    hooks = airflow_cli(airflow_env, "providers", "hooks", "-o", "json").stdout
    assert "aurora_provider.hooks.aurora.AuroraHook" in hooks
    triggers = airflow_cli(airflow_env, "providers", "triggers", "-o", "json").stdout
    assert "aurora_provider.triggers.job" in triggers


def test_airflow_aurora_commands_talk_to_the_connections_scheduler(
    airflow_env: dict[str, str], scheduler: Daemon
) -> None:
    result = airflow_cli(airflow_env, "aurora", "cluster", "--json")
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout[result.stdout.index("{"):])
    assert info["cluster"]["name"] == "devcluster" and info["user"]["admin"] is True
    listing = airflow_cli(airflow_env, "aurora", "jobs")
    assert listing.returncode == 0, listing.stderr


def test_airflow_aurora_names_a_refused_token(airflow_env: dict[str, str],
                                              scheduler: Daemon) -> None:
    env = {**airflow_env,
           "AIRFLOW_CONN_AURORA_DEFAULT": connection_json(scheduler.url, "wrong-token")}
    result = airflow_cli(env, "aurora", "cluster")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith("airflow aurora: ")
    assert "HTTP 401" in result.stderr
