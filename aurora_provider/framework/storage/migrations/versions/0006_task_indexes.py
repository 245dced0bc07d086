"""Indexes for a job's status at any size: its tasks counted by state from
(job_key, status), and its terminal tasks paged newest first along
(job_key, status_at, task_id), neither reading the job's rows.

Revision ID: 0006_task_indexes
Revises: 0004_json
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision = "0006_task_indexes"
down_revision = "0004_json"  # after the last change to the tasks table
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_tasks_job_status", "tasks", ["job_key", "status"])
    op.create_index("ix_tasks_job_status_at", "tasks", ["job_key", "status_at", "task_id"])


def downgrade() -> None:
    op.drop_index("ix_tasks_job_status_at", "tasks")
    op.drop_index("ix_tasks_job_status", "tasks")
