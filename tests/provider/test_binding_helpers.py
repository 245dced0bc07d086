"""The operators pin ``{{docker.image[NAME][TAG]}}`` from their connection's registry.

The connection's extra names the registry (``docker_registry``), a small registry served on
127.0.0.1 by ``tests.docker_registry``; the operator only reads its job here (``job_wire``,
what it would submit), so no scheduler is needed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowFailException

from aurora_provider.dag_factory import dags_from_aurora
from aurora_provider.operators.job_config import AuroraConfigOperator
from tests.docker_registry import manifest, serving

pytestmark = pytest.mark.unit

KEY = "devcluster/www-data/prod/app"
CONFIG = """\
jobs = [Job(cluster='devcluster', role='www-data', environment='prod', name='app',
  container=Docker(image='{{docker.image[org/app][1.0]}}'), task=SimpleTask('app', 'true'))]
"""


def _operator(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, registry_url: str,
              **kwargs: Any) -> AuroraConfigOperator:
    monkeypatch.setenv("AIRFLOW_CONN_AURORA_DOCKER", json.dumps({
        "conn_type": "aurora", "host": "http://127.0.0.1:9",
        "extra": {"cluster": "devcluster", "docker_registry": registry_url}}))
    config = tmp_path / "app.aurora"
    config.write_text(CONFIG)
    return AuroraConfigOperator(task_id="submit", job_key=KEY, config_file=str(config),
                                aurora_conn_id="aurora_docker", **kwargs)


def test_the_submitted_job_carries_the_pinned_image(monkeypatch: pytest.MonkeyPatch,
                                                    tmp_path: Path) -> None:
    with serving({"org/app:1.0": manifest("operator")}) as registry:
        wire = _operator(monkeypatch, tmp_path, registry.url).job_wire()
    assert f'"{registry.host}/org/app@{registry.digest("org/app:1.0")}"' in json.dumps(wire)
    assert registry.seen == ["GET /v2/org/app/manifests/1.0"]


def test_a_binding_wins_and_no_request_is_made(monkeypatch: pytest.MonkeyPatch,
                                               tmp_path: Path) -> None:
    chosen = "mirror.example.com/org/app@sha256:" + "cd" * 32
    with serving({}) as registry:
        operator = _operator(monkeypatch, tmp_path, registry.url,
                             bindings={"docker.image[org/app][1.0]": chosen})
        wire = operator.job_wire()
    assert f'"{chosen}"' in json.dumps(wire)
    assert registry.seen == []


def test_a_missing_image_fails_the_task_without_retries(monkeypatch: pytest.MonkeyPatch,
                                                        tmp_path: Path) -> None:
    with serving({}) as registry:
        operator = _operator(monkeypatch, tmp_path, registry.url)
        with pytest.raises(AirflowFailException,
                           match=r"has no image org/app:1\.0 .*--bind 'docker\.image"):
            operator.job_wire()


def test_a_malformed_registry_in_the_extra_is_named(monkeypatch: pytest.MonkeyPatch,
                                                    tmp_path: Path) -> None:
    operator = _operator(monkeypatch, tmp_path, "registry.example.com")
    with pytest.raises(AirflowFailException,
                       match="connection 'aurora_docker', in its extra: \"docker_registry\" "
                             "must be an http"):
        operator.job_wire()


def test_a_cron_dag_parses_without_the_registry_and_its_run_pins_the_image(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "nightly.aurora"
    config.write_text(CONFIG.replace("name='app',", "name='app', cron_schedule='0 3 * * *',"))
    with serving({"org/app:1.0": manifest("cron")}) as registry:
        _operator(monkeypatch, tmp_path, registry.url)  # sets the connection's registry
        dags = dags_from_aurora(str(config), aurora_conn_id="aurora_docker")
        assert registry.seen == []  # parsing a DAG file asks no registry
        (dag,) = dags.values()
        run = dag.get_task("run")
        assert isinstance(run, AuroraConfigOperator)
        wire = run.job_wire()
    assert f'"{registry.host}/org/app@{registry.digest("org/app:1.0")}"' in json.dumps(wire)
    assert registry.seen == ["GET /v2/org/app/manifests/1.0"]
