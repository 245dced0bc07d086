"""The store's fence: one row holding the epoch of the scheduler that leads, taken (+1) by
each newly elected replica and checked by every write transaction of a fenced store.

Revision ID: 0010_leadership
Revises: 0005_scheduler_state
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_leadership"
down_revision = "0005_scheduler_state"  # beside the scheduler's other memory of itself
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table(
        "leadership",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("epoch", sa.BigInteger, nullable=False),
        sa.Column("holder", sa.Text, nullable=False),
        sa.Column("taken_at", sa.Float, nullable=False),
    )
    # The one row exists from the start, so taking the epoch is one atomic UPDATE.
    op.bulk_insert(table, [{"id": 1, "epoch": 0, "holder": "", "taken_at": 0.0}])


def downgrade() -> None:
    op.drop_table("leadership")
