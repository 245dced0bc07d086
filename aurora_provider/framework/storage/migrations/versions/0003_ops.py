"""Cron templates and runs, role quotas, host maintenance.

Its structured columns are JSON (stores made before 0004_json had TEXT there; that
revision converts them).

Revision ID: 0003_ops
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_ops"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cron_jobs",
        sa.Column("job_key", sa.String(255), primary_key=True),
        sa.Column("config", sa.JSON, nullable=False),
        sa.Column("schedule", sa.String(255), nullable=False),
        sa.Column("collision_policy", sa.String(32), nullable=False),
        sa.Column("next_run_at", sa.Float, nullable=True),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_table(
        "cron_runs",
        sa.Column("run_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("job_key", sa.String(255), nullable=False),
        sa.Column("scheduled_at", sa.Float, nullable=True),
        sa.Column("triggered_at", sa.Float, nullable=False),
        sa.Column("started_at", sa.Float, nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=True),
        sa.Column("task_ids", sa.JSON, nullable=False, server_default="[]"),
        sa.Column("finished_at", sa.Float, nullable=True),
        sa.Column("message", sa.Text, nullable=True),
    )
    op.create_index("ix_cron_runs_job_key", "cron_runs", ["job_key"])
    op.create_table(
        "quotas",
        sa.Column("role", sa.String(255), primary_key=True),
        sa.Column("cpu", sa.Float, nullable=False),
        sa.Column("ram_mb", sa.Float, nullable=False),
        sa.Column("disk_mb", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_table(
        "host_maintenance",
        sa.Column("host", sa.String(255), primary_key=True),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("percentage", sa.Float, nullable=True),
        sa.Column("updated_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("host_maintenance")
    op.drop_table("quotas")
    op.drop_table("cron_runs")
    op.drop_table("cron_jobs")
