"""Every table of the scheduler, in one ``MetaData`` (SQLAlchemy Core).

Alembic's migrations create them and ``alembic check`` (run by the tests) proves the two
agree. Structured values (ports, instance lists, settings, progress) are ``JSON`` columns.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

KEY = sa.String(255)  # names: clusters, roles, hosts, agents, users
# Job keys (role/environment/name: three names of up to 255) and task ids (a job key,
# instance and uuid): PostgreSQL enforces the length, which SQLite ignores.
JOB_KEY = sa.String(1024)

jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("job_key", JOB_KEY, primary_key=True),
    sa.Column("cluster", KEY, nullable=False),
    sa.Column("config_id", sa.Integer, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)

# Immutable task configurations, shared by every task that runs them (an update adds one).
task_configs = sa.Table(
    "task_configs",
    metadata,
    sa.Column("config_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("job_key", JOB_KEY, nullable=False),
    sa.Column("digest", sa.String(64), nullable=False),  # sha256 of the canonical text
    sa.Column("config", sa.Text, nullable=False),  # the canonical text of the wire form
    sa.Column("created_at", sa.Float, nullable=False),
    sa.UniqueConstraint("job_key", "digest", name="uq_task_configs_job_digest"),
)

tasks = sa.Table(
    "tasks",
    metadata,
    sa.Column("task_id", JOB_KEY, primary_key=True),
    sa.Column("job_key", JOB_KEY, nullable=False, index=True),
    sa.Column("instance", sa.Integer, nullable=False),
    sa.Column("config_id", sa.Integer, nullable=False),
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("agent_id", KEY, nullable=True),
    sa.Column("host", KEY, nullable=True),
    sa.Column("ports", sa.JSON, nullable=False, server_default="{}"),
    sa.Column("failure_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("ancestor_id", JOB_KEY, nullable=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("status_at", sa.Float, nullable=False),
    sa.Column("throttle_until", sa.Float, nullable=True),
    sa.Column("message", sa.Text, nullable=True),
    # A job's summary counts from the first, its pages of terminal tasks walk the second.
    sa.Index("ix_tasks_job_status", "job_key", "status"),
    sa.Index("ix_tasks_job_status_at", "job_key", "status_at", "task_id"),
)

task_events = sa.Table(
    "task_events",
    metadata,
    sa.Column("event_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("task_id", JOB_KEY, nullable=False, index=True),
    sa.Column("timestamp", sa.Float, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("message", sa.Text, nullable=True),
)

# Rolling restarts in progress (and recently done), so a scheduler restart resumes them.
restarts = sa.Table(
    "restarts",
    metadata,
    sa.Column("restart_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("job_key", JOB_KEY, nullable=False, index=True),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("batch_size", sa.Integer, nullable=False),
    sa.Column("pending", sa.JSON, nullable=False),  # instances still to restart
    sa.Column("in_flight", sa.JSON, nullable=False),  # {instance: the old task id}
    sa.Column("done", sa.JSON, nullable=False),  # instances restarted
    sa.Column("started_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Column("message", sa.Text, nullable=True),
    sa.Column("watch_secs", sa.Float, nullable=False, server_default="0"),
    sa.Column("max_per_instance_failures", sa.Integer, nullable=False, server_default="0"),
    sa.Column("max_total_failures", sa.Integer, nullable=False, server_default="0"),
    sa.Column("failures", sa.JSON, nullable=False, server_default="{}"),
    sa.Column("failed", sa.JSON, nullable=False, server_default="[]"),
    sa.Column("watching", sa.JSON, nullable=False, server_default="{}"),
)

# -- job updates ------------------------------------------------------------------------------

update_records = sa.Table(
    "update_records",
    metadata,
    sa.Column("update_id", sa.String(64), primary_key=True),
    sa.Column("job_key", JOB_KEY, nullable=False, index=True),
    sa.Column("cluster", KEY, nullable=False),
    sa.Column("status", sa.String(32), nullable=False, index=True),
    sa.Column("user", KEY, nullable=False),
    sa.Column("message", sa.Text, nullable=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Column("settings", sa.JSON, nullable=False),
    sa.Column("desired_config_id", sa.Integer, nullable=False),
    sa.Column("desired_instances", sa.Integer, nullable=False),
    sa.Column("initial", sa.JSON, nullable=False),  # {instance: config id} before
    sa.Column("scope", sa.JSON, nullable=False),  # {"add", "remove", "replace"}: instances
    sa.Column("progress", sa.JSON, nullable=False),  # {instance: [desired, state, ...]}
    sa.Column("groups_started", sa.Integer, nullable=False),
    sa.Column("last_pulse_at", sa.Float, nullable=True),
    sa.Column("only_instances", sa.JSON, nullable=True),  # the user's scope; null: all
    sa.Column("creates_job", sa.Boolean, nullable=False, server_default=sa.false()),
)

update_events = sa.Table(
    "update_events",
    metadata,
    sa.Column("event_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("update_id", sa.String(64), nullable=False, index=True),
    sa.Column("timestamp", sa.Float, nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("user", KEY, nullable=True),
    sa.Column("message", sa.Text, nullable=True),
)

update_instance_events = sa.Table(
    "update_instance_events",
    metadata,
    sa.Column("event_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("update_id", sa.String(64), nullable=False, index=True),
    sa.Column("instance", sa.Integer, nullable=False),
    sa.Column("timestamp", sa.Float, nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
)

# -- operations -------------------------------------------------------------------------------

# Cron templates: a job that is not running, only scheduled (Aurora's cron job store).
cron_jobs = sa.Table(
    "cron_jobs",
    metadata,
    sa.Column("job_key", JOB_KEY, primary_key=True),
    sa.Column("config", sa.JSON, nullable=False),  # the job's wire form
    sa.Column("schedule", KEY, nullable=False),
    sa.Column("collision_policy", sa.String(32), nullable=False),
    sa.Column("next_run_at", sa.Float, nullable=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)

# One row per trigger (scheduled or started by hand) and what became of it.
cron_runs = sa.Table(
    "cron_runs",
    metadata,
    sa.Column("run_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("job_key", JOB_KEY, nullable=False, index=True),
    sa.Column("scheduled_at", sa.Float, nullable=True),  # null when started by hand
    sa.Column("triggered_at", sa.Float, nullable=False),
    sa.Column("started_at", sa.Float, nullable=True),  # when its tasks were created
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("outcome", sa.String(16), nullable=True),
    sa.Column("task_ids", sa.JSON, nullable=False, server_default="[]"),
    sa.Column("finished_at", sa.Float, nullable=True),
    sa.Column("message", sa.Text, nullable=True),
)

quotas = sa.Table(
    "quotas",
    metadata,
    sa.Column("role", KEY, primary_key=True),
    sa.Column("cpu", sa.Float, nullable=False),
    sa.Column("ram_mb", sa.Float, nullable=False),
    sa.Column("disk_mb", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)

host_maintenance = sa.Table(
    "host_maintenance",
    metadata,
    sa.Column("host", KEY, primary_key=True),
    sa.Column("mode", sa.String(16), nullable=False),
    sa.Column("percentage", sa.Float, nullable=True),  # instances of each job kept up
    sa.Column("updated_at", sa.Float, nullable=False),
    # An SLA-aware drain: the default policy's duration (with ``percentage``) for jobs
    # without a policy, and when the drain goes on regardless of SLAs.
    sa.Column("sla_duration_secs", sa.Float, nullable=True),
    sa.Column("force_drain_at", sa.Float, nullable=True),
)

# What the scheduler remembers of itself (e.g. its Mesos framework id), by name.
scheduler_state = sa.Table(
    "scheduler_state",
    metadata,
    sa.Column("name", KEY, primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)

# Who may write (fencing): the epoch the leading scheduler took when it was elected, one row.
# Every write transaction of a fenced store checks it, so a deposed leader's late writes fail.
leadership = sa.Table(
    "leadership",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("epoch", sa.BigInteger, nullable=False),
    sa.Column("holder", sa.Text, nullable=False),
    sa.Column("taken_at", sa.Float, nullable=False),
)
