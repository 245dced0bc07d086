"""SLA-aware host drains: the default policy's duration for jobs without a policy (its
percentage is the existing ``percentage``) and when the drain is forced. Hosts stored
before this revision keep their plain drain (both NULL).

Revision ID: 0009_sla_drain
Revises: 0003_ops
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_sla_drain"
down_revision = "0003_ops"  # after the last change to the host_maintenance table
branch_labels = None
depends_on = None

COLUMNS = ("sla_duration_secs", "force_drain_at")


def upgrade() -> None:
    with op.batch_alter_table("host_maintenance") as batch:
        for name in COLUMNS:
            batch.add_column(sa.Column(name, sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("host_maintenance") as batch:
        for name in reversed(COLUMNS):
            batch.drop_column(name)
