"""Cron expressions, read by croniter in the job's time zone.

Aurora took five-field crontab lines; croniter also reads ``@hourly``-style aliases.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from aurora_provider.api.errors import InvalidRequest
from aurora_provider.framework.model.cron import TIMEZONE_KEY


def check_zone(name: str, where: str) -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as e:
        raise InvalidRequest(f"{where}: {TIMEZONE_KEY} {name!r} is not a known time zone "
                             "(use an IANA name such as 'Europe/Paris')") from e


def check_schedule(expr: str, where: str) -> None:
    fields = expr.split()
    if not expr.startswith("@") and len(fields) != 5:
        raise InvalidRequest(f"{where}: cron_schedule {expr!r} must have five fields "
                             "(minute hour day-of-month month day-of-week)")
    if not croniter.is_valid(expr):
        raise InvalidRequest(f"{where}: cron_schedule {expr!r} is not a valid cron expression")


def next_times(expr: str, zone: str, after: float, count: int) -> list[float]:
    """The next ``count`` trigger times strictly after ``after`` (epoch seconds)."""
    it = croniter(expr, datetime.fromtimestamp(after, ZoneInfo(zone)))
    return [float(it.get_next(datetime).timestamp()) for _ in range(count)]


def previous_time(expr: str, zone: str, before: float) -> float:
    it = croniter(expr, datetime.fromtimestamp(before, ZoneInfo(zone)))
    return float(it.get_prev(datetime).timestamp())
