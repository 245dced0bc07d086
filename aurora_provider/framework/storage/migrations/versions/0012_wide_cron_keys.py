"""The cron tables' job keys as long as the other tables' (see 0011_wide_keys).

Revision ID: 0012_wide_cron_keys
Revises: 0009_sla_drain
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_wide_cron_keys"
down_revision = "0009_sla_drain"  # the operations branch's last revision
branch_labels = None
depends_on = None

TABLES = ("cron_jobs", "cron_runs")


def _widen(length: int, before: int) -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.alter_column("job_key", type_=sa.String(length),
                               existing_type=sa.String(before), existing_nullable=False)


def upgrade() -> None:
    _widen(1024, 255)


def downgrade() -> None:
    _widen(255, 1024)
