"""An update's instance scope and whether it created its job: ``only_instances`` holds the
instances the user limited the update to (null: every instance, as before this revision),
``creates_job`` is true when the update was started on a job that did not exist.

Revision ID: 0008_update_instances
Revises: 0007_restart_limits
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_update_instances"
down_revision = "0007_restart_limits"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("update_records") as batch:
        batch.add_column(sa.Column("only_instances", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("creates_job", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("update_records") as batch:
        batch.drop_column("creates_job")
        batch.drop_column("only_instances")
