"""One ad-hoc job per mapped task instance, each reachable from its own "Aurora job" link.

``AuroraRunJobOperator.partial(...).expand(bindings=[...])`` makes one task instance per
binding. They share ``job_key``, so each submits the job under its own name: by default
the name gets ``_<map index>`` (``crunch_part`` runs as ``crunch_part_0``, ``_1``, ``_2``);
``job_name_suffix=`` (templated) chooses another. The finished jobs' tasks are pruned from
the scheduler's history (``on_finish_action="prune"``: needs an admin token).
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from aurora_provider.operators.job import AuroraRunJobOperator

CRUNCH = """
jobs = [Job(
  cluster='devcluster', role='www-data', environment='test', name='crunch_part',
  task=Task(
    processes=[Process(name='crunch', cmdline='echo crunching part {{part}}')],
    resources=Resources(cpu=0.1, ram=16*MB, disk=16*MB),
  ),
)]
"""

with DAG(
    dag_id="aurora_mapped_runs",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["aurora", "example"],
    doc_md=__doc__,
):
    AuroraRunJobOperator.partial(
        task_id="crunch",
        job_key="devcluster/www-data/test/crunch_part",
        config=CRUNCH,
        poll_interval=0.5,
        on_finish_action="prune",
    ).expand(bindings=[{"part": "north"}, {"part": "south"}, {"part": "west"}])
