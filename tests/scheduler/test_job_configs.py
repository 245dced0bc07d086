"""A job's configuration history and the scheduler's ``/`` page, over the real daemon."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from aurora_provider.api import models as m
from aurora_provider.api.errors import JobNotFound
from aurora_provider.framework.http.routes.home import home_page
from tests.daemon import Daemon
from tests.scheduler.conftest import job_wire

KEY = "devcluster/www/test/configs"


@pytest.mark.process
def test_an_update_adds_a_config_newest_first_and_a_kill_keeps_them(
        daemon: Daemon, tmp_path: Path) -> None:
    first = job_wire(tmp_path, "configs", "sleep 601", service=True)
    second = job_wire(tmp_path, "configs", "sleep 602", service=True)
    with daemon.client() as client:
        client.create_job(first)
        assert [c.job.instances for c in client.job_configs(KEY).configs] == [1]
        client.start_update(second, "to 602")
        history = client.job_configs(KEY)
        assert history.key == KEY and len(history.configs) == 2
        newest, oldest = history.configs
        assert newest.config_id > oldest.config_id and newest.created_at >= oldest.created_at
        # The wire form as it was sent: the same model create_job takes.
        assert newest.job == m.JobConfiguration.model_validate(second)
        assert oldest.job == m.JobConfiguration.model_validate(first)
        (only,) = client.job_configs(KEY, limit=1).configs
        assert only.config_id == newest.config_id

        client.abort_update(KEY)
        client.killall(KEY)
        assert len(client.job_configs(KEY).configs) == 2  # a killed job keeps its history


@pytest.mark.process
def test_configs_of_an_unknown_job_and_a_bad_limit(daemon: Daemon) -> None:
    with daemon.client() as client, pytest.raises(JobNotFound, match="www/test/nosuch"):
        client.job_configs("devcluster/www/test/nosuch")
    response = httpx.get(f"{daemon.url}/api/v1/jobs/www/test/x/configs?limit=0",
                         headers={"Authorization": f"Bearer {daemon.token()}"}, timeout=5)
    assert response.status_code == 400 and "limit" in response.json()["message"]


@pytest.mark.process
def test_the_root_is_a_small_html_page(daemon: Daemon) -> None:
    response = httpx.get(f"{daemon.url}/", timeout=5)  # no token needed
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert "<b>devcluster</b>" in page and "<td>local</td>" in page
    assert "<td>yes</td>" in page  # the leader
    for link in ("/health", "/metrics", "/api/v1/cluster", "/api/v1/jobs"):
        assert f'href="{link}"' in page
    assert "Aurora" in page and "Airflow" in page
    assert httpx.get(f"{daemon.url}/health", timeout=5).text == "OK"  # unchanged


@pytest.mark.unit
def test_the_root_page_escapes_what_it_prints() -> None:
    page = home_page("<script>x</script>", "local&co", False, 'http://"{host}":1338')
    assert "<script>x" not in page and "&lt;script&gt;x&lt;/script&gt;" in page
    assert "local&amp;co" in page and "http://&quot;{host}&quot;:1338" in page
    assert "no (a follower)" in page
