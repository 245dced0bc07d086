"""Job updates: records with per-instance progress, status events, instance events.

Revision ID: 0002_updates
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_updates"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "update_records",
        sa.Column("update_id", sa.String(64), primary_key=True),
        sa.Column("job_key", sa.String(255), nullable=False),
        sa.Column("cluster", sa.String(255), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("user", sa.String(255), nullable=False),
        sa.Column("message", sa.Text, nullable=True),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.Column("settings", sa.Text, nullable=False),
        sa.Column("desired_config_id", sa.Integer, nullable=False),
        sa.Column("desired_instances", sa.Integer, nullable=False),
        sa.Column("initial", sa.Text, nullable=False),
        sa.Column("scope", sa.Text, nullable=False),
        sa.Column("progress", sa.Text, nullable=False),
        sa.Column("groups_started", sa.Integer, nullable=False),
        sa.Column("last_pulse_at", sa.Float, nullable=True),
    )
    op.create_index("ix_update_records_job_key", "update_records", ["job_key"])
    op.create_index("ix_update_records_status", "update_records", ["status"])
    op.create_table(
        "update_events",
        sa.Column("event_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("update_id", sa.String(64), nullable=False),
        sa.Column("timestamp", sa.Float, nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("user", sa.String(255), nullable=True),
        sa.Column("message", sa.Text, nullable=True),
    )
    op.create_index("ix_update_events_update_id", "update_events", ["update_id"])
    op.create_table(
        "update_instance_events",
        sa.Column("event_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("update_id", sa.String(64), nullable=False),
        sa.Column("instance", sa.Integer, nullable=False),
        sa.Column("timestamp", sa.Float, nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
    )
    op.create_index("ix_update_instance_events_update_id", "update_instance_events",
                    ["update_id"])


def downgrade() -> None:
    op.drop_table("update_instance_events")
    op.drop_table("update_events")
    op.drop_table("update_records")
