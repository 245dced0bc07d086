"""Tables of the operations features (cron, quotas, maintenance); migration 0003_ops creates them.

They share ``schema.metadata`` so a backup or an export sees every table at once.
"""

from __future__ import annotations

import sqlalchemy as sa

from aurora_provider.framework.storage.schema import metadata

# Cron templates: a job that is not running, only scheduled (Aurora's cron job store).
cron_jobs = sa.Table(
    "cron_jobs",
    metadata,
    sa.Column("job_key", sa.String(255), primary_key=True),  # role/environment/name
    sa.Column("config", sa.Text, nullable=False),  # the job's wire form, JSON
    sa.Column("schedule", sa.String(255), nullable=False),
    sa.Column("collision_policy", sa.String(32), nullable=False),
    sa.Column("next_run_at", sa.Float, nullable=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)

# One row per trigger (scheduled or started by hand) and what became of it.
cron_runs = sa.Table(
    "cron_runs",
    metadata,
    sa.Column("run_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("job_key", sa.String(255), nullable=False, index=True),
    sa.Column("scheduled_at", sa.Float, nullable=True),  # null when started by hand
    sa.Column("triggered_at", sa.Float, nullable=False),
    sa.Column("started_at", sa.Float, nullable=True),  # when its tasks were created
    sa.Column("state", sa.String(16), nullable=False),  # WAITING, RUNNING, DONE
    sa.Column("outcome", sa.String(16), nullable=True),
    sa.Column("task_ids", sa.Text, nullable=False, server_default="[]"),
    sa.Column("finished_at", sa.Float, nullable=True),
    sa.Column("message", sa.Text, nullable=True),
)

quotas = sa.Table(
    "quotas",
    metadata,
    sa.Column("role", sa.String(255), primary_key=True),
    sa.Column("cpu", sa.Float, nullable=False),
    sa.Column("ram_mb", sa.Float, nullable=False),
    sa.Column("disk_mb", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)

host_maintenance = sa.Table(
    "host_maintenance",
    metadata,
    sa.Column("host", sa.String(255), primary_key=True),
    sa.Column("mode", sa.String(16), nullable=False),  # SCHEDULED, DRAINING, DRAINED
    sa.Column("percentage", sa.Float, nullable=True),  # instances of each job kept up
    sa.Column("updated_at", sa.Float, nullable=False),
)
