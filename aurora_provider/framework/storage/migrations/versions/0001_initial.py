"""Jobs, task configurations, tasks, task events and rolling restarts.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("job_key", sa.String(255), primary_key=True),
        sa.Column("cluster", sa.String(255), nullable=False),
        sa.Column("config_id", sa.Integer, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_table(
        "task_configs",
        sa.Column("config_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("job_key", sa.String(255), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("config", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.UniqueConstraint("job_key", "digest", name="uq_task_configs_job_digest"),
    )
    op.create_table(
        "tasks",
        sa.Column("task_id", sa.String(255), primary_key=True),
        sa.Column("job_key", sa.String(255), nullable=False),
        sa.Column("instance", sa.Integer, nullable=False),
        sa.Column("config_id", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
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
    op.create_index("ix_tasks_job_key", "tasks", ["job_key"])
    op.create_index("ix_tasks_status", "tasks", ["status"])
    op.create_table(
        "task_events",
        sa.Column("event_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("task_id", sa.String(255), nullable=False),
        sa.Column("timestamp", sa.Float, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("message", sa.Text, nullable=True),
    )
    op.create_index("ix_task_events_task_id", "task_events", ["task_id"])
    op.create_table(
        "restarts",
        sa.Column("restart_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("job_key", sa.String(255), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("batch_size", sa.Integer, nullable=False),
        sa.Column("pending", sa.Text, nullable=False),
        sa.Column("in_flight", sa.Text, nullable=False),
        sa.Column("done", sa.Text, nullable=False),
        sa.Column("started_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.Column("message", sa.Text, nullable=True),
    )
    op.create_index("ix_restarts_job_key", "restarts", ["job_key"])


def downgrade() -> None:
    op.drop_table("restarts")
    op.drop_table("task_events")
    op.drop_table("tasks")
    op.drop_table("task_configs")
    op.drop_table("jobs")
