"""Job keys and task ids as long as the API allows: a job key is three names of up to 255
characters, a task id adds the instance and a uuid, so both outgrow VARCHAR(255), which
PostgreSQL enforces (SQLite never did, so no stored value changes; it rebuilds the tables,
PostgreSQL only widens the columns).

Revision ID: 0011_wide_keys
Revises: 0006_task_indexes, 0008_update_instances
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_wide_keys"
# After the last changes to the tables it widens (the tasks indexes, the update records).
down_revision = ("0006_task_indexes", "0008_update_instances")
branch_labels = None
depends_on = None

# table -> [(column, nullable)]
COLUMNS: dict[str, list[tuple[str, bool]]] = {
    "jobs": [("job_key", False)],
    "task_configs": [("job_key", False)],
    "tasks": [("task_id", False), ("job_key", False), ("ancestor_id", True)],
    "task_events": [("task_id", False)],
    "restarts": [("job_key", False)],
    "update_records": [("job_key", False)],
}


def _widen(columns: dict[str, list[tuple[str, bool]]], length: int, before: int) -> None:
    for table, todo in columns.items():
        with op.batch_alter_table(table) as batch:
            for column, nullable in todo:
                batch.alter_column(column, type_=sa.String(length),
                                   existing_type=sa.String(before), existing_nullable=nullable)


def upgrade() -> None:
    _widen(COLUMNS, 1024, 255)


def downgrade() -> None:
    _widen(COLUMNS, 255, 1024)
