"""A rolling restart's limits and what it counted against them: how long a replacement must
stay RUNNING (``watch_secs``), how many failures an instance and the restart may take, the
failures per instance, the instances that failed, and the replacement watched per instance.
Restarts stored before this revision keep their behaviour (watch 0 s, no failure allowed).

Revision ID: 0007_restart_limits
Revises: 0004_json
Create Date: 2026-12-03
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0007_restart_limits"
down_revision = "0004_json"  # after the last change to the restarts table
branch_labels = None
depends_on = None

COLUMNS: list[tuple[str, sa.types.TypeEngine[Any], str]] = [
    ("watch_secs", sa.Float(), "0"),
    ("max_per_instance_failures", sa.Integer(), "0"),
    ("max_total_failures", sa.Integer(), "0"),
    ("failures", sa.JSON(), "{}"),
    ("failed", sa.JSON(), "[]"),
    ("watching", sa.JSON(), "{}"),
]


def upgrade() -> None:
    with op.batch_alter_table("restarts") as batch:
        for name, kind, default in COLUMNS:
            batch.add_column(sa.Column(name, kind, nullable=False, server_default=default))


def downgrade() -> None:
    with op.batch_alter_table("restarts") as batch:
        for name, _, _ in reversed(COLUMNS):
            batch.drop_column(name)
