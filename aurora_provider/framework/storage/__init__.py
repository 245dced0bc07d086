"""Durable storage: one ``MetaData`` (``tables``), Alembic migrations, and one repository
per aggregate (jobs and configurations, tasks and events, restarts, updates, cron, quotas,
maintenance), reached through ``Store``."""
