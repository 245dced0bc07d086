"""Reading the job an operator submits: a ``.aurora`` file, or ``.aurora`` text inline."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from airflow.sdk.exceptions import AirflowFailException
from pystachio import Empty

from aurora_provider.config import ConfigError, job_to_wire, load, load_source


def resolve_job(
    *,
    job_key: str,
    config_file: str | None,
    config: str | None,
    bindings: Mapping[str, Any] | None,
    search_dir: str | None,
    drop_cron_schedule: bool = False,
) -> dict[str, Any]:
    """The wire form of ``job_key`` from the file or text; one-line errors, never retried.

    A relative ``config_file`` is looked up beside the DAG file (``search_dir``) first.
    ``drop_cron_schedule`` runs a cron job's template once, as an ad-hoc job.
    """
    if (config_file is None) == (config is None):
        raise AirflowFailException("give exactly one of config_file= or config= (.aurora text)")
    binds = {str(k): str(v) for k, v in (bindings or {}).items()}
    try:
        if config_file is not None:
            loaded = load(_locate(config_file, search_dir), bindings=binds)
        else:
            loaded = load_source(str(config), name="<inline config>", bindings=binds)
        job = loaded.pick(job_key)
        if drop_cron_schedule:
            job = job(cron_schedule=Empty)
        return job_to_wire(job)
    except ConfigError as e:
        # A configuration error will not fix itself: fail without retries.
        raise AirflowFailException(str(e)) from e


def _locate(config_file: str, search_dir: str | None) -> Path:
    path = Path(config_file)
    if not path.is_absolute() and search_dir and (Path(search_dir) / path).is_file():
        return Path(search_dir) / path
    return path
