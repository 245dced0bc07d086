"""Reading the job an operator submits: a ``.aurora`` file, or ``.aurora`` text inline."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from airflow.sdk.exceptions import AirflowFailException
from pystachio import Empty

from aurora_provider.api.docker_registry import DOCKER_HUB, DockerRegistry, docker_image_helper
from aurora_provider.config import ConfigError, job_to_wire, load, load_source
from aurora_provider.config.binding_helpers import BindingHelpers
from aurora_provider.operators.base import AuroraBaseOperator, dag_folder


class AuroraConfigOperator(AuroraBaseOperator):
    """Base of the operators that submit a job's configuration.

    :param job_key: ``cluster/role/environment/name`` of the job in the configuration.
    :param config_file: a ``.aurora`` file (relative paths are looked up beside the DAG).
    :param config: ``.aurora`` text, instead of a file. Not templated by Jinja: its
        ``{{...}}`` are pystachio's; pass Airflow values through ``bindings``.
    :param bindings: template variables, as ``--bind name=value`` (templated). They also set
        what a binding helper would look up: ``{"docker.image[app][1.0]": "app@sha256:..."}``;
        else ``{{docker.image[NAME][TAG]}}`` is pinned from the connection's
        ``docker_registry`` (default Docker Hub).
    """

    template_fields: Sequence[str] = ("job_key", "config_file", "bindings")
    template_ext: Sequence[str] = ()

    def __init__(self, *, job_key: str, config_file: str | None = None,
                 config: str | None = None, bindings: Mapping[str, Any] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.job_key = job_key
        self.config_file = config_file
        self.config = config
        self.bindings = dict(bindings or {})

    def job_wire(self, *, drop_cron_schedule: bool = False,
                 adjust: Callable[[Any], Any] | None = None) -> dict[str, Any]:
        """The job's wire form; a configuration error fails the task without retries."""
        return resolve_job(job_key=self.job_key, config_file=self.config_file,
                           config=self.config, bindings=self.bindings,
                           search_dir=dag_folder(self), drop_cron_schedule=drop_cron_schedule,
                           adjust=adjust, helpers=self.binding_helpers())

    def binding_helpers(self) -> BindingHelpers:
        """``docker.image`` pinned from the connection's registry (read only when a job
        needs it)."""
        def registry(_cluster: str) -> DockerRegistry:
            # One connection, one cluster: its registry serves whatever the job names.
            return DockerRegistry(self.hook.settings().docker_registry or DOCKER_HUB)

        return {"docker": docker_image_helper(registry)}


def resolve_job(
    *,
    job_key: str,
    config_file: str | None,
    config: str | None,
    bindings: Mapping[str, Any] | None,
    search_dir: str | None,
    drop_cron_schedule: bool = False,
    adjust: Callable[[Any], Any] | None = None,
    helpers: BindingHelpers | None = None,
) -> dict[str, Any]:
    """The wire form of ``job_key`` from the file or text; one-line errors, never retried.

    A relative ``config_file`` is looked up beside the DAG file (``search_dir``) first.
    ``drop_cron_schedule`` runs a cron job's template once, as an ad-hoc job; ``adjust``
    changes the picked job before it becomes wire form (another name, more metadata);
    ``helpers`` bind what the bindings leave unbound (``config.binding_helpers``).
    """
    if (config_file is None) == (config is None):
        raise AirflowFailException("give exactly one of config_file= or config= (.aurora text)")
    binds = {str(k): str(v) for k, v in (bindings or {}).items()}
    try:
        if config_file is not None:
            loaded = load(_locate(config_file, search_dir), bindings=binds, helpers=helpers)
        else:
            loaded = load_source(str(config), name="<inline config>", bindings=binds,
                                 helpers=helpers)
        job = loaded.pick(job_key)
        if drop_cron_schedule:
            job = job(cron_schedule=Empty)
        if adjust is not None:
            job = adjust(job)
        return job_to_wire(job)
    except ConfigError as e:
        # A configuration error will not fix itself: fail without retries.
        raise AirflowFailException(str(e)) from e


def _locate(config_file: str, search_dir: str | None) -> Path:
    path = Path(config_file)
    if not path.is_absolute() and search_dir and (Path(search_dir) / path).is_file():
        return Path(search_dir) / path
    return path
