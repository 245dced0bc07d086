"""A cron job's DAG emits its job's asset on success, and the DAG scheduled on that asset is
queued by Airflow for it (the example ``asset_pipeline.py``, with ``dag.test()`` and
Airflow's own database)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.provider.conftest import EXAMPLES, run_dag

pytestmark = pytest.mark.integration

PRODUCER = "aurora_assets__www_data__devel__tmp_usage_report"
CONSUMER = "aurora_usage_digest"
URI = "aurora://devcluster/www-data/devel/tmp_usage_report"

# What Airflow recorded: the asset events of URI and the DAGs queued to run for them.
RECORDED = f"""
import json
from airflow.models.asset import AssetDagRunQueue, AssetEvent, AssetModel
from airflow.utils.session import create_session
with create_session() as s:
    asset = s.query(AssetModel).filter_by(uri={URI!r}).one()
    events = [e.source_dag_id for e in s.query(AssetEvent).filter_by(asset_id=asset.id)]
    queued = [q.target_dag_id for q in s.query(AssetDagRunQueue).filter_by(asset_id=asset.id)]
print(json.dumps({{"events": events, "queued": queued}}))
"""


# A user unpauses the downstream DAG: Airflow queues runs only for DAGs that are not paused.
UNPAUSE = f"""
from airflow.models.dag import DagModel
from airflow.utils.session import create_session
with create_session() as s:
    s.query(DagModel).filter_by(dag_id={CONSUMER!r}).update({{"is_paused": False}})
"""


def _recorded(env: dict[str, str]) -> dict[str, list[str]]:
    out = subprocess.run([sys.executable, "-c", RECORDED], env=env, capture_output=True,
                         text=True, timeout=120, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


@pytest.mark.parametrize("scheduler", ["local"], indirect=True)  # assets are Airflow's side
def test_a_cron_jobs_dag_feeds_the_dag_scheduled_on_its_asset(
        airflow_env: dict[str, str]) -> None:
    dag_file = EXAMPLES / "asset_pipeline.py"
    # Run by hand first: no triggering events, and Airflow now knows it waits on the asset.
    digest = run_dag(airflow_env, dag_file, CONSUMER)
    assert digest.state == "success", digest.output[-4000:]
    assert "usage reports: none (started by hand)" in digest.output
    assert _recorded(airflow_env) == {"events": [], "queued": []}
    subprocess.run([sys.executable, "-c", UNPAUSE], env=airflow_env, timeout=120, check=True)

    report = run_dag(airflow_env, dag_file, PRODUCER)
    assert report.state == "success", report.output[-4000:]
    assert "/tmp uses" in report.output
    assert _recorded(airflow_env) == {"events": [PRODUCER], "queued": [CONSUMER]}
