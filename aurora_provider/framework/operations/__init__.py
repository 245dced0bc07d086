"""Cluster operations: cron, quotas, host maintenance, preemption, backups and housekeeping."""
