"""Structured values become JSON columns (they were JSON text in TEXT columns).

The stored text is already JSON, so no value changes; SQLite rebuilds the tables,
PostgreSQL casts the values in place. The cron
tables belong to the operations branch, which may be applied before or after this revision:
they are converted only where they exist with TEXT columns (stores made before the
operations revision created them as JSON), so both branches keep their heads.

Revision ID: 0004_json
Revises: 0002_updates
Create Date: 2026-12-01
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0004_json"
down_revision = "0002_updates"
branch_labels = None
depends_on = None

# table -> [(column, server default)]
COLUMNS: dict[str, list[tuple[str, str | None]]] = {
    "tasks": [("ports", "{}")],
    "restarts": [("pending", None), ("in_flight", None), ("done", None)],
    "update_records": [("settings", None), ("initial", None), ("scope", None),
                       ("progress", None)],
    "cron_jobs": [("config", None)],
    "cron_runs": [("task_ids", "[]")],
}


def _convert(to_type: type[sa.types.TypeEngine[Any]]) -> None:
    inspector = sa.inspect(op.get_bind())
    existing = set(inspector.get_table_names())
    for table, columns in COLUMNS.items():
        if table not in existing:
            continue  # created later by its own revision, already with JSON columns
        types = {c["name"]: c["type"] for c in inspector.get_columns(table)}
        todo = [(c, d) for c, d in columns if not isinstance(types[c], to_type)]
        if not todo:
            continue
        with op.batch_alter_table(table) as batch:
            for column, default in todo:
                # PostgreSQL converts the values (and a default) only when told how.
                cast = f"{column}::{'json' if to_type is sa.JSON else 'text'}"
                if default is not None:
                    batch.alter_column(column, server_default=None)
                batch.alter_column(column, type_=to_type(), existing_type=types[column],
                                   existing_nullable=False, postgresql_using=cast)
                if default is not None:
                    batch.alter_column(column, server_default=default)


def upgrade() -> None:
    _convert(sa.JSON)


def downgrade() -> None:
    _convert(sa.Text)
