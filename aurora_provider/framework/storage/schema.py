"""Table definitions (SQLAlchemy Core). Alembic migrations create them; keep both in step."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("job_key", sa.String(255), primary_key=True),  # role/environment/name
    sa.Column("cluster", sa.String(255), nullable=False),
    sa.Column("config_id", sa.Integer, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)

# Immutable task configurations, shared by every task that runs them (an update adds one).
task_configs = sa.Table(
    "task_configs",
    metadata,
    sa.Column("config_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("job_key", sa.String(255), nullable=False),
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("config", sa.Text, nullable=False),  # the job's wire form, JSON
    sa.Column("created_at", sa.Float, nullable=False),
    sa.UniqueConstraint("job_key", "digest", name="uq_task_configs_job_digest"),
)

tasks = sa.Table(
    "tasks",
    metadata,
    sa.Column("task_id", sa.String(255), primary_key=True),
    sa.Column("job_key", sa.String(255), nullable=False, index=True),
    sa.Column("instance", sa.Integer, nullable=False),
    sa.Column("config_id", sa.Integer, nullable=False),
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("agent_id", sa.String(255), nullable=True),
    sa.Column("host", sa.String(255), nullable=True),
    sa.Column("ports", sa.Text, nullable=False, server_default="{}"),
    sa.Column("failure_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("ancestor_id", sa.String(255), nullable=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("status_at", sa.Float, nullable=False),
    sa.Column("throttle_until", sa.Float, nullable=True),
    sa.Column("message", sa.Text, nullable=True),
)

task_events = sa.Table(
    "task_events",
    metadata,
    sa.Column("event_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("task_id", sa.String(255), nullable=False, index=True),
    sa.Column("timestamp", sa.Float, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("message", sa.Text, nullable=True),
)

# Rolling restarts in progress (and recently done), so a scheduler restart resumes them.
restarts = sa.Table(
    "restarts",
    metadata,
    sa.Column("restart_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("job_key", sa.String(255), nullable=False, index=True),
    sa.Column("state", sa.String(16), nullable=False),  # ACTIVE, DONE, ABORTED
    sa.Column("batch_size", sa.Integer, nullable=False),
    sa.Column("pending", sa.Text, nullable=False),  # JSON list of instances still to restart
    sa.Column("in_flight", sa.Text, nullable=False),  # JSON {instance: old task id}
    sa.Column("done", sa.Text, nullable=False),  # JSON list of restarted instances
    sa.Column("started_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Column("message", sa.Text, nullable=True),
)
